"""Model registration without the Azure ML SDK: tags, checks, metadata, command line.

``register.py`` registers the model with the project's Azure ML SDK; it uses
this module for the git commit and build tags, the check that the model file
exists, the quality gate (``gate``: register only a model that is not worse
than the registered version), ``model_metadata.json`` and its command line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.core.exceptions import ClientAuthenticationError

from .. import settings
from ..azureml_config import (
    PACKAGE_NAME,
    WorkspaceConfigurationError,
    quiet_azure_logging,
    sign_in_message,
)
from . import gate

logger = logging.getLogger(__name__)

DEFAULT_MODEL_PATH = Path("outputs/model.pkl")
DEFAULT_METADATA_PATH = Path("model_metadata.json")
METRICS_FILE = "metrics.json"
# In Azure Pipelines a registration sets this variable for the later steps
# (the artifact is published only then) and tags the run, which the release's
# pipeline-resource trigger requires: a refused model starts no release.
# https://learn.microsoft.com/azure/devops/pipelines/scripts/logging-commands
REGISTERED_VARIABLE = "MODEL_REGISTERED"
REGISTERED_TAG = "model-registered"
# The model's tag (and metrics.json's key) naming the data it was trained on.
TRAINING_DATA_TAG = "training_data"


@dataclass(frozen=True)
class RegisteredVersion:
    """The newest registered version of the model and its tags."""

    version: str
    tags: Mapping[str, str]


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


def model_metric_tags(metrics: Mapping[str, Any]) -> dict[str, str]:
    """The tags a model gets from its metrics: the numbers, and its training data.

    ``training_data`` (where training read its rows, from ``metrics.json``)
    is what the model monitor compares Prod's data with (SDK v2).
    """
    tags = gate.metric_tags(metrics)
    if isinstance(metrics.get(TRAINING_DATA_TAG), str):
        tags[TRAINING_DATA_TAG] = metrics[TRAINING_DATA_TAG]
    return tags


def read_metrics(path: Path) -> dict[str, Any]:
    """The metrics that training wrote to ``path`` (``metrics.json``).

    Raises:
        GateError: The file is missing or not a JSON object.
    """
    try:
        metrics = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise gate.GateError(
            f"{path} does not exist; training writes it beside model.pkl. Pass "
            "--metrics, or --force to register without the gate."
        ) from None
    except ValueError as error:
        raise gate.GateError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(metrics, dict):
        raise gate.GateError(f"{path} must hold a JSON object of metrics")
    return metrics


def gate_decision(
    metrics: Mapping[str, Any],
    latest: RegisteredVersion | None,
    *,
    source: str = METRICS_FILE,
) -> gate.Decision:
    """The gate's decision on ``metrics`` against the ``latest`` registered version.

    The metric and tolerance are ``settings.GATE_METRIC`` and
    ``settings.GATE_TOLERANCE``. A registered version without that metric's
    tag (registered before the gate) does not block the new model.
    """
    metric = settings.GATE_METRIC
    candidate = gate.metric_value(metrics, metric, source)
    tolerance = float(settings.GATE_TOLERANCE)
    if latest is None:
        return gate.decide(metric, candidate, None, tolerance)
    if metric not in latest.tags:
        gate.higher_is_better(metric)  # an unknown metric still fails here
        # Like with like: never another metric of the old version (its accuracy
        # says nothing about a new macro F1).
        measured = sorted(name for name in latest.tags if _is_number(latest.tags[name]))
        return gate.Decision(
            True,
            f"registered version {latest.version} has no {metric!r} tag (registered "
            f"before the gate or before {metric} was measured; its metrics: "
            f"{measured}), so there is nothing like to compare with: registering "
            f"the new model ({metric} {candidate:.4g})",
        )
    current = gate.metric_value(latest.tags, metric, f"version {latest.version}'s tags")
    return gate.decide(
        metric, candidate, current, tolerance, current_version=latest.version
    )


def _is_number(value: Any) -> bool:
    """Whether a tag's value reads as a number (a metric, not a commit id)."""
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def write_metadata(info: Mapping[str, str], path: Path = DEFAULT_METADATA_PATH) -> Path:
    """Write the registered model's name, version and id to a JSON file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(info), indent=2) + "\n", encoding="utf-8")
    return path


def main(
    register_model: Callable[..., Mapping[str, str]],
    latest_registered: Callable[[], RegisteredVersion | None],
    argv: Sequence[str] | None = None,
    *,
    description: str,
) -> int:
    """Run the register command line with the SDK's functions.

    The quality gate compares ``--model``'s metrics (``metrics.json`` beside
    it, or ``--metrics``) with the newest registered version's; ``--force``
    skips it. A registered model gets its numeric metrics as tags, its
    metadata is written to ``--metadata`` and, in Azure Pipelines, the
    MODEL_REGISTERED variable is set to true and the run tagged
    ``model-registered``. A refused model is not
    registered, no metadata is written, and the exit code is still 0. A
    missing model file, metrics file or workspace id exits with 1 and the
    error.

    Args:
        register_model: Registers a model file with ``tags``; returns its
            name, version and id.
        latest_registered: The newest registered version, or None.
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
    parser.add_argument(
        "--metrics",
        type=Path,
        help=f"the model's metrics (default: {METRICS_FILE} beside --model)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="register even when the model is worse than the registered one",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    quiet_azure_logging()
    # A refused model must leave no metadata behind for a release to pick up.
    args.metadata.unlink(missing_ok=True)
    metrics_path = args.metrics or Path(args.model).with_name(METRICS_FILE)
    try:
        check_model_file(args.model)
        metrics = (
            read_metrics(metrics_path)
            if metrics_path.exists() or not args.force
            else {}
        )
        if args.force:
            print("Quality gate skipped (--force)")
        else:
            decision = gate_decision(
                metrics, latest_registered(), source=str(metrics_path)
            )
            print(f"Quality gate: {decision.reason}")
            if not decision.register:
                print("Not registered: the registered model stays the newest version.")
                return 0
        info = register_model(args.model, tags=model_metric_tags(metrics))
    except (
        ModelFileNotFoundError,
        WorkspaceConfigurationError,
        gate.GateError,
    ) as error:
        parser.exit(1, f"error: {error}\n")
    except ClientAuthenticationError as error:
        parser.exit(1, sign_in_message(error))
    write_metadata(info, args.metadata)
    print(f"Registered model {info['name']} version {info['version']}")
    if os.environ.get("TF_BUILD"):
        print(f"##vso[task.setvariable variable={REGISTERED_VARIABLE}]true")
        print(f"##vso[build.addbuildtag]{REGISTERED_TAG}")
    return 0
