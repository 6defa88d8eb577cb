"""The QA and Prod stages and the deploy command line, without the Azure ML SDK.

``deploy.py`` deploys with the project's Azure ML SDK; its command line is
``main`` here, given that module's ``deploy`` and ``endpoint_key`` functions::

    deploy --stage qa [--model-version latest] [--output-uri FILE]
    deploy --stage qa --print-key

The first deploys and prints the scoring URI, never the key. The second
deploys nothing and prints only the endpoint's key, for a pipeline script::

    SCORING_KEY="$(python -m <package>.deployment.deploy --stage qa --print-key)"
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from azure.core.exceptions import ClientAuthenticationError

from ..azureml_config import (
    ProjectFileNotFoundError,
    WorkspaceConfigurationError,
    quiet_azure_logging,
    sign_in_message,
)

Stage = Literal["qa", "prod"]
STAGES: tuple[Stage, ...] = ("qa", "prod")
DEFAULT_MODEL_VERSION = "latest"


class ModelVersionNotFoundError(LookupError):
    """The model, or the asked version of it, is not registered."""


class EndpointNotFoundError(LookupError):
    """The endpoint (web service) of a stage does not exist: nothing deployed yet."""


def check_stage(stage: str) -> None:
    """Check that ``stage`` is one of STAGES.

    Raises:
        ValueError: ``stage`` is neither "qa" nor "prod".
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}: use one of {', '.join(STAGES)}.")


def main(
    deploy: Callable[[Stage, str], str],
    endpoint_key: Callable[[Stage], str],
    argv: Sequence[str] | None = None,
    *,
    description: str,
    errors: tuple[type[Exception], ...] = (),
) -> int:
    """Run the deploy command line with the SDK's ``deploy`` and ``endpoint_key``.

    Without ``--print-key`` it deploys and prints the scoring URI;
    ``--output-uri FILE`` also writes the URI to FILE. The key is never
    printed or written then.

    With ``--print-key`` it deploys nothing and prints only the stage's
    endpoint key, on one line, so that ``$(...)`` in a shell captures exactly
    the key: whatever the SDK prints meanwhile goes to stderr. It cannot be
    combined with ``--model-version`` or ``--output-uri``.

    A model version that is not registered, an endpoint that does not exist,
    a missing project file or workspace id, or one of ``errors`` exits with 1
    and the error.

    Args:
        deploy: Deploys a model version to a stage; returns the scoring URI.
        endpoint_key: Returns the primary key of a stage's endpoint.
        argv: The arguments; None means ``sys.argv[1:]``.
        description: The command's description in ``--help``.
        errors: More exceptions of ``deploy`` and ``endpoint_key`` to report
            without a traceback.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--stage", choices=STAGES, required=True)
    parser.add_argument(
        "--model-version",
        help=f'registered model version, or "{DEFAULT_MODEL_VERSION}" (default)',
    )
    parser.add_argument(
        "--output-uri",
        type=Path,
        help="also write the scoring URI (never the key) to this file",
    )
    parser.add_argument(
        "--print-key",
        action="store_true",
        help="deploy nothing: print only the endpoint's primary key, for "
        'SCORING_KEY="$(... --print-key)" in a pipeline script',
    )
    args = parser.parse_args(argv)
    if args.print_key and (args.model_version is not None or args.output_uri):
        parser.error(
            "--print-key deploys nothing: leave out --model-version and --output-uri."
        )
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    # The Azure SDK logs every HTTP request at INFO: keep only its warnings, so
    # that the release's steps and traffic changes stand out in the log.
    quiet_azure_logging()
    known_errors = (
        ModelVersionNotFoundError,
        EndpointNotFoundError,
        ProjectFileNotFoundError,
        WorkspaceConfigurationError,
        *errors,
    )
    if args.print_key:
        try:
            # Only the key may reach stdout: the SDK's own output goes to stderr.
            with contextlib.redirect_stdout(sys.stderr):
                key = endpoint_key(args.stage)
        except known_errors as error:
            parser.exit(1, f"error: {error}\n")
        except ClientAuthenticationError as error:
            parser.exit(1, sign_in_message(error))
        if not key or "\n" in key:
            parser.exit(
                1,
                f"error: the {args.stage} endpoint returned no usable key. Check "
                "that it uses key authentication (auth_mode: key).\n",
            )
        print(key)
        return 0
    model_version = args.model_version or DEFAULT_MODEL_VERSION
    try:
        scoring_uri = deploy(args.stage, model_version)
    except known_errors as error:
        parser.exit(1, f"error: {error}\n")
    except ClientAuthenticationError as error:
        parser.exit(1, sign_in_message(error))
    if args.output_uri:
        args.output_uri.parent.mkdir(parents=True, exist_ok=True)
        args.output_uri.write_text(scoring_uri + "\n", encoding="utf-8")
    print(scoring_uri)
    return 0
