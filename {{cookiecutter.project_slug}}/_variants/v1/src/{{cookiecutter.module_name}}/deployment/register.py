"""Register a trained model in the Azure ML workspace (Azure ML SDK v1).

Command line::

    python -m {{ cookiecutter.module_name }}.deployment.register --model outputs/model.pkl

A quality gate first compares the model's ``metrics.json`` with the newest
registered version's metric tags (``registration.gate_decision``; ``--force``
skips it). It prints both numbers and the decision; a registered model's name,
version and id go to ``model_metadata.json`` for the deployment steps.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .. import settings
from ..azureml_workspace import (
    SDK_MISSING,
    get_workspace,
)
from . import registration

try:
    from azureml.core import Model
except ImportError as error:
    raise ModuleNotFoundError(SDK_MISSING, name="azureml.core") from error

if TYPE_CHECKING:
    from azureml.core import Workspace

logger = logging.getLogger(__name__)


def register_model(
    model_path: Path,
    *,
    workspace: Workspace | None = None,
    name: str = settings.MODEL_NAME,
    tags: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Register ``model_path`` as a new version of the model ``name``.

    Args:
        model_path: The trained model file (``model.pkl``).
        workspace: The Azure ML workspace; None means ``get_workspace()``.
        name: Name of the registered model.
        tags: Tags added to the git commit and build id tags.

    Returns:
        The registered model's ``name``, ``version`` and ``id``.

    Raises:
        ModelFileNotFoundError: ``model_path`` does not exist.
        WorkspaceConfigurationError: A workspace id is not configured.
    """
    model_path = registration.check_model_file(model_path)
    if workspace is None:
        workspace = get_workspace()
    model = Model.register(
        workspace=workspace,
        model_path=str(model_path),
        model_name=name,
        tags=registration.model_tags(tags),
        description=f"{settings.MODEL_NAME}: predicts {settings.TARGET_COLUMN}.",
    )
    logger.info("Registered model %s version %s", model.name, model.version)
    return {"name": model.name, "version": str(model.version), "id": model.id}


def latest_registered(
    *, workspace: Workspace | None = None, name: str = settings.MODEL_NAME
) -> registration.RegisteredVersion | None:
    """The newest registered version of the model ``name`` and its tags, or None."""
    from azureml.exceptions import WebserviceException

    if workspace is None:
        workspace = get_workspace()
    try:
        model = Model(workspace, name=name)  # without a version: the newest
    except WebserviceException as error:
        if "ModelNotFound" not in str(error):
            raise
        return None
    return registration.RegisteredVersion(str(model.version), dict(model.tags or {}))


def main(argv: Sequence[str] | None = None) -> int:
    """Register the model, if the quality gate lets it, and print the outcome."""
    description = __doc__.splitlines()[0]
    return registration.main(
        register_model, latest_registered, argv, description=description
    )


if __name__ == "__main__":
    raise SystemExit(main())
