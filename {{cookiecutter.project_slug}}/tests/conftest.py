"""Shared fixtures: sample data, a clean credential environment, and Azurite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from azurite_service import Azurite, run_azurite

from {{ cookiecutter.module_name }}.data_ingestion import (
    ENVIRONMENT_VARIABLES,
    sample_data_path,
)


@pytest.fixture
def iris() -> pd.DataFrame:
    """The bundled iris sample."""
    return pd.read_csv(sample_data_path())


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
    """A folder holding model.pkl and metrics.json, trained once on the sample."""
    from {{ cookiecutter.module_name }}.model_building.train import (
        train_and_save,
    )

    folder = tmp_path_factory.mktemp("model")
    train_and_save(sample_data_path(), folder / "model.pkl")
    return folder
