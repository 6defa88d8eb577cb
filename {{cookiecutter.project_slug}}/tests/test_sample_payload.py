"""devtools.sample_payload: .azureml/test.json is written from the training data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }} import (
    settings,
)
from {{ cookiecutter.module_name }}.data_ingestion.errors import (
    MissingCredentialsError,
)
from {{ cookiecutter.module_name }}.devtools import (
    sample_payload,
)

pytestmark = pytest.mark.usefixtures("iris_settings")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (pyproject.toml, requirements/) with a CSV as its data."""
    (tmp_path / "requirements").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / ".azureml").mkdir()
    frame = pd.DataFrame(
        {
            "plan": ["pro", None, "basic", "pro"],
            "fee": [np.nan, 12.5, 10.0, 30.0],
            "churned": ["no", "yes", "no", "yes"],
        }
    )
    frame.to_csv(tmp_path / "churn.csv", index=False)
    monkeypatch.setattr(settings, "TRAINING_DATA", str(tmp_path / "churn.csv"))
    monkeypatch.setattr(settings, "TARGET_COLUMN", "churned")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_payload_holds_complete_rows_without_the_target(project: Path) -> None:
    payload = sample_payload.payload_from(pd.read_csv(project / "churn.csv"))
    assert payload == {
        "data": [{"plan": "basic", "fee": 10.0}, {"plan": "pro", "fee": 30.0}]
    }


def test_payload_takes_rows_with_gaps_when_too_few_are_complete() -> None:
    frame = pd.DataFrame({"x": [1.0, np.nan, np.nan], "species": ["a", "b", "a"]})
    assert sample_payload.payload_from(frame) == {"data": [{"x": 1.0}, {"x": None}]}


def test_write_then_check_passes(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sample_payload.main(["--write"]) == 0
    assert "wrote .azureml/test.json" in capsys.readouterr().out
    assert json.loads((project / ".azureml" / "test.json").read_text())["data"]
    assert sample_payload.main(["--check"]) == 0


def test_check_fails_on_a_stale_payload_and_prints_the_command(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".azureml" / "test.json").write_text('{"data": [[5.1, 3.5]]}\n')
    assert sample_payload.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert ".azureml/test.json does not match the training data" in err
    assert f"run: {sample_payload.COMMAND} --write" in err


def test_check_fails_on_a_missing_payload(project: Path) -> None:
    assert sample_payload.main(["--check"]) == 1


def test_dates_are_written_as_iso_text() -> None:
    """A datetime column becomes ISO 8601 text, which the model reads back."""
    frame = pd.DataFrame(
        {"opened": pd.to_datetime(["2025-03-04 05:06:07"]), "species": ["a"]}
    )
    payload = sample_payload.payload_from(frame)
    assert payload == {"data": [{"opened": "2025-03-04T05:06:07"}]}


def test_unreadable_data_is_one_line_and_exit_code_1(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A blob without credentials: one error line, no traceback."""
    monkeypatch.setattr(settings, "TRAINING_DATA", "blob:churn.csv")
    assert sample_payload.main(["--write"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no Azure Storage credentials found")
    assert "Traceback" not in err and "--debug" in err


def test_unreadable_data_with_debug_raises_the_error(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--debug lets the data error through, with its traceback."""
    monkeypatch.setattr(settings, "TRAINING_DATA", "blob:churn.csv")
    with pytest.raises(MissingCredentialsError):
        sample_payload.main(["--write", "--debug"])
