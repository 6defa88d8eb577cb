"""A loopback stand-in for an Azure ML online endpoint with two deployments.

It forwards ``POST /score`` to one of several inference servers: to the
deployment named in the ``azureml-model-deployment`` header when there is
one (as Azure ML does, whatever the traffic), else to the deployment with the
largest share of the current traffic map. It binds 127.0.0.1 only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

DEPLOYMENT_HEADER = "azureml-model-deployment"


@contextmanager
def run_router(
    upstreams: Mapping[str, str], traffic: Callable[[], Mapping[str, int]]
) -> Iterator[tuple[str, list[str]]]:
    """Serve the router; yield its scoring URI and the deployments it routed to.

    Args:
        upstreams: Deployment name -> that server's scoring URI.
        traffic: Returns the endpoint's traffic map at the time of a request.
    """
    routed: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            name = self.headers.get(DEPLOYMENT_HEADER)
            if name is None:
                shares = {n: s for n, s in traffic().items() if s > 0}
                name = max(shares, key=shares.__getitem__) if shares else None
            if name not in upstreams:
                self._answer(404, b'{"error": "no such deployment"}')
                return
            routed.append(name)
            answer = requests.post(
                upstreams[name],
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=60,
            )
            self._answer(answer.status_code, answer.content)

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() waits for serve_forever's next poll: 0.05 s, not the default 0.5 s.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/score", routed
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
