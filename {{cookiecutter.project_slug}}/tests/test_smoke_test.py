"""The smoke test against the inference server under gunicorn and bad servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from azurite_service import free_port
from deployment_router import run_router

from {{ cookiecutter.module_name }}.deployment import (
    smoke_test,
)

# Two rows of the iris sample, which the fixture model is trained on; the
# project's own .azureml/test.json is tested in test_project_model.py.
TEST_PAYLOAD = Path(__file__).parent / "data" / "iris_payload.json"
SMOKE_TEST_MODULE = smoke_test.__name__
# The folder that holds the package, so `python -m` finds it from any directory.
PACKAGE_PARENT = Path(smoke_test.__file__).resolve().parents[2]
FAKE_KEY = "fake-key-for-tests-7f3a9c"  # not a secret: only local servers see it


def run_smoke_test(
    *args: str, key: str | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m <package>.deployment.smoke_test ARGS``; the key goes in SCORING_KEY."""
    env = {k: v for k, v in os.environ.items() if k != "SCORING_KEY"}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH")])
    )
    if key is not None:
        env["SCORING_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", SMOKE_TEST_MODULE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# -- the real inference server ----------------------------------------------------


# scoring_uri (conftest.py): score.py with the trained model under gunicorn.


def test_smoke_test_passes_against_the_local_server(scoring_uri: str) -> None:
    result = run_smoke_test(
        "--scoring-uri", scoring_uri, "--payload", str(TEST_PAYLOAD), key=FAKE_KEY
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Smoke test OK")
    assert "2 predictions for 2 rows" in lines[0]
    assert FAKE_KEY not in result.stdout + result.stderr


# -- a named deployment behind an endpoint: blue (good) and green (broken) ------


@pytest.fixture
def endpoint(blue_green_servers: dict[str, str]) -> Iterator[tuple[str, list[str]]]:
    """A loopback endpoint: all traffic to blue; the header picks a deployment."""
    with run_router(blue_green_servers, lambda: {"blue": 100, "green": 0}) as routed:
        yield routed


def test_smoke_test_reaches_the_named_deployment_at_0_percent(
    endpoint: tuple[str, list[str]],
) -> None:
    uri, routed = endpoint
    payload = smoke_test.load_payload(TEST_PAYLOAD)

    with pytest.raises(smoke_test.SmokeTestError, match="answered 400") as caught:
        smoke_test.smoke_test(uri, payload, timeout=30, deployment="green")

    assert "each row of data must hold 3 values" in str(caught.value)
    assert routed == ["green"]


def test_smoke_test_without_a_deployment_follows_the_traffic(
    endpoint: tuple[str, list[str]],
) -> None:
    uri, routed = endpoint
    payload = smoke_test.load_payload(TEST_PAYLOAD)

    assert len(smoke_test.smoke_test(uri, payload, timeout=30)) == 2
    assert routed == ["blue"]


@pytest.mark.parametrize(("deployment", "code"), [("blue", 0), ("green", 1)])
def test_smoke_test_command_line_tests_one_deployment(
    endpoint: tuple[str, list[str]], deployment: str, code: int
) -> None:
    uri, routed = endpoint

    result = run_smoke_test(
        *("--scoring-uri", uri, "--payload", str(TEST_PAYLOAD)),
        *("--deployment", deployment, "--timeout", "30"),
    )

    assert result.returncode == code, result.stdout + result.stderr
    assert routed == [deployment]
    if code == 0:
        assert f"(deployment {deployment})" in result.stdout


def test_library_returns_the_predictions(scoring_uri: str) -> None:
    payload = smoke_test.load_payload(TEST_PAYLOAD)
    assert smoke_test.smoke_test(scoring_uri, payload, timeout=30) == [
        "setosa",
        "virginica",
    ]


def test_server_400_fails_at_once_with_its_reason(scoring_uri: str) -> None:
    with pytest.raises(smoke_test.SmokeTestError) as caught:
        smoke_test.smoke_test(scoring_uri, {"data": [[1.0, 2.0]]}, timeout=30)
    message = str(caught.value)
    assert "answered 400" in message
    assert "4 values" in message
    assert "compare it with the model's columns" in message


def test_closed_port_fails_fast_with_what_to_check() -> None:
    uri = f"http://127.0.0.1:{free_port()}/score"
    started = time.monotonic()
    result = run_smoke_test(
        "--scoring-uri", uri, "--payload", str(TEST_PAYLOAD), "--timeout", "1"
    )
    assert result.returncode == 1
    assert time.monotonic() - started < 30
    assert "Smoke test FAILED" in result.stderr
    assert f"could not reach {uri}" in result.stderr
    assert "check the URI" in result.stderr


# -- small local servers that answer badly ----------------------------------------


@dataclass
class FakeServer:
    """Answers POSTs with ``answers`` in turn (the last one repeats)."""

    answers: list[tuple[int, str]]
    uri: str = ""
    seen: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeServer]]:
    """Start fake scoring servers on 127.0.0.1; all stop after the test."""
    running: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(*answers: tuple[int, str]) -> FakeServer:
        fake = FakeServer(list(answers))

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.seen.append(dict(self.headers))
                status, body = fake.answers[min(len(fake.seen), len(fake.answers)) - 1]
                body = body.replace("$AUTH", self.headers.get("Authorization", ""))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # shutdown() waits for serve_forever's next poll: 0.05 s, not the default 0.5 s.
        thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), daemon=True
        )
        thread.start()
        running.append((server, thread))
        fake.uri = f"http://127.0.0.1:{server.server_address[1]}/score"
        return fake

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_wrong_number_of_predictions_fails(
    fake_server: Callable[..., FakeServer],
) -> None:
    fake = fake_server((200, '{"predictions": ["setosa"]}'))
    result = run_smoke_test("--scoring-uri", fake.uri, "--payload", str(TEST_PAYLOAD))
    assert result.returncode == 1
    assert "answered 1 predictions for 2 rows" in result.stderr
    assert len(fake.seen) == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<html>hello</html>", "not JSON"),
        ('{"result": [1, 2]}', 'without a "predictions" list'),
    ],
)
def test_200_without_predictions_fails(
    fake_server: Callable[..., FakeServer], body: str, expected: str
) -> None:
    fake = fake_server((200, body))
    with pytest.raises(smoke_test.SmokeTestError, match=expected):
        smoke_test.smoke_test(fake.uri, {"data": [[1, 2, 3, 4]]}, timeout=5)


def test_5xx_is_retried_until_the_timeout(
    fake_server: Callable[..., FakeServer],
) -> None:
    fake = fake_server((500, '{"message": "init() failed"}'))
    started = time.monotonic()
    result = run_smoke_test(
        "--scoring-uri", fake.uri, "--payload", str(TEST_PAYLOAD), "--timeout", "3"
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert "answered 500" in result.stderr
    assert "init() failed" in result.stderr
    assert "gave up after" in result.stderr
    assert "check the deployment's logs" in result.stderr
    assert len(fake.seen) >= 3
    assert 2.5 < elapsed < 30


def test_5xx_then_200_recovers(
    fake_server: Callable[..., FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smoke_test, "FIRST_WAIT", 0.05)
    fake = fake_server(
        (503, "warming up"), (502, "bad gateway"), (200, '{"predictions": [1, 2]}')
    )
    payload = {"data": [[1, 2, 3, 4], [5, 6, 7, 8]]}
    assert smoke_test.smoke_test(fake.uri, payload, timeout=10) == [1, 2]
    assert len(fake.seen) == 3


def test_401_fails_at_once_and_never_prints_the_key(
    fake_server: Callable[..., FakeServer],
) -> None:
    # The server echoes the Authorization header: the key must still not show.
    fake = fake_server((401, '{"error": "bad token: $AUTH"}'))
    result = run_smoke_test(
        "--scoring-uri", fake.uri, "--payload", str(TEST_PAYLOAD), key=FAKE_KEY
    )
    assert result.returncode == 1
    assert len(fake.seen) == 1
    assert fake.seen[0]["Authorization"] == f"Bearer {FAKE_KEY}"
    assert "answered 401" in result.stderr
    assert "SCORING_KEY" in result.stderr
    assert FAKE_KEY not in result.stdout + result.stderr


def test_key_argument_wins_over_the_variable(
    fake_server: Callable[..., FakeServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = fake_server((200, '{"predictions": ["a", "b"]}'))
    monkeypatch.setenv("SCORING_KEY", "from-the-variable")
    argv = ["--scoring-uri", fake.uri, "--payload", str(TEST_PAYLOAD)]
    assert smoke_test.main([*argv, "--key", "from-the-argument"]) == 0
    assert smoke_test.main(argv) == 0
    assert [seen["Authorization"] for seen in fake.seen] == [
        "Bearer from-the-argument",
        "Bearer from-the-variable",
    ]
    output = capsys.readouterr()
    assert "from-the-" not in output.out + output.err


def test_no_key_sends_no_authorization(
    fake_server: Callable[..., FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCORING_KEY", raising=False)
    fake = fake_server((200, '{"predictions": ["a", "b"]}'))
    argv = ["--scoring-uri", fake.uri, "--payload", str(TEST_PAYLOAD)]
    assert smoke_test.main(argv) == 0
    assert "Authorization" not in fake.seen[0]
    assert json.loads(TEST_PAYLOAD.read_text()) == smoke_test.load_payload(TEST_PAYLOAD)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "not found"),
        ("{not json", "not valid JSON"),
        ('{"data": []}', 'non-empty "data" list'),
    ],
)
def test_bad_payload_file_fails_before_any_request(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    expected: str,
) -> None:
    path = tmp_path / "payload.json"
    if content is not None:
        path.write_text(content)
    uri = f"http://127.0.0.1:{free_port()}/score"
    assert smoke_test.main(["--scoring-uri", uri, "--payload", str(path)]) == 1
    assert expected in capsys.readouterr().err


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("http://127.0.0.1:5001/score", smoke_test.LOCAL_TIMEOUT),
        ("http://localhost:5001/score", smoke_test.LOCAL_TIMEOUT),
        ("http://[::1]:5001/score", smoke_test.LOCAL_TIMEOUT),
        ("https://ep.westeurope.inference.ml.azure.com/score", 120.0),
        ("http://10.0.0.4:80/api/v1/service/x/score", 120.0),
    ],
)
def test_default_patience_is_short_only_on_this_machine(
    uri: str, expected: float
) -> None:
    assert smoke_test.default_timeout(uri) == expected


def test_local_server_that_is_not_running_fails_in_seconds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --timeout, the command gives a local URI LOCAL_TIMEOUT, not the
    120 s of a deployed endpoint (lowered here to 1 s, so the test takes 1 s;
    test_default_patience_is_short_only_on_this_machine checks its value)."""
    monkeypatch.setattr(smoke_test, "LOCAL_TIMEOUT", 1.0)
    uri = f"http://127.0.0.1:{free_port()}/score"
    started = time.monotonic()
    code = smoke_test.main(["--scoring-uri", uri, "--payload", str(TEST_PAYLOAD)])
    assert code == 1
    assert time.monotonic() - started < smoke_test.LOCAL_TIMEOUT + 15
    assert f"in {smoke_test.LOCAL_TIMEOUT:g} s" in capsys.readouterr().err
