"""Microsoft's Azure ML inference server under gunicorn on 127.0.0.1.

The smoke-test tests and the template's score benchmark run it this way
(``azmlinfsrv`` would bind 0.0.0.0).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from azurite_service import free_port, stop

START_SECONDS = 90
POLL_SECONDS = 0.1  # how often to ask a starting server whether it answers
# Microsoft's server app, without its false "extra keys" warning (see local_server).
APP = "{{ cookiecutter.module_name }}.deployment.local_server:app"


# Runs in a fresh interpreter: the server reads its configuration when it is
# imported and calls init() (or sys.exit(3)) when the app is created.
SERVER_CLIENT = """
import json, sys
from azureml_inference_server_http.server.create_app import create

requests = json.load(open(sys.argv[1]))
client = create().test_client()
answers = {}
for name, body in requests.items():
    if body is None:
        response = client.get("/")
    else:
        response = client.post("/score", data=body, content_type="application/json")
    answers[name] = {"status": response.status_code, "body": response.get_data(as_text=True)}
json.dump(answers, open(sys.argv[2], "w"))
"""

# Runs in a fresh interpreter: which heavy modules loading score.py by its path imports.
LOAD_BY_PATH = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("entry_module", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
heavy = (sys.argv[2], "azure.", "azureml.core")
print(json.dumps(sorted(name for name in sys.modules if name.startswith(heavy))))
"""


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


Command = tuple[list[str], Path, dict[str, str]]


def server_command(
    script: Path,
    model_dir: Path,
    requests: dict[str, str | None],
    work_dir: Path,
    variables: dict[str, str] | None = None,
) -> Command:
    """The command, folder and environment that send ``requests`` (None: GET /)
    to ``script`` in a fresh inference server; it writes answers.json there."""
    requests_file = work_dir / "requests.json"
    requests_file.write_text(json.dumps(requests))
    env = {
        **os.environ,
        "AZUREML_ENTRY_SCRIPT": str(script),
        "AZUREML_MODEL_DIR": str(model_dir),
        "AML_APP_ROOT": str(script.parent),
        **(variables or {}),
    }
    answers = work_dir / "answers.json"
    command = [sys.executable, "-c", SERVER_CLIENT, str(requests_file), str(answers)]
    return command, work_dir, env


def answers_in(work_dir: Path) -> dict[str, dict[str, Any]]:
    """The answers a server_command run wrote, if it got that far."""
    answers_file = work_dir / "answers.json"
    return json.loads(answers_file.read_text()) if answers_file.exists() else {}


class StartedRuns:
    """Commands started side by side and not yet waited for, so that they run
    while the caller does other work; ``wait()`` returns once all have ended."""

    def __init__(self, commands: dict[str, Command]) -> None:
        """Start each ``name: (command, folder, environment)``."""
        self._folders = {name: folder for name, (_, folder, _) in commands.items()}
        self._started: dict[str, subprocess.Popen[str]] = {}
        try:
            for name, (command, folder, env) in commands.items():
                self._started[name] = subprocess.Popen(
                    command,
                    cwd=folder,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
        except BaseException:
            self.stop()
            raise

    def wait(
        self, timeout: float = START_SECONDS
    ) -> dict[str, tuple[subprocess.CompletedProcess[str], Path]]:
        """Each finished run and its folder, by name."""
        runs = {}
        for name, process in self._started.items():
            stdout, stderr = process.communicate(timeout=timeout)
            finished = subprocess.CompletedProcess(
                process.args, process.returncode, stdout, stderr
            )
            runs[name] = (finished, self._folders[name])
        return runs

    def stop(self) -> None:
        """Stop the runs that are still going."""
        for process in self._started.values():
            stop(process, grace=5)
