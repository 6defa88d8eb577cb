"""The QA and Prod stages and the deploy command line, without the Azure ML SDK.

``deploy.py`` deploys with the project's Azure ML SDK; its command line is
``main`` here, given that module's ``deploy`` function.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from ..azureml_config import (
    ProjectFileNotFoundError,
    WorkspaceConfigurationError,
)

Stage = Literal["qa", "prod"]
STAGES: tuple[Stage, ...] = ("qa", "prod")


class ModelVersionNotFoundError(LookupError):
    """The model, or the asked version of it, is not registered."""


def check_stage(stage: str) -> None:
    """Check that ``stage`` is one of STAGES.

    Raises:
        ValueError: ``stage`` is neither "qa" nor "prod".
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}: use one of {', '.join(STAGES)}.")


def main(
    deploy: Callable[[Stage, str], str],
    argv: Sequence[str] | None = None,
    *,
    description: str,
    errors: tuple[type[Exception], ...] = (),
) -> int:
    """Run the deploy command line with the SDK's ``deploy`` and print the scoring URI.

    ``--output-uri FILE`` also writes the URI to FILE; the key is never printed
    or written. A model version that is not registered, a missing project
    file or workspace id, or one of ``errors`` exits with 1 and the error.

    Args:
        deploy: Deploys a model version to a stage; returns the scoring URI.
        argv: The arguments; None means ``sys.argv[1:]``.
        description: The command's description in ``--help``.
        errors: More exceptions of ``deploy`` to report without a traceback.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--stage", choices=STAGES, required=True)
    parser.add_argument(
        "--model-version",
        default="latest",
        help='version of the registered model, or "latest" (default)',
    )
    parser.add_argument(
        "--output-uri",
        type=Path,
        help="also write the scoring URI (never the key) to this file",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    try:
        scoring_uri = deploy(args.stage, args.model_version)
    except (
        ModelVersionNotFoundError,
        ProjectFileNotFoundError,
        WorkspaceConfigurationError,
        *errors,
    ) as error:
        parser.exit(1, f"error: {error}\n")
    if args.output_uri:
        args.output_uri.parent.mkdir(parents=True, exist_ok=True)
        args.output_uri.write_text(scoring_uri + "\n", encoding="utf-8")
    print(scoring_uri)
    return 0
