"""Register a trained model in the Azure ML workspace (Azure ML SDK v2).

Command line::

    python -m {{ cookiecutter.module_name }}.deployment.register --model outputs/model.pkl

A quality gate first compares the model's ``metrics.json`` with the newest
registered version's metric tags (``registration.gate_decision``; ``--force``
skips it). It prints both numbers and the decision; a registered model's name,
version and id go to ``model_metadata.json`` for the deployment steps.

The model's ``training_data`` tag names an Azure ML MLTable data asset of the
data it was trained on (a local file is uploaded into one, once per content),
which the model monitor (``monitor.py``) takes as its reference data.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import yaml  # PyYAML: azure-ai-ml's own dependency
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Data, Model

from .. import settings
from ..azureml_workspace import (
    get_ml_client,
)
from ..data_ingestion.formats import detect_extension
from . import registration

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

logger = logging.getLogger(__name__)

# The data asset that holds the data each model version was trained on.
TRAINING_DATA_ASSET = f"{settings.MODEL_NAME}-training-data"
# How an MLTable reads each format of training data, the table format of
# Microsoft's model monitoring examples
# (https://learn.microsoft.com/azure/machine-learning/reference-yaml-mltable).
MLTABLE_READERS: dict[str, dict[str, dict[str, object]]] = {
    ".csv": {
        "read_delimited": {
            "delimiter": ",",
            "header": "all_files_same_headers",
            "encoding": "utf8",
        }
    },
    ".parquet": {"read_parquet": {"include_path_column": False}},
    ".jsonl": {"read_json_lines": {"encoding": "utf8"}},
}


def mltable_text(file: str, extension: str) -> str:
    """The MLTable file that reads ``file`` (a relative path or a URL) as a table."""
    return yaml.safe_dump(
        {"paths": [{"file": file}], "transformations": [MLTABLE_READERS[extension]]},
        sort_keys=False,
    )


def training_data_asset(client: MLClient, training_data: str) -> str:
    """The ``azureml:name:version`` MLTable data asset of ``training_data``, made once.

    An ``azureml:`` reference is kept as it is. A local file (uploaded with
    its MLTable file) or a storage URL (referenced by one) becomes a version
    of TRAINING_DATA_ASSET named by its content, so that registering the same
    data again creates nothing. Formats an MLTable does not read (``.json``,
    ``.csv.gz``) are kept as they are, and the monitor says so.
    """
    if training_data.startswith("azureml:"):
        return training_data
    extension = detect_extension(training_data.split("?", 1)[0])
    if extension not in MLTABLE_READERS:
        logger.warning(
            "The training data %s is not recorded as a data asset: the model "
            "monitor reads %s only",
            training_data,
            ", ".join(MLTABLE_READERS),
        )
        return training_data
    from azure.core.exceptions import ResourceNotFoundError

    local = Path(training_data)
    file = f"./{local.name}" if local.is_file() else training_data
    mltable = mltable_text(file, extension)
    content = local.read_bytes() if local.is_file() else training_data.encode()
    version = hashlib.sha256(content + mltable.encode()).hexdigest()[:16]
    reference = f"azureml:{TRAINING_DATA_ASSET}:{version}"
    try:
        client.data.get(name=TRAINING_DATA_ASSET, version=version)
    except ResourceNotFoundError:
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "MLTable").write_text(mltable, encoding="utf-8")
            if local.is_file():
                shutil.copyfile(local, Path(folder, local.name))
            client.data.create_or_update(
                Data(
                    name=TRAINING_DATA_ASSET,
                    version=version,
                    path=folder,
                    type=AssetTypes.MLTABLE,
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
