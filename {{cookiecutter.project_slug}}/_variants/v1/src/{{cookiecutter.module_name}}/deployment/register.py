"""Register a trained model in the Azure ML workspace (Azure ML SDK v1).

Command line::

    python -m {{ cookiecutter.module_name }}.deployment.register --model outputs/model.pkl

It prints the registered name and version and writes them, with the model
id, to ``model_metadata.json`` for the deployment steps.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .. import settings
from ..azureml_workspace import (
    PACKAGE_NAME,
    SDK_MISSING,
    WorkspaceConfigurationError,
    get_workspace,
)

try:
    from azureml.core import Model
except ImportError as error:
    raise ModuleNotFoundError(SDK_MISSING, name="azureml.core") from error

if TYPE_CHECKING:
    from azureml.core import Workspace

logger = logging.getLogger(__name__)

DEFAULT_MODEL_PATH = Path("outputs/model.pkl")
DEFAULT_METADATA_PATH = Path("model_metadata.json")


class ModelFileNotFoundError(FileNotFoundError):
    """The model file to register does not exist."""


def git_commit() -> str | None:
    """Return the commit being built: ``git rev-parse HEAD`` in the current folder.

    Outside a git repository (or without git) it falls back to the
    BUILD_SOURCEVERSION variable of Azure Pipelines; None if neither is there.
    """
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        logger.debug("No git commit from git rev-parse HEAD: %s", error)
    else:
        return result.stdout.strip()
    return os.environ.get("BUILD_SOURCEVERSION") or None


def model_tags(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the tags of a registered model: where and from what it was built.

    ``git_commit`` is the source commit; ``build_id`` is the Azure Pipelines
    BUILD_BUILDID, when present. ``extra`` tags are added last.
    """
    tags = {}
    commit = git_commit()
    if commit:
        tags["git_commit"] = commit
    build_id = os.environ.get("BUILD_BUILDID")
    if build_id:
        tags["build_id"] = build_id
    tags.update(extra or {})
    return tags


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
    model_path = Path(model_path)
    if not model_path.exists():
        raise ModelFileNotFoundError(
            f"the model {model_path} does not exist. Train it first: "
            f"python -m {PACKAGE_NAME}.model_building.train --output {model_path}"
        )
    if workspace is None:
        workspace = get_workspace()
    model = Model.register(
        workspace=workspace,
        model_path=str(model_path),
        model_name=name,
        tags=model_tags(tags),
        description=f"{settings.MODEL_NAME}: predicts {settings.TARGET_COLUMN}.",
    )
    logger.info("Registered model %s version %s", model.name, model.version)
    return {"name": model.name, "version": str(model.version), "id": model.id}


def write_metadata(info: Mapping[str, str], path: Path = DEFAULT_METADATA_PATH) -> Path:
    """Write the registered model's name, version and id to a JSON file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(info), indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Register the model from the command line and print its name and version."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        type=Path,
        default=DEFAULT_MODEL_PATH,
        help=f"the trained model file (default: {DEFAULT_MODEL_PATH})",
    )
    parser.add_argument(
        "--metadata",
        type=Path,
        default=DEFAULT_METADATA_PATH,
        help=f"where to write name, version and id (default: {DEFAULT_METADATA_PATH})",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    try:
        info = register_model(args.model)
    except (ModelFileNotFoundError, WorkspaceConfigurationError) as error:
        parser.exit(1, f"error: {error}\n")
    write_metadata(info, args.metadata)
    print(f"Registered model {info['name']} version {info['version']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
