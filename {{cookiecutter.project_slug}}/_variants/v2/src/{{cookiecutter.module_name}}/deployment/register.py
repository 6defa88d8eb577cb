"""Register a trained model in the Azure ML workspace (Azure ML SDK v2).

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

from azure.ai.ml.entities import Model

from .. import settings
from ..azureml_workspace import (
    get_ml_client,
)
from . import registration

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

logger = logging.getLogger(__name__)


def register_model(
    model_path: Path,
    *,
    client: MLClient | None = None,
    name: str = settings.MODEL_NAME,
    tags: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Register ``model_path`` as a new version of the model ``name``.

    Args:
        model_path: The trained model file (``model.pkl``).
        client: The workspace client; None means ``get_ml_client()``.
        name: Name of the registered model.
        tags: Tags added to the git commit and build id tags.

    Returns:
        The registered model's ``name``, ``version`` and ``id``.

    Raises:
        ModelFileNotFoundError: ``model_path`` does not exist.
    """
    model_path = registration.check_model_file(model_path)
    model = Model(
        path=str(model_path),
        name=name,
        type="custom_model",
        description=f"{settings.MODEL_NAME}: predicts {settings.TARGET_COLUMN}.",
        tags=registration.model_tags(tags),
    )
    client = client if client is not None else get_ml_client()
    registered = client.models.create_or_update(model)
    logger.info("Registered model %s version %s", registered.name, registered.version)
    return {
        "name": registered.name,
        "version": str(registered.version),
        "id": registered.id,
    }


def latest_registered(
    *, client: MLClient | None = None, name: str = settings.MODEL_NAME
) -> registration.RegisteredVersion | None:
    """The newest registered version of the model ``name`` and its tags, or None."""
    from azure.core.exceptions import ResourceNotFoundError

    client = client if client is not None else get_ml_client()
    try:
        model = client.models.get(name=name, label="latest")
    except ResourceNotFoundError:
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
