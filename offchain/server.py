"""Serves results by content hash over HTTP: GET /results/0x<keccak256>.

A client fetches the full output and checks it against the hash the worker
attested on-chain, so the server needs no trust and no authentication.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from offchain.errors import NeuralCommonsError
from offchain.store import ContentStore


class ResultServer:
    """A small threaded HTTP server over a ContentStore, started in the background."""

    def __init__(self, store: ContentStore, host: str = "127.0.0.1", port: int = 0):
        store_ref = store

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                prefix = "/results/"
                if not self.path.startswith(prefix):
                    return self._reply(404, b"not found: use /results/0x<keccak256>\n")
                try:
                    data = store_ref.get(self.path[len(prefix):])
                except NeuralCommonsError as exc:
                    return self._reply(404, f"{exc}\n".encode())
                return self._reply(200, data, "application/octet-stream")

            def _reply(self, status: int, body: bytes, content_type: str = "text/plain"):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep request logs out of demo output
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def result_url(self, digest: str) -> str:
        return f"{self.url}/results/{digest}"

    def start(self) -> "ResultServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
