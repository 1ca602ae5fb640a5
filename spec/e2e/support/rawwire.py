#!/usr/bin/python3
"""Raw-socket HTTP/1.1 ends for the framing specs: a client that sends exactly
the bytes it is given (curl will not send `Content_Length: 0` beside a chunked
body) and an upstream that records exactly the bytes it receives.

    rawwire.py upstream PORT
        Answers every request with JSON: {"raw": base64 of the request bytes
        as received (head and body), "headers": [[name, value], ...] in the
        order received, "body_length": N, "body_sha256": base64url}. The
        body is framed the way an HTTP/1.1 server must frame it: by
        Transfer-Encoding: chunked, else by the header named exactly
        Content-Length, else none. GET /__stats answers {"requests": N} and
        is not counted.

    rawwire.py send PORT < REQUEST
        Sends stdin as it is, reads the response until the server closes
        (send `Connection: close`), prints {"status": N|null, "headers":
        {lowercased name: value}, "body": text}.
"""
import base64
import hashlib
import json
import signal
import socket
import socketserver
import sys
import threading

lock = threading.Lock()
count = 0


def b64url_sha256(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.raw = b""

    def fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError
        self.buf += chunk

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        self.raw += out
        return out

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        i = self.buf.index(b"\r\n") + 2
        return self.take(i)


def read_request(c):
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += c.line()
    lines = head.split(b"\r\n")[:-2]
    request_line = lines[0].decode("latin-1")
    headers = []
    for line in lines[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers.append([name, value.strip(" \t")])
    chunked = any(n.lower() == "transfer-encoding" and "chunked" in v.lower() for n, v in headers)
    lengths = [v for n, v in headers if n.lower() == "content-length"]
    body = b""
    if chunked:
        while True:
            size = int(c.line().split(b";")[0].strip(), 16)
            if size == 0:
                while c.line() != b"\r\n":
                    pass
                break
            body += c.take(size)
            c.take(2)
    elif lengths:
        body = c.take(int(lengths[0]))
    return request_line, headers, body


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        global count
        c = Conn(self.request)
        try:
            request_line, headers, body = read_request(c)
        except (EOFError, ValueError, ConnectionError):
            return
        if request_line.startswith("GET /__stats "):
            with lock:
                out = {"requests": count}
        else:
            with lock:
                count += 1
            out = {"request_line": request_line, "headers": headers,
                   "raw": base64.b64encode(c.raw).decode(),
                   "body_length": len(body), "body_sha256": b64url_sha256(body)}
        data = json.dumps(out).encode()
        self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(data) + data)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def dechunk(body):
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


def send(port):
    request = sys.stdin.buffer.read()
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(30)
    s.sendall(request)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    status = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = dechunk(body)
    print(json.dumps({"status": status, "headers": headers,
                      "body": body.decode("utf-8", "replace")}))


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "upstream":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with Server(("127.0.0.1", port), Handler) as server:
            server.serve_forever()
    elif mode == "send":
        send(port)
    else:
        sys.exit("usage: rawwire.py upstream PORT | send PORT < REQUEST")


if __name__ == "__main__":
    main()
