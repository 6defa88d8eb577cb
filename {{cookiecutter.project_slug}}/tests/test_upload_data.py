"""The upload command puts a data file where a blob TRAINING_DATA reads it (Azurite)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pandas as pd
import pytest
from azurite_service import Azurite

from {{ cookiecutter.module_name }}.data_ingestion import (
    DataIngestor,
)
from {{ cookiecutter.module_name }}.data_ingestion.errors import (
    MissingCredentialsError,
)
from {{ cookiecutter.module_name }}.devtools import (
    upload_data,
)


@pytest.mark.azurite
def test_an_uploaded_file_is_read_back_by_its_blob_name(
    azurite: Azurite,
    tmp_path: Path,
    iris: pd.DataFrame,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Credentials from ./secrets.json; a new container is created; the printed
    TRAINING_DATA value reads the same table back."""
    secrets = {
        "connection_string": azurite.connection_string,
        "container_name": f"upload-{uuid.uuid4().hex[:12]}",
    }
    (tmp_path / "secrets.json").write_text(json.dumps(secrets))
    path = tmp_path / "iris.csv"
    iris.to_csv(path, index=False)

    assert upload_data.main([str(path), "--blob", "raw/iris.csv"]) == 0

    assert 'TRAINING_DATA = "blob:raw/iris.csv"' in capsys.readouterr().out
    pd.testing.assert_frame_equal(DataIngestor("blob:raw/iris.csv").get_df(), iris)


def test_a_missing_file_is_one_line_and_exit_code_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No traceback: the error names the file."""
    with pytest.raises(SystemExit) as exited:
        upload_data.main([str(tmp_path / "nope.csv")])
    assert exited.value.code == 1
    error = capsys.readouterr().err
    assert (
        error
        == f"error: {tmp_path / 'nope.csv'} is not a file; give the file to upload\n"
    )


def test_no_credentials_is_one_line_and_exit_code_1(
    tmp_path: Path, iris: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    """Neither secrets.json nor variables: the error says so in one line, and
    names --debug; no traceback."""
    path = tmp_path / "iris.csv"
    iris.to_csv(path, index=False)
    with pytest.raises(SystemExit) as exited:
        upload_data.main([str(path)])
    assert exited.value.code == 1
    error = capsys.readouterr().err
    assert error.startswith("error: no Azure Storage credentials found")
    assert error.endswith("\n(--debug shows the traceback)\n")
    assert "Traceback" not in error


def test_with_debug_an_error_raises_with_its_traceback(
    tmp_path: Path, iris: pd.DataFrame
) -> None:
    """--debug lets the storage error through instead of the one-line message."""
    path = tmp_path / "iris.csv"
    iris.to_csv(path, index=False)
    with pytest.raises(MissingCredentialsError):
        upload_data.main([str(path), "--debug"])
