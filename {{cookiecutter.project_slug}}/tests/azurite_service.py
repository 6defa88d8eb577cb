"""Azurite, the Azure Storage emulator, as the integration tests run it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prerequisites import missing

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Azurite's documented development account (public, not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_SECONDS = 30


class Azurite:
    """A running Azurite blob service on 127.0.0.1."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.blob_endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
        self.connection_string = (
            "DefaultEndpointsProtocol=http;"
            f"AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={self.blob_endpoint};"
        )


def azurite_command() -> str | None:
    """The project's own Azurite (installed by `npm ci`), else one on PATH."""
    local = PROJECT_ROOT / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    return shutil.which("azurite-blob")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen[bytes], grace: float = 10) -> None:
    """Stop a server this test run started, by its PID: terminate, then kill
    it if it has not exited after ``grace`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def unavailable(reason: str) -> None:
    """Azurite cannot be used: fail under CI, else skip with how to install it."""
    missing("Azurite", reason, f"`npm ci` in {PROJECT_ROOT} (Node 22 or later)")


def _wait_until_listening(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Azurite exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(
        f"Azurite did not listen on port {port} within {START_SECONDS} s"
    )


@contextmanager
def run_azurite(log_dir: Path) -> Iterator[Azurite]:
    """Start Azurite's blob service on a free 127.0.0.1 port; stop it on exit."""
    command = azurite_command()
    if command is None:
        unavailable("azurite-blob was not found in node_modules/.bin or on PATH")
    port = free_port()
    log_path = log_dir / "azurite.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                command,
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(port),
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--silent",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            _wait_until_listening(process, port)
        except RuntimeError as error:
            unavailable(f"{error}; its output: {log_path.read_text(errors='replace')}")
        yield Azurite(port)
    finally:
        stop(process)
