"""A real HTTP server on 127.0.0.1 for download tests (no network needed)."""
from __future__ import annotations

import http.server
import threading
import time
from contextlib import contextmanager


class PayloadHandler(http.server.BaseHTTPRequestHandler):
    """Subclasses answer GET; ``send_payload`` streams bytes in 64 KiB pieces, ``delay`` s apart."""

    def send_payload(self, body: bytes, delay: float = 0.0) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for i in range(0, len(body), 65536):
                self.wfile.write(body[i:i + 65536])
                time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client cancelled

    def log_message(self, *args):
        pass


@contextmanager
def serve(handler):
    """Serve ``handler`` on a free port; yields the base URL, stops the server afterwards."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
