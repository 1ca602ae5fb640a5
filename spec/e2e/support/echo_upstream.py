#!/usr/bin/python3
"""Test upstream for the end-to-end specs: answers every request with what it
received (method, raw request target, headers, body length and digest) and
counts requests, so a spec can prove what reached the upstream, or that
nothing did. GET /__stats (sent directly, not through the gateway) returns
{"requests": N} and is not counted.

    echo_upstream.py PORT
"""
import base64
import hashlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
count = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def read_body(self):
        h = hashlib.sha256()
        n = 0
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data = self.rfile.read(size)
                h.update(data)
                n += len(data)
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining:
                data = self.rfile.read(min(remaining, 1 << 16))
                if not data:
                    break
                h.update(data)
                n += len(data)
                remaining -= len(data)
        return n, base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()

    def handle_any(self):
        global count
        if self.path == "/__stats" and self.command == "GET":
            with lock:
                out = json.dumps({"requests": count}).encode()
        else:
            n, digest = self.read_body()
            with lock:
                count += 1
            headers = {}
            for k, v in self.headers.items():
                headers.setdefault(k.lower(), []).append(v)
            out = json.dumps({"method": self.command, "target": self.path,
                              "headers": headers, "body_length": n,
                              "body_sha256": digest}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
