"""Model registration without the Azure ML SDK: tags, checks, metadata, command line.

``register.py`` registers the model with the project's Azure ML SDK; it uses
this module for the git commit and build tags, the check that the model file
exists, ``model_metadata.json`` and its command line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from azure.core.exceptions import ClientAuthenticationError

from ..azureml_config import (
    PACKAGE_NAME,
    WorkspaceConfigurationError,
    quiet_azure_logging,
    sign_in_message,
)

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


def check_model_file(model_path: Path) -> Path:
    """Return ``model_path`` as a Path, checking that the model file exists.

    Raises:
        ModelFileNotFoundError: ``model_path`` does not exist; the message says
            how to train the model.
    """
    model_path = Path(model_path)
    if not model_path.exists():
        raise ModelFileNotFoundError(
            f"the model {model_path} does not exist. Train it first: "
            f"python -m {PACKAGE_NAME}.model_building.train --output {model_path}"
        )
    return model_path


def write_metadata(info: Mapping[str, str], path: Path = DEFAULT_METADATA_PATH) -> Path:
    """Write the registered model's name, version and id to a JSON file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(info), indent=2) + "\n", encoding="utf-8")
    return path


def main(
    register_model: Callable[[Path], Mapping[str, str]],
    argv: Sequence[str] | None = None,
    *,
    description: str,
) -> int:
    """Run the register command line with the SDK's ``register_model``.

    It registers ``--model``, writes ``--metadata`` and prints the registered
    name and version; a missing model file or workspace id exits with 1 and
    the error.

    Args:
        register_model: Registers a model file; returns its name, version, id.
        argv: The arguments; None means ``sys.argv[1:]``.
        description: The command's description in ``--help``.
    """
    parser = argparse.ArgumentParser(description=description)
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
    quiet_azure_logging()
    try:
        info = register_model(args.model)
    except (ModelFileNotFoundError, WorkspaceConfigurationError) as error:
        parser.exit(1, f"error: {error}\n")
    except ClientAuthenticationError as error:
        parser.exit(1, sign_in_message(error))
    write_metadata(info, args.metadata)
    print(f"Registered model {info['name']} version {info['version']}")
    return 0
