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
POLL_SECONDS = 0.1  # how often to ask a starting server whether it answers
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
    with run_inference_servers({"server": (script, model_dir, log_path)}) as uris:
        yield uris["server"]


@contextmanager
def run_inference_servers(
    servers: dict[str, tuple[Path, Path, Path]],
) -> Iterator[dict[str, str]]:
    """Start one server per ``name: (script, model_dir, log_path)`` at once.

    They boot side by side (most of a start is importing the server and the
    model's libraries); yields their scoring URIs by name once all answer.

    Raises:
        InferenceServerError: A server exited or did not answer ``GET /``
            within START_SECONDS; the message ends with its log.
    """
    started = StartedServers(servers)
    try:
        yield started.wait()
    finally:
        started.stop()


class StartedServers:
    """Servers started and not yet waited for, so that they boot while the
    caller does other work; ``wait()`` returns once all answer."""

    def __init__(self, servers: dict[str, tuple[Path, Path, Path]]) -> None:
        """Start one server per ``name: (script, model_dir, log_path)``."""
        self._started: dict[str, tuple[subprocess.Popen[bytes], str, Path]] = {}
        self._deadline = time.monotonic() + START_SECONDS
        try:
            for name, (script, model_dir, log_path) in servers.items():
                self._started[name] = _start(script, model_dir, log_path)
        except BaseException:
            self.stop()
            raise

    def wait(self) -> dict[str, str]:
        """Their scoring URIs by name, once all answer ``GET /``.

        Raises:
            InferenceServerError: A server exited or did not answer within
                START_SECONDS of its start; the message ends with its log.
        """
        for process, base, log_path in self._started.values():
            _wait_until_answering(process, base, log_path, self._deadline)
        return {name: base + "/score" for name, (_, base, _) in self._started.items()}

    def stop(self) -> None:
        """Stop every server."""
        for process, _, _ in self._started.values():
            stop(process, grace=15)


def _start(
    script: Path, model_dir: Path, log_path: Path
) -> tuple[subprocess.Popen[bytes], str, Path]:
    """gunicorn serving ``script`` on a free 127.0.0.1 port, and its base URL."""
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
    return process, f"http://127.0.0.1:{port}", log_path


def _wait_until_answering(
    process: subprocess.Popen[bytes], base: str, log_path: Path, deadline: float
) -> None:
    """Return once ``GET /`` answers; raise if the server exits or time runs out."""
    while True:
        if process.poll() is not None:
            raise InferenceServerError(
                f"gunicorn exited with code {process.returncode}:\n"
                f"{log_path.read_text(errors='replace')[-5000:]}"
            )
        try:
            if requests.get(base + "/", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise InferenceServerError(
                f"the inference server did not answer on {base} within "
                f"{START_SECONDS} s:\n{log_path.read_text(errors='replace')[-5000:]}"
            )
        time.sleep(POLL_SECONDS)
