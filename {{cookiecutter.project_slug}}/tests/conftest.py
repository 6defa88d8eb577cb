"""Shared fixtures: sample data, a clean credential environment, and Azurite."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from azurite_service import Azurite, run_azurite
from prerequisites import missing

from {{ cookiecutter.module_name }} import (
    settings,
)
from {{ cookiecutter.module_name }}.azureml_config import (
    WORKSPACE_VARIABLES,
)
from {{ cookiecutter.module_name }}.data_ingestion import (
    ENVIRONMENT_VARIABLES,
    sample_data_path,
)
from {{ cookiecutter.module_name }}.data_preprocessing import (
    preparation,
)
from {{ cookiecutter.module_name }}.data_preprocessing.features import (
    as_is,
)

# Addresses of this machine: the only ones a test may reach.
LOCAL_ADDRESSES = {"127.0.0.1", "::1"}


# What the tests of the template's code train on: the bundled iris sample,
# whatever settings.py says. The project's own data is tested in
# test_project_model.py.
# Column roles and class weighting as the template ships them.
TEMPLATE_DEFAULTS: dict[str, Any] = {
    "ID_COLUMNS": [],
    "TEXT_COLUMNS": [],
    "BALANCE_CLASSES": "auto",
}
IRIS_SETTINGS = {
    "TRAINING_DATA": str(sample_data_path()),
    "TARGET_COLUMN": "species",
    "TASK": "classification",
}


@pytest.fixture(scope="session", autouse=True)
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Training runs in tests go to a temporary MLflow store, never mlflow.db.

    Set in the environment for the whole session, so that notebooks and
    commands the tests start use it too; MLflow's telemetry stays off.
    """
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    variables = {"MLFLOW_TRACKING_URI": uri, "MLFLOW_DISABLE_TELEMETRY": "true"}
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    yield uri
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def iris() -> pd.DataFrame:
    """The bundled iris sample."""
    return pd.read_csv(sample_data_path())


def make_tickets(rows: int = 240, seed: int = 7) -> pd.DataFrame:
    """Support tickets as a team would bring them: a datetime, a boolean with
    gaps, a category, short free text, numbers with gaps, an integer id, names
    with spaces and 4 imbalanced classes ("Priority")."""
    import numpy as np

    rng = np.random.default_rng(seed)
    words = np.array(["login", "invoice", "crash", "slow", "refund", "password"])
    subject_word = rng.choice(len(words), rows)
    priority = np.select(
        [subject_word == 2, subject_word == 3, rng.random(rows) < 0.15],
        ["critical", "high", "medium"],
        "low",
    )
    escalated = pd.Series(rng.random(rows) < 0.3, dtype=object)
    escalated[rng.random(rows) < 0.1] = None
    wait = pd.Series(rng.exponential(5.0, rows).round(1))
    wait[rng.random(rows) < 0.1] = None
    return pd.DataFrame(
        {
            "Ticket ID": np.arange(10_000, 10_000 + rows),
            "Opened At": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 365 * 24, rows), unit="h"),
            "Escalated": escalated,
            "Queue": rng.choice([f"team {n}" for n in range(12)], rows),
            "Subject": [
                f"{words[w]} issue on page {rng.integers(9)}" for w in subject_word
            ],
            "Wait Hours": wait,
            "Priority": priority,
        }
    )


TICKET_SETTINGS = {
    "TARGET_COLUMN": "Priority",
    "TASK": "classification",
    "ID_COLUMNS": ["Ticket ID"],
    "TEXT_COLUMNS": ["Subject"],
}


@pytest.fixture
def tickets() -> pd.DataFrame:
    """A small ticket table (see make_tickets)."""
    return make_tickets()


@pytest.fixture
def ticket_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """settings for the ticket table: target, task, id and text columns."""
    use_template_settings(monkeypatch, TICKET_SETTINGS)


def use_template_settings(patch: pytest.MonkeyPatch, values: dict[str, Any]) -> None:
    """``values`` in settings, and no team preparation (prepare_records as is).

    The tests of the template's code keep their own data and must not depend
    on the team's settings or on its data_preprocessing/preparation.py.
    """
    for name, value in {**TEMPLATE_DEFAULTS, **values}.items():
        patch.setattr(settings, name, value)
    patch.setattr(preparation, "prepare_records", as_is)


@pytest.fixture
def iris_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """settings.TRAINING_DATA, TARGET_COLUMN and TASK of the iris sample."""
    use_template_settings(monkeypatch, IRIS_SETTINGS)


@pytest.fixture(autouse=True)
def isolated_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's storage variables or ./secrets.json."""
    for variable in ENVIRONMENT_VARIABLES.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """Azurite's blob service on a free 127.0.0.1 port, for the whole session.

    With the CI environment variable set, an Azurite that cannot start fails
    the run; elsewhere the Azurite tests are skipped with how to install it.
    """
    with run_azurite(tmp_path_factory.mktemp("azurite")) as service:
        yield service


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding model.pkl and metrics.json, trained once on the iris sample."""
    from {{ cookiecutter.module_name }}.model_building.train import (
        train_and_save,
    )

    folder = tmp_path_factory.mktemp("model")
    with pytest.MonkeyPatch.context() as patch:
        use_template_settings(patch, IRIS_SETTINGS)
        train_and_save(sample_data_path(), folder / "model.pkl")
    return folder


def _require_gunicorn() -> None:
    import sys

    from inference_server import (
        gunicorn_path,
    )

    if not gunicorn_path().exists():
        missing(
            "gunicorn",
            f"it is not installed beside {sys.executable}",
            "`pip install -r requirements/lock/dev.txt` (on Linux or macOS)",
        )


def _score_script() -> Path:
    from {{ cookiecutter.module_name }}.deployment import (
        score,
    )

    return Path(score.__file__).resolve()


@pytest.fixture(scope="session")
def started_blue_green(
    trained_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """The blue and green servers of blue_green_servers, started, not yet answering."""
    import joblib
    from inference_server import (
        StartedServers,
    )
    from sklearn.dummy import DummyClassifier

    _require_gunicorn()
    broken_dir = tmp_path_factory.mktemp("broken-model")
    frame = pd.read_csv(sample_data_path())
    target = IRIS_SETTINGS["TARGET_COLUMN"]
    features = frame.drop(columns=target).iloc[:, :3]
    broken = DummyClassifier().fit(features, frame[target])
    joblib.dump(broken, broken_dir / "model.pkl")
    logs = tmp_path_factory.mktemp("blue-green")
    started = StartedServers(
        {
            name: (_score_script(), model_dir, logs / f"{name}.log")
            for name, model_dir in (("blue", trained_model_dir), ("green", broken_dir))
        }
    )
    yield started
    started.stop()


@pytest.fixture(scope="session")
def blue_green_servers(started_blue_green: Any) -> dict[str, str]:
    """Two inference servers (gunicorn on 127.0.0.1) running score.py.

    "blue" serves the trained model; "green" a broken one, fitted on three of
    the four columns, so it answers the test payload with a 400. Their
    scoring URIs by deployment name. Both start at once (with the session's
    first test: see servers_start_early) and serve the whole session: every
    test of score.py with the trained model uses blue (see scoring_uri), so
    no test waits for a server of its own.
    """
    from inference_server import (
        InferenceServerError,
    )

    try:
        return started_blue_green.wait()
    except InferenceServerError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def training_frame() -> pd.DataFrame:
    """settings.TRAINING_DATA, read as the training reads it."""
    from {{ cookiecutter.module_name }}.data_ingestion import (
        DataIngestor,
        MissingCredentialsError,
    )
    from {{ cookiecutter.module_name }}.model_building import (
        train,
    )

    try:
        return DataIngestor(train.training_source()).get_df()
    except MissingCredentialsError as error:
        missing(
            f"the training data {settings.TRAINING_DATA}",
            str(error),
            "storage credentials in secrets.json or AZURE_STORAGE_* variables",
        )
        raise


@pytest.fixture(scope="session")
def project_model_dir(
    training_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """model.pkl and metrics.json, trained on the project's data (settings.py)."""
    from {{ cookiecutter.module_name }}.model_building import (
        train,
    )

    folder = tmp_path_factory.mktemp("project-model")
    train.train_and_save(train.training_source(), folder / "model.pkl")
    return folder


@pytest.fixture(scope="session")
def project_server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the server of project_scoring_uri writes its output."""
    return tmp_path_factory.mktemp("gunicorn") / "server.log"


@pytest.fixture(scope="session")
def started_project_server(
    project_model_dir: Path, project_server_log: Path
) -> Iterator[Any]:
    """The server of project_scoring_uri, started, not yet answering."""
    from inference_server import (
        StartedServers,
    )

    _require_gunicorn()
    started = StartedServers(
        {"project": (_score_script(), project_model_dir, project_server_log)}
    )
    yield started
    started.stop()


@pytest.fixture(scope="session")
def project_scoring_uri(started_project_server: Any) -> str:
    """score.py with the project's model in gunicorn on 127.0.0.1."""
    from inference_server import (
        InferenceServerError,
    )

    try:
        return started_project_server.wait()["project"]
    except InferenceServerError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session", autouse=True)
def servers_start_early(request: pytest.FixtureRequest, mlflow_store: str) -> None:
    """Start the session's inference servers with its first test, when one of
    its tests uses them: each takes seconds to boot (mostly imports), which it
    spends beside the tests that run before the first one that needs it. A
    server that cannot start fails (or skips) the tests that use it, there."""
    for needed, started in (
        ("blue_green_servers", "started_blue_green"),
        ("project_scoring_uri", "started_project_server"),
    ):
        if any(needed in item.fixturenames for item in request.session.items):
            # pytest keeps a session fixture's error and raises it again for
            # each test that uses the fixture.
            with contextlib.suppress(
                Exception, pytest.skip.Exception, pytest.fail.Exception
            ):
                request.getfixturevalue(started)


@pytest.fixture(scope="session")
def scoring_uri(blue_green_servers: dict[str, str]) -> str:
    """The scoring URI of score.py serving the trained model (gunicorn, 127.0.0.1)."""
    return blue_green_servers["blue"]


# --- Azure ML: fixtures for the tests of both SDKs and of the SDK-free modules.


@pytest.fixture
def no_remote_hosts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail the test if anything resolves or connects to another machine.

    The attempt raises OSError where it happens, and the test fails at the end
    even if the code under test caught that error.
    """
    attempts: list[str] = []
    resolve = socket.getaddrinfo
    connect = socket.socket.connect

    def guarded_resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in {*LOCAL_ADDRESSES, "localhost"}:
            attempts.append(str(host))
            raise OSError(f"test tried to reach {host}")
        return resolve(host, *args, **kwargs)

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and address[0] not in LOCAL_ADDRESSES:
            attempts.append(str(address[0]))
            raise OSError(f"test tried to connect to {address}")
        connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", guarded_resolve)
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    yield attempts
    assert not attempts, f"tried to reach {attempts}"


@pytest.fixture
def azureml_variables_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    """No workspace id, build number, commit or git folder from the environment."""
    for variable in (
        *WORKSPACE_VARIABLES.values(),
        "BUILD_BUILDID",
        "BUILD_SOURCEVERSION",
        "GIT_DIR",
        "GIT_WORK_TREE",
    ):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def workspace_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Known workspace ids in settings."""
    monkeypatch.setattr(settings, "AZURE_SUBSCRIPTION_ID", "sub-from-settings")
    monkeypatch.setattr(settings, "AZUREML_RESOURCE_GROUP", "rg-from-settings")
    monkeypatch.setattr(settings, "AZUREML_WORKSPACE", "ws-from-settings")


@pytest.fixture
def model_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in model file at outputs/model.pkl under tmp_path, metrics.json beside.

    Its metrics are a classifier's, so the gate compares accuracy whatever TASK says.
    """
    monkeypatch.setattr(settings, "GATE_METRIC", "accuracy")
    path = tmp_path / "outputs" / "model.pkl"
    path.parent.mkdir()
    path.write_bytes(b"not really a model")
    metrics = {"accuracy": 0.9, "n_test": 30, "features": ["a", "b"]}
    path.with_name("metrics.json").write_text(json.dumps(metrics))
    return path


@pytest.fixture
def outside_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Git finds no repository in tmp_path (the current folder) or above it."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))


@pytest.fixture
def git_repository(outside_git: None, tmp_path: Path) -> str:
    """Make tmp_path (the current folder) a git repository; return its commit."""
    if shutil.which("git") is None:
        missing(
            "git", "the git command is not on PATH", "your system's package manager"
        )

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=tmp_path, capture_output=True, text=True, check=True
        ).stdout.strip()

    git("init", "--quiet")
    git(
        "-c",
        "user.name=Test",
        "-c",
        "user.email=test@example.com",
        "-c",
        "commit.gpgsign=false",
        "commit",
        "--quiet",
        "--allow-empty",
        "--no-verify",
        "-m",
        "test",
    )
    return git("rev-parse", "HEAD")
