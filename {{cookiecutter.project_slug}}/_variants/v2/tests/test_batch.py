"""Batch scoring (deployment/batch.py): the same predictions as score.py, in chunks.

The model is the one trained on the bundled iris sample (conftest.py); the
files are that sample's rows, written in each input format.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.data_ingestion import (
    sample_data_path,
)
from {{ cookiecutter.module_name }}.deployment import (
    batch,
    score,
)

TARGET = "species"


@pytest.fixture
def loaded(trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """score.py with the iris model loaded; its state is restored after the test."""
    for name in (
        "model",
        "_features",
        "_feature_set",
        "_ignored",
        "_max_rows",
        "_positional",
    ):
        monkeypatch.setattr(score, name, getattr(score, name))
    monkeypatch.delenv(batch.CHUNK_ROWS_VARIABLE, raising=False)
    monkeypatch.setenv(score.MODEL_DIR_VARIABLE, str(trained_model_dir))
    score.init()
    return trained_model_dir


@pytest.fixture
def records() -> pd.DataFrame:
    """The iris sample's feature columns."""
    return pd.read_csv(sample_data_path()).drop(columns=TARGET)


def write(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` as the file ``path``, in the format its name ends with."""
    path.parent.mkdir(parents=True, exist_ok=True)
    name = path.name
    if name.endswith(".parquet"):
        # Row groups smaller than a chunk: chunks do not follow the file's layout.
        frame.to_parquet(path, index=False, row_group_size=25)
    elif name.endswith(".jsonl"):
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_csv(path, index=False)  # .csv and .csv.gz (by its name)
    return path


def online_predictions(frame: pd.DataFrame) -> list[Any]:
    """What score.py answers for ``frame``'s rows, sent as one request of objects."""
    body = json.dumps({"data": frame.to_dict(orient="records")})
    return score.run(body)["predictions"]


@pytest.mark.usefixtures("loaded")
@pytest.mark.parametrize(
    "name", ["rows.csv", "rows.csv.gz", "rows.parquet", "rows.jsonl"]
)
def test_batch_predictions_equal_score_py_answers_for_every_format(
    tmp_path: Path, records: pd.DataFrame, name: str
) -> None:
    """A file of each input format scores to exactly score.py's predictions, row by row."""
    source = write(records, tmp_path / name)
    output = tmp_path / "out" / "predictions.csv"

    rows = batch.score_files(source, output, chunk_rows=1000)

    scored = pd.read_csv(output)
    assert rows == len(records)
    assert list(scored.columns) == ["file", "row", "predictions"]
    assert scored["predictions"].tolist() == online_predictions(records)
    assert scored["row"].tolist() == list(range(len(records)))
    assert set(scored["file"]) == {name}


@pytest.mark.usefixtures("loaded")
def test_a_file_larger_than_a_chunk_is_scored_in_several_chunks(
    tmp_path: Path, records: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """150 rows at 40 a time reach the model as 40, 40, 40 and 30 rows; the
    predictions equal one prediction of all rows at once."""
    source = write(records, tmp_path / "rows.parquet")
    sizes: list[int] = []
    score_chunk = batch.score_chunk

    def counted(frame: pd.DataFrame) -> Any:
        sizes.append(len(frame))
        return score_chunk(frame)

    monkeypatch.setattr(batch, "score_chunk", counted)

    batch.score_files(source, tmp_path / "out.parquet", chunk_rows=40)

    assert sizes == [40, 40, 40, 30]
    scored = pd.read_parquet(tmp_path / "out.parquet")
    assert scored["predictions"].tolist() == score.model.predict(records).tolist()


@pytest.mark.usefixtures("loaded")
def test_a_folder_scores_every_file_into_one_output(
    tmp_path: Path, records: pd.DataFrame
) -> None:
    """Each file of a folder (nested ones too, hidden ones left out) is scored;
    ``file`` and ``row`` say where each prediction's row came from."""
    folder = tmp_path / "in"
    write(records.iloc[:100], folder / "a.csv")
    write(records.iloc[100:], folder / "later" / "b.jsonl")
    write(records.iloc[:3], folder / ".cache" / "c.csv")

    batch.score_files(folder, tmp_path / "out.jsonl", chunk_rows=30)

    scored = pd.read_json(tmp_path / "out.jsonl", lines=True)
    assert scored["file"].tolist() == ["a.csv"] * 100 + ["later/b.jsonl"] * 50
    assert scored["row"].tolist() == [*range(100), *range(50)]
    assert scored["predictions"].tolist() == online_predictions(records)


@pytest.mark.usefixtures("loaded")
def test_rows_score_py_refuses_stop_the_run_naming_file_rows_and_column(
    tmp_path: Path, records: pd.DataFrame
) -> None:
    """A chunk without a feature column fails with score.py's message, the file
    and the chunk's rows; no output file is left, not even a partial one."""
    source = write(records.iloc[:90], tmp_path / "in" / "good.csv")
    write(records.drop(columns="petal_width_cm"), tmp_path / "in" / "short.csv")
    output = tmp_path / "out" / "predictions.csv"

    with pytest.raises(batch.BatchScoringError) as caught:
        batch.score_files(source.parent, output, chunk_rows=50)

    message = str(caught.value)
    assert "short.csv" in message
    assert "rows 0 to 49" in message
    assert "missing: ['petal_width_cm']" in message
    assert list(output.parent.iterdir()) == []


@pytest.mark.usefixtures("loaded")
def test_an_existing_output_is_kept_unless_overwrite_is_asked(
    tmp_path: Path, records: pd.DataFrame
) -> None:
    """Scoring into an existing file refuses and leaves it as it was."""
    source = write(records, tmp_path / "rows.csv")
    output = tmp_path / "predictions.csv"
    output.write_text("the team's earlier results\n")

    with pytest.raises(batch.BatchScoringError, match="--overwrite"):
        batch.score_files(source, output, chunk_rows=100)
    assert output.read_text() == "the team's earlier results\n"

    batch.score_files(source, output, chunk_rows=100, overwrite=True)
    assert len(pd.read_csv(output)) == len(records)


@pytest.mark.usefixtures("loaded")
def test_azure_ml_run_scores_a_mini_batch_of_files(
    tmp_path: Path, records: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """init() then run(list of file paths), as an Azure ML batch deployment calls
    them, returns one frame holding every file's rows and predictions."""
    first = write(records.iloc[:70], tmp_path / "part-1.parquet")
    second = write(records.iloc[70:], tmp_path / "part-2.csv")
    monkeypatch.setenv(batch.CHUNK_ROWS_VARIABLE, "32")
    monkeypatch.setattr(batch, "_chunk_rows", batch._chunk_rows)

    batch.init()
    result = batch.run([str(first), str(second)])

    assert batch._chunk_rows == 32
    assert result["file"].tolist() == ["part-1.parquet"] * 70 + ["part-2.csv"] * 80
    assert result["predictions"].tolist() == online_predictions(records)


def test_command_line_scores_a_file_with_the_trained_model(
    loaded: Path, tmp_path: Path, records: pd.DataFrame, capsys: Any
) -> None:
    """``python -m ...deployment.batch INPUT OUTPUT --model-dir DIR`` writes the
    predictions and says how many rows it scored."""
    source = write(records, tmp_path / "rows.jsonl")
    output = tmp_path / "predictions.parquet"

    code = batch.main([str(source), str(output), "--model-dir", str(loaded)])

    assert code == 0
    assert f"Scored {len(records)} rows into {output}" in capsys.readouterr().out
    scored = pd.read_parquet(output)
    assert scored["predictions"].tolist() == online_predictions(records)


@pytest.mark.usefixtures("loaded")
@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["missing-folder", "out.csv"], "missing-folder does not exist"),
        (["rows.json", "out.csv"], "write it as JSON Lines"),
        (["rows.csv", "out.xlsx"], "ending in .csv, .parquet, .jsonl"),
        (["rows.csv", "out.csv", "--chunk-rows", "0"], "--chunk-rows must be"),
    ],
    ids=["no-input", "json-document", "output-format", "chunk-rows"],
)
def test_command_line_refuses_bad_arguments_with_one_error(
    tmp_path: Path,
    records: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    argv: list[str],
    says: str,
) -> None:
    """Each bad argument gets exit code 1 and one line saying what to do."""
    monkeypatch.chdir(tmp_path)
    write(records, tmp_path / "rows.csv")
    (tmp_path / "rows.json").write_text(records.to_json(orient="records"))

    assert batch.main(argv) == 1

    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert says in err
    assert not (tmp_path / "out.csv").exists()


# Loads batch.py by its path, as Azure ML's batch runtime loads a scoring
# script, calls init() and run(), and says where its score module came from.
LOAD_BY_PATH = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("batch_driver", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.init()
result = module.run([sys.argv[2]])
print(json.dumps({
    "score": module.score.__file__,
    "predictions": result["predictions"].tolist(),
}))
"""


def test_batch_py_loads_by_its_path_from_the_uploaded_code_folder(
    loaded: Path, tmp_path: Path, records: pd.DataFrame
) -> None:
    """Loaded by path from a copy of src/ (the deployment's code folder), batch.py
    imports the package from that copy, and its init() and run() score files."""
    source = Path(batch.__file__).resolve().parents[2]
    code = tmp_path / "code"
    shutil.copytree(source, code, ignore=shutil.ignore_patterns("__pycache__"))
    package = Path(batch.__file__).resolve().parents[1].name
    script = code / package / "deployment" / "batch.py"
    rows = write(records.iloc[:20], tmp_path / "rows.csv")

    result = subprocess.run(
        [sys.executable, "-c", LOAD_BY_PATH, str(script), str(rows)],
        cwd=tmp_path,
        env={"PATH": "", score.MODEL_DIR_VARIABLE: str(loaded)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(answer["score"]).is_relative_to(code)
    assert answer["predictions"] == online_predictions(records.iloc[:20])
