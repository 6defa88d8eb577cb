"""Register a trained model in the Azure ML workspace (Azure ML SDK v2).

Command line::

    python -m {{ cookiecutter.module_name }}.deployment.register --model outputs/model.pkl

A quality gate first compares the model's ``metrics.json`` with the newest
registered version's metric tags (``registration.gate_decision``; ``--force``
skips it). It prints both numbers and the decision; a registered model's name,
version and id go to ``model_metadata.json`` for the deployment steps.

The model's ``training_data`` tag names an Azure ML data asset of the data it
was trained on (a local file is uploaded as one, once per content), which the
model monitor (``monitor.py``) takes as its reference data.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Data, Model

from .. import settings
from ..azureml_workspace import (
    get_ml_client,
)
from . import registration

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

logger = logging.getLogger(__name__)

# The data asset that holds the data each model version was trained on.
TRAINING_DATA_ASSET = f"{settings.MODEL_NAME}-training-data"


def training_data_asset(client: MLClient, training_data: str) -> str:
    """The ``azureml:name:version`` data asset of ``training_data``, created once.

    An ``azureml:`` reference is kept as it is. A local file (uploaded) or a
    storage URL becomes a version of TRAINING_DATA_ASSET named by its content
    (a file) or its address (a URL), so that registering again creates nothing.
    """
    if training_data.startswith("azureml:"):
        return training_data
    from azure.core.exceptions import ResourceNotFoundError

    local = Path(training_data)
    content = local.read_bytes() if local.is_file() else training_data.encode()
    version = hashlib.sha256(content).hexdigest()[:16]
    reference = f"azureml:{TRAINING_DATA_ASSET}:{version}"
    try:
        client.data.get(name=TRAINING_DATA_ASSET, version=version)
    except ResourceNotFoundError:
        client.data.create_or_update(
            Data(
                name=TRAINING_DATA_ASSET,
                version=version,
                path=str(local) if local.is_file() else training_data,
                type=AssetTypes.URI_FILE,
                description=f"Training data of {settings.MODEL_NAME}.",
            )
        )
        logger.info("Registered the training data as %s", reference)
    return reference


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
        tags: Tags added to the git commit and build id tags; a
            ``training_data`` tag becomes its data asset (``training_data_asset``).

    Returns:
        The registered model's ``name``, ``version`` and ``id``.

    Raises:
        ModelFileNotFoundError: ``model_path`` does not exist.
    """
    model_path = registration.check_model_file(model_path)
    client = client if client is not None else get_ml_client()
    tags = registration.model_tags(tags)
    training_data = tags.get(registration.TRAINING_DATA_TAG)
    if training_data:
        tags[registration.TRAINING_DATA_TAG] = training_data_asset(
            client, training_data
        )
    model = Model(
        path=str(model_path),
        name=name,
        type="custom_model",
        description=f"{settings.MODEL_NAME}: predicts {settings.TARGET_COLUMN}.",
        tags=tags,
    )
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
