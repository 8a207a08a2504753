"""Misbehaving input hosts on loopback: one that trickles its body a byte at a
time, one that streams without end. Each serves in its own thread and stops
when the client hangs up or after a bounded number of bytes."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class TrickleHost:
    """Declares `size` bytes, then sends one byte every `interval` seconds.

    `hung_up` is set when the client closes the connection before the body is
    complete; `sent` counts the body bytes that went out."""

    def __init__(self, size: int = 30, interval: float = 2.0, *, endless: bool = False):
        host = self
        self.size, self.interval, self.endless = size, interval, endless
        self.sent = 0
        self.hung_up = threading.Event()
        self.finished = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if not host.endless:
                    self.send_header("Content-Length", str(host.size))
                self.end_headers()
                try:
                    for _ in range(host.size):
                        self.wfile.write(b" " * (4096 if host.endless else 1))
                        self.wfile.flush()
                        host.sent += 1
                        if host.interval:
                            time.sleep(host.interval)
                    host.finished.set()
                except (BrokenPipeError, ConnectionResetError):
                    host.hung_up.set()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/input.json"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "TrickleHost":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
