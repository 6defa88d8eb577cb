"""The model's record preparation: raw records in, as in training, in serving.

Trained on a small ticket table (conftest.make_tickets): a datetime, a
boolean with gaps, a category, free text, an integer id, 4 imbalanced classes.
"""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from {{ cookiecutter.module_name }} import (
    settings,
)
from {{ cookiecutter.module_name }}.data_preprocessing import (
    DataPreprocessor,
    preparation,
)
from {{ cookiecutter.module_name }}.data_preprocessing.features import (
    PreparationError,
    RecordPreparation,
)
from {{ cookiecutter.module_name }}.deployment import (
    score,
)
from {{ cookiecutter.module_name }}.devtools.sample_payload import (
    payload_from,
)
from {{ cookiecutter.module_name }}.model_building import (
    train,
)

pytestmark = pytest.mark.usefixtures("ticket_settings")


@pytest.fixture(scope="module")
def ticket_model() -> tuple[Pipeline, dict]:
    """The pipeline trained once on the ticket table."""
    from conftest import TICKET_SETTINGS, make_tickets, use_template_settings

    with pytest.MonkeyPatch.context() as patch:
        use_template_settings(patch, TICKET_SETTINGS)
        return train.train_model(make_tickets())


def test_id_columns_are_no_features(ticket_model: tuple[Pipeline, dict]) -> None:
    """ID_COLUMNS stay out of the model's features and are listed as ignored."""
    model, metrics = ticket_model
    assert "Ticket ID" not in model.feature_names_in_
    assert metrics["ignored_columns"] == ["Ticket ID"]


def test_datetimes_become_year_month_weekday_hour(tickets: pd.DataFrame) -> None:
    """A datetime column is replaced by four numeric columns."""
    prepared = RecordPreparation().fit(tickets).transform(tickets.head(3))
    parts = [column for column in prepared.columns if column.startswith("Opened At")]
    assert parts == [
        f"Opened At_{part}" for part in ("year", "month", "weekday", "hour")
    ]
    first = tickets["Opened At"].iloc[0]
    assert prepared["Opened At_hour"].iloc[0] == first.hour


def test_iso_text_dates_are_read_as_dates(tickets: pd.DataFrame) -> None:
    """Dates sent as ISO 8601 text (JSON) give the same numbers as datetimes."""
    step = RecordPreparation().fit(tickets)
    as_text = tickets.head(5).assign(
        **{"Opened At": tickets["Opened At"].head(5).dt.strftime("%Y-%m-%dT%H:%M:%S")}
    )
    pd.testing.assert_frame_equal(
        step.transform(as_text), step.transform(tickets.head(5))
    )


def test_booleans_with_gaps_become_numbers(tickets: pd.DataFrame) -> None:
    """A boolean column with missing values becomes 1.0, 0.0 and NaN."""
    prepared = RecordPreparation().fit(tickets).transform(tickets)
    assert prepared["Escalated"].dtype == "float64"
    assert set(prepared["Escalated"].dropna()) <= {0.0, 1.0}


def test_text_columns_become_word_counts(ticket_model: tuple[Pipeline, dict]) -> None:
    """TEXT_COLUMNS go through a TF-IDF vectorizer, not one-hot categories."""
    model, _ = ticket_model
    text = model.named_steps["features"].named_transformers_["text_Subject"]
    assert isinstance(text.named_steps["words"], TfidfVectorizer)


def test_the_model_predicts_raw_records_with_or_without_the_id(
    ticket_model: tuple[Pipeline, dict], tickets: pd.DataFrame
) -> None:
    """The saved pipeline scores raw rows; the id column changes nothing."""
    model, _ = ticket_model
    raw = tickets.drop(columns="Priority").head(20)
    with_id = model.predict(raw)
    assert (model.predict(raw.drop(columns="Ticket ID")) == with_id).all()


def test_the_team_preparation_runs_inside_the_model(
    monkeypatch: pytest.MonkeyPatch, tickets: pd.DataFrame
) -> None:
    """prepare_records' chain runs at fit and at predict, in the model."""
    calls = []

    def prepare(df: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(df))
        return DataPreprocessor(df).drop_columns("Queue").get_df()

    monkeypatch.setattr(preparation, "prepare_records", prepare)
    model, _ = train.train_model(tickets)
    assert not any(name.startswith("Queue") for name in _encoded(model))
    calls.clear()
    model.predict(tickets.drop(columns="Priority").head(4))
    assert calls == [4]


def test_a_preparation_that_drops_rows_is_refused(
    monkeypatch: pytest.MonkeyPatch, tickets: pd.DataFrame
) -> None:
    """A prepare_records that filters rows fails training with what to do."""
    monkeypatch.setattr(preparation, "prepare_records", lambda df: df.head(1))
    with pytest.raises(PreparationError, match="one row per input row"):
        train.train_model(tickets)


def test_score_answers_the_payload_with_the_id_present(
    ticket_model: tuple[Pipeline, dict], tickets: pd.DataFrame, tmp_path: Path
) -> None:
    """score.py scores the sample payload (ISO dates, the id kept) of raw rows."""
    model, _ = ticket_model
    joblib.dump(model, tmp_path / "model.pkl")
    payload = payload_from(tickets)
    assert "Ticket ID" in payload["data"][0]
    assert isinstance(payload["data"][0]["Opened At"], str)
    score.init(tmp_path)
    answer = score.run(json.dumps(payload))
    assert isinstance(answer, dict), answer.get_data(as_text=True)
    assert len(answer["predictions"]) == len(payload["data"])


def _encoded(model: Pipeline) -> list[str]:
    """The prepared columns the model's encoders take."""
    names: list[str] = []
    for _, _, columns in model.named_steps["features"].transformers_:
        names += [columns] if isinstance(columns, str) else list(columns)
    return names


def test_an_unlisted_id_column_is_named_in_a_warning(
    monkeypatch: pytest.MonkeyPatch,
    tickets: pd.DataFrame,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An integer column with a new value in every row, not in ID_COLUMNS: the
    training says to list it there (it is still used, as the settings say)."""
    monkeypatch.setattr(settings, "ID_COLUMNS", [])
    train.train_model(tickets)
    assert "'Ticket ID' has a different value in every row" in caplog.text
    assert "ID_COLUMNS" in caplog.text
