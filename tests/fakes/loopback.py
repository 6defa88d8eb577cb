"""What every loopback double shares: a threaded HTTP server on 127.0.0.1, the request record
and fault injection.

A double subclasses :class:`LoopbackServer` and answers in ``_handle(handler)``: it records the
request with ``self._receive(handler)`` (which also waits ``latency``), asks
``self._take_fault(method, path)`` whether to answer an injected fault instead, and answers with
``self._reply(...)`` (which honours the fault's ``delay`` and ``drop``).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, Self
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
    drop: bool = False  # close the connection instead of answering
    delay: float = 0.0  # seconds to wait before answering
    message: str | None = None  # the error message, instead of the double's own

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not self.path_contains or self.path_contains.lower() in path.lower()


class LoopbackHandler(BaseHTTPRequestHandler):
    """Hands every request to the double's ``_handle``; a double may subclass it (its
    ``handler_class``) for another ``Server`` header or more methods."""

    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections end after this

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _any(self) -> None:
        self.server.double._handle(self)  # type: ignore[attr-defined]

    do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = do_HEAD = _any


def _read_body(headers: Mapping[str, str], rfile: BinaryIO) -> bytes:
    """The request body: Content-Length or de-chunked ``Transfer-Encoding: chunked``."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        parts = []
        while True:
            size_line = rfile.readline()
            if not size_line:
                break
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                break
            parts.append(rfile.read(size))
            rfile.readline()  # the CRLF after each chunk
        return b"".join(parts)
    length = int(headers.get("Content-Length") or 0)
    return rfile.read(length) if length > 0 else b""


class LoopbackServer:
    """Binds ``127.0.0.1`` on a free port at construction (so :attr:`url` is known at once);
    :meth:`start` serves from a daemon thread, :meth:`stop` closes the socket.

    ``latency`` (seconds, default 0): every answer waits that long after the request is recorded.
    """

    handler_class: type[LoopbackHandler] = LoopbackHandler

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class)
        self._server.daemon_threads = True
        self._server.double = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._requests: list[Recorded] = []
        self._received: list[float] = []
        self._faults: list[Fault] = []
        self.latency = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def _is_write(self, method: str, path: str) -> bool:
        """Whether a request is recorded as a write: any but GET and HEAD, unless overridden."""
        return method not in ("GET", "HEAD")

    # -- recording and answering ---------------------------------------------------------

    def _receive(self, h: BaseHTTPRequestHandler) -> Recorded:
        """Read the request and record it (status 0 until answered), then wait ``latency``."""
        body = _read_body(h.headers, h.rfile)
        split = urlsplit(h.path)
        method, path = h.command.upper(), unquote(split.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        headers = {k: v for k, v in h.headers.items() if k.lower() != "authorization"}
        record = Recorded(method, path, query, headers, body, 0, self._is_write(method, path))
        with self._lock:
            self._requests.append(record)
            self._received.append(time.monotonic())
        if self.latency:
            time.sleep(self.latency)
        return record

    def _reply(
        self,
        h: BaseHTTPRequestHandler,
        record: Recorded,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        fault: Fault | None = None,
    ) -> None:
        """Note ``status`` in ``record`` and answer (no body for HEAD); with a ``fault``, wait its
        ``delay`` first, and close the connection without an answer if it says ``drop``."""
        with self._lock:
            record.status = status
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.drop:
            h.close_connection = True
            return
        h.send_response(status)
        for name, value in headers:
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if record.method != "HEAD" and body:
            h.wfile.write(body)

    @property
    def requests(self) -> list[Recorded]:
        """Every request in arrival order (copies)."""
        with self._lock:
            return [dataclasses.replace(r, query=dict(r.query)) for r in self._requests]

    @property
    def writes(self) -> list[Recorded]:
        """The requests with ``is_write``."""
        return [r for r in self.requests if r.is_write]

    @property
    def received_times(self) -> list[float]:
        """When (``time.monotonic()``) each request of :attr:`requests` was received."""
        with self._lock:
            return list(self._received)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
            self._received.clear()

    # -- faults ----------------------------------------------------------------------------

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
        drop: bool = False,
        delay: float = 0.0,
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests (after ``skip`` matching ones) ``status``.

        Matching: ``method`` (any if None) and ``path_contains`` (case-insensitive substring of
        the decoded path). ``apply_first``: perform the request (state changes), then answer
        the fault; ``status`` 0 (only with ``apply_first``) answers what the request really
        gets. ``drop``: close the connection without an answer (a lost answer); ``delay``: wait
        that long before answering (an answer that comes after the client's timeout).
        ``message``: the error body's message (what a hostile service might say); else the
        double decides the body, and checks faults after authentication.
        """
        if status == 0 and not apply_first:
            raise ValueError("inject(0, ...) answers what the request gets: add apply_first=True")
        with self._lock:
            self._faults.append(
                Fault(
                    status, times, method, path_contains, retry_after, apply_first, skip, drop,
                    delay, message,
                )
            )  # fmt: skip

    def _take_fault(self, method: str, path: str) -> Fault | None:
        """The fault to answer this request with, if any (spent faults are dropped)."""
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.matches(method, path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.times -= 1
                    self._faults = [f for f in self._faults if f.times > 0]
                    return fault
        return None

    # -- lifetime --------------------------------------------------------------------------

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
