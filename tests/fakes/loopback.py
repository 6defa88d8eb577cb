"""What every loopback double shares: a threaded HTTP server on 127.0.0.1, the request record
and fault injection.

A double subclasses :class:`LoopbackServer`, answers in ``_handle(handler)``, appends a
:class:`Recorded` to ``self._requests`` for each request (under ``self._lock``) and asks
``self._take_fault(method, path)`` whether to answer an injected fault instead.
"""

from __future__ import annotations

import dataclasses
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

from .records import Recorded  # one request record for every double


@dataclasses.dataclass
class Fault:
    """An injected answer: see :meth:`LoopbackServer.inject`."""

    status: int
    times: int
    method: str | None
    path_contains: str | None
    retry_after: float | None
    apply_first: bool
    skip: int

    def applies(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path_contains is None or self.path_contains.lower() in path.lower()
        )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections end after this

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _any(self) -> None:
        self.server.double._handle(self)  # type: ignore[attr-defined]

    do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = do_HEAD = _any


class LoopbackServer:
    """Binds ``127.0.0.1`` on a free port at construction (so :attr:`url` is known at once);
    :meth:`start` serves from a daemon thread, :meth:`stop` closes the socket."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.double = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._requests: list[Recorded] = []
        self._faults: list[Fault] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    # -- recording and faults ------------------------------------------------------------

    def _record(self, h: BaseHTTPRequestHandler, *, is_write: bool) -> Recorded:
        """Read the request (a ``Content-Length`` body) and record it, status 0 until answered."""
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        split = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        headers = {k: v for k, v in h.headers.items() if k.lower() != "authorization"}
        record = Recorded(h.command.upper(), unquote(split.path), query, headers, body, 0, is_write)
        with self._lock:
            self._requests.append(record)
        return record

    @property
    def requests(self) -> list[Recorded]:
        """Every request in arrival order (copies)."""
        with self._lock:
            return [dataclasses.replace(r, query=dict(r.query)) for r in self._requests]

    @property
    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.is_write]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def inject(
        self,
        status: int,
        *,
        times: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
        retry_after: float | None = None,
        apply_first: bool = False,
        skip: int = 0,
    ) -> None:
        """Answer the next ``times`` matching requests (after ``skip`` matching ones) ``status``.

        Matching: ``method`` (any if None) and ``path_contains`` (case-insensitive substring of
        the decoded path). ``apply_first``: perform the request (state changes), then answer
        the fault. The double decides the body, and checks faults after authentication.
        """
        with self._lock:
            self._faults.append(
                Fault(status, times, method, path_contains, retry_after, apply_first, skip)
            )

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.applies(method, path):
                    if fault.skip:
                        fault.skip -= 1
                        return None
                    fault.times -= 1
                    return fault
        return None

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"{type(self).__name__}:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
