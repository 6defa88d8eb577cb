"""Prerequisites that some tests need: under CI a missing one fails the run,
elsewhere its tests are skipped with how to install it."""

from __future__ import annotations

import importlib
import os

import pytest

from {{ cookiecutter.module_name }} import (
    settings,
)

AZUREML_SDK_MODULES = {"v1": "azureml.core", "v2": "azure.ai.ml"}


def missing(what: str, reason: str, install: str) -> None:
    """Fail under CI (nothing is skipped there); elsewhere skip, saying how to install."""
    message = f"{what} is not available: {reason}. Install it with {install}."
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require_azureml_sdk() -> None:
    """Make sure the project's Azure ML SDK imports; call it at the top of a test module."""
    module = AZUREML_SDK_MODULES[settings.AZUREML_SDK]
    try:
        importlib.import_module(module)
    except ImportError as error:
        missing(
            f"the Azure ML SDK {settings.AZUREML_SDK} ({module})",
            str(error),
            "`pip install -r requirements/lock/dev.txt`",
        )
