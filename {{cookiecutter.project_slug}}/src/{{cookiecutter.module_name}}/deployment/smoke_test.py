"""Smoke-test a scoring endpoint: send a payload, expect one prediction per row.

    python -m {{ cookiecutter.module_name }}.deployment.smoke_test --scoring-uri URI [--payload .azureml/test.json] [--deployment NAME]

The endpoint's key comes from the ``SCORING_KEY`` environment variable (or
``--key``, which wins) and is sent as ``Authorization: Bearer <key>``; it is
never printed. ``--deployment NAME`` sends the ``azureml-model-deployment``
header: Azure ML then routes the request to that deployment of the endpoint,
even one at 0 % traffic (how a blue/green release tests the new deployment).
Connection errors and 5xx answers (an endpoint still starting) are retried
with exponential backoff until ``--timeout`` seconds have passed (default:
120 s for a deployed endpoint, which may still be starting; 15 s on this
machine, where a server that is not running will not start by itself);
any other answer but a 200 fails at once. Exits 0 with a one-line summary, or
1 with the reason.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

logger = logging.getLogger(__name__)

KEY_VARIABLE = "SCORING_KEY"
# Azure ML online endpoints route a request with this header to the named
# deployment: https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-managed-endpoints
DEPLOYMENT_HEADER = "azureml-model-deployment"
DEFAULT_PAYLOAD = Path(".azureml") / "test.json"
DEFAULT_TIMEOUT = 120.0
LOCAL_TIMEOUT = 15.0  # for a scoring URI on this machine (localhost, 127.0.0.1, ::1)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
FIRST_WAIT = 0.5  # seconds before the first retry; doubles after each one
MAX_WAIT = 10.0  # the longest wait between two attempts
MAX_REQUEST_SECONDS = 60.0  # the longest one request may take
EXCERPT_CHARS = 500

_HINTS = {
    400: "the payload does not fit the model: compare it with the model's columns",
    401: "the key is missing or wrong: pass the endpoint's key in SCORING_KEY",
    403: "the key is not allowed on this endpoint: check the key and its endpoint",
    404: "nothing scores at this URI: check --scoring-uri (it ends in /score)",
    405: "this URI does not take POST: check --scoring-uri (it ends in /score)",
}


class SmokeTestError(Exception):
    """The endpoint did not answer the payload as expected; the message says why."""


def load_payload(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON payload in ``path``: an object with a non-empty ``data`` list.

    Raises:
        SmokeTestError: The file is missing, not JSON, or has no ``data`` rows.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SmokeTestError(
            f"payload file {path} not found; run from the project root or pass --payload"
        ) from None
    except ValueError as error:
        raise SmokeTestError(
            f"payload file {path} is not valid JSON: {error}"
        ) from None
    _rows(payload, str(path))
    return payload


def _rows(payload: Any, source: str = "the payload") -> int:
    """The number of rows in ``payload["data"]``."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or not data:
        raise SmokeTestError(
            f'{source} must be a JSON object with a non-empty "data" list of rows'
        )
    return len(data)


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."


def _check_answer(
    response: requests.Response, scoring_uri: str, rows: int
) -> list[Any]:
    """The predictions of a 200 answer, checked against the number of rows."""
    try:
        body = response.json()
    except ValueError:
        raise SmokeTestError(
            f"{scoring_uri} answered 200 with a body that is not JSON: "
            f"{_excerpt(response.text)!r}; is this the scoring URI of the endpoint?"
        ) from None
    predictions = body.get("predictions") if isinstance(body, dict) else None
    if not isinstance(predictions, list):
        raise SmokeTestError(
            f'{scoring_uri} answered 200 without a "predictions" list: '
            f"{_excerpt(response.text)!r}; check that the deployment runs this "
            "project's score.py"
        )
    if len(predictions) != rows:
        raise SmokeTestError(
            f"{scoring_uri} answered {len(predictions)} predictions for {rows} rows; "
            "check the deployment's score.py (one prediction per row)"
        )
    return predictions


def smoke_test(
    scoring_uri: str,
    payload: dict[str, Any],
    *,
    key: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
    deployment: str | None = None,
) -> list[Any]:
    """POST ``payload`` to ``scoring_uri`` and return its predictions.

    Connection errors and 5xx answers are retried with exponential backoff
    until ``timeout`` seconds have passed; other answers are final.

    Args:
        scoring_uri: The endpoint's scoring URI (``.../score``).
        payload: ``{"data": [...]}``, one entry per row.
        key: The endpoint's key or token, sent as a Bearer token.
        timeout: Seconds to keep trying, in total.
        session: The ``requests`` session to use (default: a new one).
        deployment: Send the request to this deployment of the endpoint (the
            ``azureml-model-deployment`` header), not where traffic goes.

    Returns:
        The predictions, one per row of ``payload["data"]``.

    Raises:
        SmokeTestError: The endpoint could not be reached in time, answered
            other than 200, or answered the wrong number of predictions.
    """
    rows = _rows(payload)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if deployment:
        headers[DEPLOYMENT_HEADER] = deployment
    http = session or requests.Session()
    try:
        return _post_until_answered(
            http, scoring_uri, json.dumps(payload), headers, rows, key, timeout
        )
    except SmokeTestError as error:
        if key and key in str(error):
            raise SmokeTestError(_redact(str(error), key)) from None
        raise
    finally:
        if session is None:
            http.close()


def _post_until_answered(
    http: requests.Session,
    scoring_uri: str,
    body: str,
    headers: dict[str, str],
    rows: int,
    key: str | None,
    timeout: float,
) -> list[Any]:
    """POST until a final answer, retrying connection errors and 5xx."""
    deadline = time.monotonic() + timeout
    wait = FIRST_WAIT
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline - time.monotonic()
        try:
            response = http.post(
                scoring_uri,
                data=body,
                headers=headers,
                timeout=max(0.5, min(remaining, MAX_REQUEST_SECONDS)),
            )
        except requests.RequestException as error:
            problem = f"could not reach {scoring_uri}: {error}"
            advice = "check the URI and that the endpoint is running and reachable"
        else:
            if response.status_code == 200:
                return _check_answer(response, scoring_uri, rows)
            problem = (
                f"{scoring_uri} answered {response.status_code} "
                f"{response.reason}: {_excerpt(response.text)!r}"
            )
            if response.status_code < 500:
                hint = _HINTS.get(response.status_code, "check the URI and the key")
                raise SmokeTestError(f"{problem}; {hint}")
            advice = "check the deployment's logs (did init() fail?)"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise SmokeTestError(
                f"{problem}; gave up after {attempt} attempts in {timeout:g} s; "
                f"{advice}"
            )
        pause = min(wait, MAX_WAIT, remaining)
        logger.warning(
            "Attempt %d: %s; retrying in %.1f s", attempt, _redact(problem, key), pause
        )
        time.sleep(pause)
        wait *= 2


def default_timeout(scoring_uri: str) -> float:
    """How long to keep retrying ``scoring_uri`` when no ``--timeout`` is given."""
    host = urlsplit(scoring_uri).hostname or ""
    return LOCAL_TIMEOUT if host in LOCAL_HOSTS else DEFAULT_TIMEOUT


def _redact(text: str, key: str | None) -> str:
    """``text`` with every occurrence of ``key`` masked."""
    return text.replace(key, "***") if key else text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the smoke test from the command line; return the exit code."""
    parser = argparse.ArgumentParser(
        description="POST a payload to a scoring URI and check the predictions."
    )
    parser.add_argument(
        "--scoring-uri", required=True, help="the endpoint's .../score URI"
    )
    parser.add_argument(
        "--key",
        help=f"the endpoint's key (default: ${KEY_VARIABLE}; prefer the variable, "
        "command lines are visible to other processes)",
    )
    parser.add_argument(
        "--payload",
        default=str(DEFAULT_PAYLOAD),
        help='JSON file with {"data": [...]} (default: %(default)s)',
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds to keep retrying connection errors and 5xx (default: "
        f"{DEFAULT_TIMEOUT:g}, or {LOCAL_TIMEOUT:g} for a server on this machine)",
    )
    parser.add_argument(
        "--deployment",
        help="test this deployment of the endpoint (sent as the "
        f"{DEPLOYMENT_HEADER} header), even at 0 %% traffic",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    key = args.key or os.environ.get(KEY_VARIABLE) or None
    started = time.monotonic()
    try:
        payload = load_payload(args.payload)
        timeout = args.timeout or default_timeout(args.scoring_uri)
        predictions = smoke_test(
            args.scoring_uri,
            payload,
            key=key,
            timeout=timeout,
            deployment=args.deployment,
        )
    except SmokeTestError as error:
        print(f"Smoke test FAILED: {_redact(str(error), key)}", file=sys.stderr)
        return 1
    print(
        f"Smoke test OK: {args.scoring_uri}"
        f"{f' (deployment {args.deployment})' if args.deployment else ''} answered {len(predictions)} predictions "
        f"for {len(predictions)} rows in {time.monotonic() - started:.2f} s: "
        f"{_redact(_excerpt(json.dumps(predictions)), key)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
