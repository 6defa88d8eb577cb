"""score.py in Microsoft's inference server (under gunicorn, or its in-process
test client where a test needs a server of its own) and alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import requests as http
from sklearn.dummy import DummyClassifier

from {{ cookiecutter.module_name }}.deployment import (
    score,
)

SCORE_SCRIPT = Path(score.__file__).resolve()
FEATURES = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
RECORDS = [dict(zip(FEATURES, row, strict=True)) for row in ROWS]
# The model here is trained on the bundled iris sample (see conftest.py); the
# project's own payload and data are tested in test_project_model.py.
IRIS_PAYLOAD = (Path(__file__).parent / "data" / "iris_payload.json").read_text()
SERVER_SECONDS = 180

# Runs in a fresh interpreter: the server reads its configuration when it is
# imported and calls init() (or sys.exit(3)) when the app is created.
SERVER_CLIENT = """
import json, sys
from azureml_inference_server_http.server.create_app import create

requests = json.load(open(sys.argv[1]))
client = create().test_client()
answers = {}
for name, body in requests.items():
    if body is None:
        response = client.get("/")
    else:
        response = client.post("/score", data=body, content_type="application/json")
    answers[name] = {"status": response.status_code, "body": response.get_data(as_text=True)}
json.dump(answers, open(sys.argv[2], "w"))
"""

# Runs in a fresh interpreter: which heavy modules loading score.py by its path imports.
LOAD_BY_PATH = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("entry_module", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
heavy = (sys.argv[2], "azure.", "azureml.core")
print(json.dumps(sorted(name for name in sys.modules if name.startswith(heavy))))
"""

# name: (request body, expected status, text the answer contains)
BAD_REQUESTS = {
    "malformed_json": ('{"data": [[5.1, 3.5,', 400, "not valid JSON"),
    "not_an_object": (json.dumps(ROWS), 400, 'a "data" key'),
    "no_data_key": (json.dumps({"rows": ROWS}), 400, 'a "data" key'),
    "empty_data": ('{"data": []}', 400, "non-empty list"),
    "probabilities_not_a_boolean": (
        json.dumps({"data": ROWS, "probabilities": "yes"}),
        400,
        '"probabilities" must be true or false',
    ),
    "data_not_a_list": (json.dumps({"data": RECORDS[0]}), 400, "non-empty list"),
    "bare_values": (json.dumps({"data": ROWS[0]}), 400, "each entry of data"),
    "too_few_values": (json.dumps({"data": [[5.1, 3.5, 1.4]]}), 400, "4 values"),
    "too_many_values": (
        json.dumps({"data": [[*ROWS[0], 9.9]]}),
        400,
        "sepal_length_cm",
    ),
    "ragged_rows": (json.dumps({"data": [ROWS[0], [1.0, 2.0]]}), 400, "4 values"),
    "missing_column": (
        json.dumps(
            {"data": [{k: v for k, v in RECORDS[0].items() if k != "petal_width_cm"}]}
        ),
        400,
        "missing: ['petal_width_cm']",
    ),
    "unknown_column": (
        json.dumps({"data": [{**RECORDS[0], "colour": "blue"}]}),
        400,
        "unknown: ['colour']",
    ),
    "one_row_lacks_a_column": (
        json.dumps({"data": [RECORDS[0], {"sepal_length_cm": 5.0}]}),
        400,
        "row 1 of data lacks",
    ),
    "mixed_rows_and_objects": (
        json.dumps({"data": [RECORDS[0], ROWS[1]]}),
        400,
        "mixes objects",
    ),
    "text_value": (
        json.dumps({"data": [["tall", 3.5, 1.4, 0.2]]}),
        400,
        "could not score",
    ),
    "all_null_row": (
        json.dumps({"data": [ROWS[0], [None] * 4]}),
        400,
        "row 1 of data has no values",
    ),
    "all_null_object": (
        json.dumps({"data": [RECORDS[0], dict.fromkeys(FEATURES)]}),
        400,
        "row 1 of data has no values",
    ),
    "infinity": (
        '{"data": [[5.1, 3.5, 1.4, 0.2], [5.1, Infinity, 1.4, 0.2]]}',
        400,
        "row 1 of data has an infinite value in 'sepal_width_cm'",
    ),
    "infinity_in_an_object": (
        json.dumps({"data": [{**RECORDS[0], "petal_width_cm": float("-inf")}]}),
        400,
        "infinite value in 'petal_width_cm'",
    ),
    "many_unknown_columns": (
        json.dumps({"data": [{**RECORDS[0], **{f"x{i:04}": 1 for i in range(5000)}}]}),
        400,
        "unknown: ['x0000', 'x0001', 'x0002', 'x0003', 'x0004'] and 4995 more",
    ),
}
# The NaN/Infinity policy: null and NaN are missing values (imputed), a row of
# only missing values and infinite values are refused.
MISSING_VALUES = {
    "null": json.dumps({"data": [[None, 3.5, 1.4, 0.2]]}),
    "NaN": '{"data": [[NaN, 3.5, 1.4, 0.2]]}',
    "null_in_an_object": json.dumps(
        {"data": [{**RECORDS[0], "sepal_length_cm": None}]}
    ),
}


def server_command(
    model_dir: Path,
    requests: dict[str, str | None],
    work_dir: Path,
    variables: dict[str, str] | None = None,
) -> tuple[list[str], Path, dict[str, str]]:
    """The command, folder and environment that send ``requests`` (None: GET /)
    to score.py in a fresh inference server; it writes answers.json there."""
    requests_file = work_dir / "requests.json"
    requests_file.write_text(json.dumps(requests))
    env = {
        **os.environ,
        "AZUREML_ENTRY_SCRIPT": str(SCORE_SCRIPT),
        "AZUREML_MODEL_DIR": str(model_dir),
        "AML_APP_ROOT": str(SCORE_SCRIPT.parent),
        **(variables or {}),
    }
    command = [
        sys.executable, "-c", SERVER_CLIENT, str(requests_file), str(work_dir / "answers.json")
    ]  # fmt: skip
    return command, work_dir, env


def answers_in(work_dir: Path) -> dict[str, dict[str, Any]]:
    """The answers a server_command run wrote, if it got that far."""
    answers_file = work_dir / "answers.json"
    return json.loads(answers_file.read_text()) if answers_file.exists() else {}


@pytest.fixture(scope="module")
def fresh_interpreters(
    trained_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[subprocess.CompletedProcess[str], Path]]:
    """The runs that need an interpreter of their own, started side by side
    (each spends seconds importing the server and the model's libraries); by
    name, each finished run and its folder:

    - "nested-limited": a server whose model lies in nested folders (as Azure
      ML mounts a registered model) and whose row limit is 2;
    - "no-model": a server whose model folder is empty;
    - "by-path": score.py loaded by its path, as the server loads it.
    """
    nested_dir = tmp_path_factory.mktemp("nested-limited")
    nested = nested_dir / "model_dir" / "iris-model" / "3"
    nested.mkdir(parents=True)
    shutil.copy(trained_model_dir / "model.pkl", nested / "model.pkl")
    empty_dir = tmp_path_factory.mktemp("no-model")
    (empty_dir / "empty_model_dir").mkdir()
    by_path_dir = tmp_path_factory.mktemp("by-path")
    package = score.__name__.split(".")[0]
    commands = {
        "nested-limited": server_command(
            nested_dir / "model_dir",
            {
                "test_json": IRIS_PAYLOAD,
                "three": json.dumps({"data": ROWS + ROWS[:1]}),
                "two": json.dumps({"data": ROWS}),
            },
            nested_dir,
            {score.MAX_ROWS_VARIABLE: "2"},
        ),
        "no-model": server_command(
            empty_dir / "empty_model_dir", {"health": None}, empty_dir
        ),
        "by-path": (
            [sys.executable, "-c", LOAD_BY_PATH, str(SCORE_SCRIPT), package],
            by_path_dir,
            dict(os.environ),
        ),
    }
    started = {
        name: subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (command, cwd, env) in commands.items()
    }
    runs = {}
    for name, process in started.items():
        try:
            stdout, stderr = process.communicate(timeout=SERVER_SECONDS)
        except subprocess.TimeoutExpired:
            for other in started.values():
                other.kill()
            raise
        runs[name] = (
            subprocess.CompletedProcess(
                process.args, process.returncode, stdout, stderr
            ),
            commands[name][1],
        )
    return runs


def expected_predictions(model_dir: Path, rows: list[list[float]]) -> list[str]:
    model = joblib.load(model_dir / "model.pkl")
    return model.predict(pd.DataFrame(rows, columns=FEATURES)).tolist()


@pytest.fixture(scope="module")
def server_answers(scoring_uri: str) -> dict[str, dict[str, Any]]:
    """The answers of the session's server (conftest.py: score.py with the
    trained model under gunicorn) to every request of this module."""
    requests: dict[str, str | None] = {
        "health": None,
        "test_json": IRIS_PAYLOAD,
        "probabilities": json.dumps({"data": ROWS, "probabilities": True}),
        "records": json.dumps({"data": RECORDS}),
        "records_in_another_order": json.dumps(
            {"data": [dict(reversed(record.items())) for record in RECORDS]}
        ),
        **{name: body for name, (body, _, _) in BAD_REQUESTS.items()},
        **{f"missing_{name}": body for name, body in MISSING_VALUES.items()},
    }
    root = scoring_uri.removesuffix("/score") + "/"
    answers = {}
    with http.Session() as session:
        for name, body in requests.items():
            if body is None:
                response = session.get(root, timeout=60)
            else:
                response = session.post(
                    scoring_uri,
                    data=body.encode(),
                    headers={"Content-Type": "application/json"},
                    timeout=60,
                )
            answers[name] = {"status": response.status_code, "body": response.text}
    return answers


# -- through the inference server ------------------------------------------------


def test_server_is_healthy(server_answers: dict[str, dict[str, Any]]) -> None:
    assert server_answers["health"]["status"] == 200
    assert "Healthy" in server_answers["health"]["body"]


def test_rows_get_one_prediction_per_row(
    server_answers: dict[str, dict[str, Any]], trained_model_dir: Path
) -> None:
    answer = server_answers["test_json"]
    assert answer["status"] == 200, answer["body"]
    assert json.loads(answer["body"]) == {
        "predictions": expected_predictions(trained_model_dir, ROWS)
    }
    assert json.loads(answer["body"])["predictions"] == ["setosa", "virginica"]


def test_probabilities_on_request_give_each_class_per_row(
    server_answers: dict[str, dict[str, Any]], trained_model_dir: Path
) -> None:
    answer = server_answers["probabilities"]
    assert answer["status"] == 200, answer["body"]
    body = json.loads(answer["body"])
    assert body["predictions"] == ["setosa", "virginica"]
    model = joblib.load(trained_model_dir / "model.pkl")
    expected = model.predict_proba(pd.DataFrame(ROWS, columns=FEATURES))
    assert [list(row) for row in body["probabilities"]] == [
        ["setosa", "versicolor", "virginica"]
    ] * 2
    np.testing.assert_allclose(
        [list(row.values()) for row in body["probabilities"]], expected
    )


def test_predictions_alone_without_the_option(
    server_answers: dict[str, dict[str, Any]],
) -> None:
    assert "probabilities" not in json.loads(server_answers["test_json"]["body"])


@pytest.mark.parametrize("name", ["records", "records_in_another_order"])
def test_records_score_like_rows(
    server_answers: dict[str, dict[str, Any]], trained_model_dir: Path, name: str
) -> None:
    answer = server_answers[name]
    assert answer["status"] == 200, answer["body"]
    assert json.loads(answer["body"])["predictions"] == expected_predictions(
        trained_model_dir, ROWS
    )


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_bad_request_gets_400_saying_why(
    server_answers: dict[str, dict[str, Any]], name: str
) -> None:
    _, status, text = BAD_REQUESTS[name]
    answer = server_answers[name]
    assert answer["status"] == status, answer["body"]
    error = json.loads(answer["body"])["error"]
    assert text in error
    assert "Traceback" not in error
    assert len(error) < 400  # short, however large the request


@pytest.mark.parametrize("name", sorted(MISSING_VALUES))
def test_missing_values_are_imputed(
    server_answers: dict[str, dict[str, Any]], name: str
) -> None:
    answer = server_answers[f"missing_{name}"]
    assert answer["status"] == 200, answer["body"]
    assert len(json.loads(answer["body"])["predictions"]) == 1


@pytest.fixture(scope="module")
def nested_limited_answers(
    fresh_interpreters: dict[str, tuple[subprocess.CompletedProcess[str], Path]],
) -> dict[str, dict[str, Any]]:
    """The answers of one server whose model lies in nested folders (as Azure
    ML mounts a registered model) and whose row limit is 2."""
    process, work_dir = fresh_interpreters["nested-limited"]
    assert process.returncode == 0, process.stdout[-5000:] + process.stderr[-5000:]
    return answers_in(work_dir)


def test_more_rows_than_the_limit_get_a_413_naming_it(
    nested_limited_answers: dict[str, dict[str, Any]],
) -> None:
    answers = nested_limited_answers
    assert answers["three"]["status"] == 413
    error = json.loads(answers["three"]["body"])["error"]
    assert "data has 3 rows; at most 2 rows" in error
    assert answers["two"]["status"] == 200


def test_model_in_nested_folders_is_found(
    nested_limited_answers: dict[str, dict[str, Any]],
) -> None:
    answer = nested_limited_answers["test_json"]
    assert answer["status"] == 200
    assert len(json.loads(answer["body"])["predictions"]) == 2


def test_server_without_a_model_stops_with_the_reason(
    fresh_interpreters: dict[str, tuple[subprocess.CompletedProcess[str], Path]],
) -> None:
    process, work_dir = fresh_interpreters["no-model"]
    assert process.returncode == 3
    assert answers_in(work_dir) == {}
    assert "no *.pkl file under" in process.stdout + process.stderr


# -- init() and run() in this process --------------------------------------------


@pytest.fixture
def fresh_score(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The score module; its loaded model is restored after the test."""
    for name in ("model", "_features", "_feature_set", "_max_rows", "_positional"):
        monkeypatch.setattr(score, name, getattr(score, name))
    monkeypatch.delenv(score.MODEL_DIR_VARIABLE, raising=False)
    return score


def test_init_reads_the_model_dir_variable(
    fresh_score: Any, trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(trained_model_dir))
    fresh_score.init()
    assert fresh_score._features == FEATURES
    answer = fresh_score.run(IRIS_PAYLOAD)
    assert answer == {"predictions": ["setosa", "virginica"]}
    json.dumps(answer)  # plain Python values


def test_init_without_the_variable_says_what_to_set(fresh_score: Any) -> None:
    with pytest.raises(
        fresh_score.ModelLoadError, match="AZUREML_MODEL_DIR is not set"
    ):
        fresh_score.init()


def test_init_with_a_missing_folder(fresh_score: Any, tmp_path: Path) -> None:
    with pytest.raises(fresh_score.ModelLoadError, match="does not exist"):
        fresh_score.init(tmp_path / "nowhere")


def test_init_without_a_pkl(fresh_score: Any, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no model here")
    with pytest.raises(fresh_score.ModelLoadError, match=r"no \*\.pkl file under"):
        fresh_score.init(tmp_path)


def test_init_with_several_pkl_names_them(
    fresh_score: Any, trained_model_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "old").mkdir()
    shutil.copy(trained_model_dir / "model.pkl", tmp_path / "model.pkl")
    shutil.copy(trained_model_dir / "model.pkl", tmp_path / "old" / "model.pkl")
    with pytest.raises(fresh_score.ModelLoadError, match="several") as caught:
        fresh_score.init(tmp_path)
    assert "model.pkl" in str(caught.value)
    assert str(Path("old") / "model.pkl") in str(caught.value)


def test_init_rejects_a_model_fitted_without_column_names(
    fresh_score: Any, tmp_path: Path
) -> None:
    joblib.dump(
        DummyClassifier().fit(np.zeros((4, 2)), [0, 1, 0, 1]), tmp_path / "m.pkl"
    )
    with pytest.raises(fresh_score.ModelLoadError, match="feature_names_in_"):
        fresh_score.init(tmp_path)


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_init_refuses_a_bad_row_limit(
    fresh_score: Any,
    trained_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    value: str,
) -> None:
    monkeypatch.setenv(score.MAX_ROWS_VARIABLE, value)
    with pytest.raises(fresh_score.ModelLoadError, match=score.MAX_ROWS_VARIABLE):
        fresh_score.init(trained_model_dir)


def test_a_model_that_selects_columns_by_name_gets_a_dataframe(
    fresh_score: Any, tmp_path: Path, iris: pd.DataFrame
) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = iris[FEATURES].assign(size=np.where(iris["petal_length_cm"] > 3, "L", "S"))
    encode = ColumnTransformer(
        [("size", OneHotEncoder(), ["size"])], remainder="passthrough"
    )
    model = make_pipeline(encode, LogisticRegression(max_iter=1000))
    joblib.dump(model.fit(frame, iris["species"]), tmp_path / "model.pkl")
    fresh_score.init(tmp_path)

    assert fresh_score._positional is False
    rows = frame.head(3).to_numpy().tolist()
    answer = fresh_score.run(json.dumps({"data": rows}))
    assert answer == {"predictions": model.predict(frame.head(3)).tolist()}


def test_run_before_init_is_an_error(fresh_score: Any) -> None:
    fresh_score.model = None
    with pytest.raises(fresh_score.ModelLoadError, match="call init"):
        fresh_score.run(IRIS_PAYLOAD)


def test_run_matches_the_model_on_many_rows(
    fresh_score: Any, trained_model_dir: Path, iris: pd.DataFrame
) -> None:
    fresh_score.init(trained_model_dir)
    features = iris[FEATURES]
    answer = fresh_score.run(json.dumps({"data": features.to_numpy().tolist()}))
    expected = joblib.load(trained_model_dir / "model.pkl").predict(features).tolist()
    assert answer == {"predictions": expected}
    records = fresh_score.run(json.dumps({"data": features.to_dict("records")}))
    assert records == answer


def test_bad_request_in_process_is_a_json_400(
    fresh_score: Any, trained_model_dir: Path
) -> None:
    fresh_score.init(trained_model_dir)
    answer = fresh_score.run(BAD_REQUESTS["too_few_values"][0])
    assert answer.status_code == 400
    assert answer.mimetype == "application/json"
    assert "in this order: " + str(FEATURES) in json.loads(answer.get_data())["error"]


def test_run_also_parses_with_the_standard_library(
    fresh_score: Any, trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # score.py falls back to json.loads where pydantic-core is not installed.
    monkeypatch.setattr(fresh_score, "parse_json", json.loads)
    fresh_score.init(trained_model_dir)
    answer = fresh_score.run(IRIS_PAYLOAD)
    assert answer == {"predictions": ["setosa", "virginica"]}
    bad = fresh_score.run(BAD_REQUESTS["malformed_json"][0])
    assert bad.status_code == 400
    assert "not valid JSON" in json.loads(bad.get_data())["error"]


def test_score_script_loads_by_path_without_the_package(
    fresh_interpreters: dict[str, tuple[subprocess.CompletedProcess[str], Path]],
) -> None:
    # The server imports score.py from its path; only the conda file's
    # packages are there, so it must not import this package or an Azure SDK.
    result, _ = fresh_interpreters["by-path"]
    assert result.returncode == 0, result.stderr[-5000:]
    assert json.loads(result.stdout) == []


def test_probabilities_of_a_regression_are_a_400_saying_why(
    fresh_score: Any, tmp_path: Path
) -> None:
    from sklearn.linear_model import LinearRegression

    features = pd.DataFrame(ROWS, columns=FEATURES)
    joblib.dump(LinearRegression().fit(features, [1.0, 2.0]), tmp_path / "m.pkl")
    fresh_score.init(tmp_path)
    answer = fresh_score.run(json.dumps({"data": ROWS, "probabilities": True}))
    assert answer.status_code == 400
    assert "no class probabilities" in json.loads(answer.get_data())["error"]
    assert len(fresh_score.run(IRIS_PAYLOAD)["predictions"]) == 2


@pytest.mark.parametrize(
    "data",
    [
        [[10**400, 3.5, 1.4, 0.2]],
        [{**RECORDS[0], "sepal_length_cm": 10**400}],
    ],
    ids=["row", "record"],
)
def test_a_number_too_large_for_a_float_is_a_400(
    fresh_score: Any, trained_model_dir: Path, data: list[Any]
) -> None:
    """A 400-digit integer is the request's fault: a 400 saying so, not a 500."""
    fresh_score.init(trained_model_dir)
    answer = fresh_score.run(json.dumps({"data": data}))
    assert answer.status_code == 400
    assert "too large" in json.loads(answer.get_data())["error"]


def test_a_huge_column_name_gets_a_short_400(
    fresh_score: Any, trained_model_dir: Path
) -> None:
    """A record with a 10 MB key is named by its start and length, not echoed."""
    fresh_score.init(trained_model_dir)
    key = "k" * 10_000_000
    answer = fresh_score.run(json.dumps({"data": [{**RECORDS[0], key: 1}]}))
    assert answer.status_code == 400
    assert len(answer.get_data()) < 2_000
    assert "(10000000 characters)" in json.loads(answer.get_data())["error"]
