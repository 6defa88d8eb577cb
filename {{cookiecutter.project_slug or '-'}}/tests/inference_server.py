"""Microsoft's Azure ML inference server under gunicorn on 127.0.0.1.

The smoke-test tests and the template's score benchmark run it this way
(``azmlinfsrv`` would bind 0.0.0.0).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from azurite_service import free_port, stop

START_SECONDS = 90
# Microsoft's server app, without its false "extra keys" warning (see local_server).
APP = "{{ cookiecutter.module_name }}.deployment.local_server:app"


class InferenceServerError(RuntimeError):
    """The server exited, or did not answer in time; the message has its log."""


def gunicorn_path() -> Path:
    """The gunicorn installed beside this interpreter."""
    return Path(sys.executable).with_name("gunicorn")


@contextmanager
def run_inference_server(
    script: Path, model_dir: Path, log_path: Path
) -> Iterator[str]:
    """Serve ``script`` with the model in ``model_dir``; yield its scoring URI.

    Raises:
        InferenceServerError: The server exited or did not answer ``GET /``
            within START_SECONDS; the message ends with its log.
    """
    port = free_port()
    env = {
        **os.environ,
        "AZUREML_ENTRY_SCRIPT": str(script),
        "AZUREML_MODEL_DIR": str(model_dir),
        "AML_APP_ROOT": str(script.parent),
    }
    command = [
        str(gunicorn_path()),
        *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "300"),
        APP,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=log_path.parent, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                raise InferenceServerError(
                    f"gunicorn exited with code {process.returncode}:\n"
                    f"{log_path.read_text(errors='replace')[-5000:]}"
                )
            try:
                if requests.get(base + "/", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise InferenceServerError(
                    f"the inference server did not answer on {base} within "
                    f"{START_SECONDS} s:\n{log_path.read_text(errors='replace')[-5000:]}"
                )
            time.sleep(0.2)
        yield base + "/score"
    finally:
        stop(process, grace=15)
