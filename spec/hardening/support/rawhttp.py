#!/usr/bin/python3
"""Hostile HTTP clients for the bad-input specs, on a raw socket (curl will
not lie about Content-Length or dribble a body).

    rawhttp.py PORT CASE PATH

CASE:
  cl_lie_2g          Content-Length: 2147483648, 1 KiB sent, then wait
  cl_lie_short       Content-Length: 100000, 1000 bytes sent, then close
  chunked_truncated  chunked body, first 4 KiB chunk, then close
  slow_body          2000 bytes in 20 writes 50 ms apart (1 s in all)

Prints {"status": N|null, "body": "...", "elapsed_s": S} as JSON.
"""
import json
import socket
import sys
import time


def read_response(s, timeout):
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        if len(body) >= int(line.split(b":")[1]):
                            return data
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def main():
    port, case, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.time()
    head = "POST %s HTTP/1.1\r\nHost: hardening\r\nContent-Type: application/octet-stream\r\n" % path
    resp = b""
    if case == "cl_lie_2g":
        s.sendall((head + "Content-Length: 2147483648\r\n\r\n").encode() + b"x" * 1024)
        resp = read_response(s, 10)
    elif case == "cl_lie_short":
        s.sendall((head + "Content-Length: 100000\r\n\r\n").encode() + b"x" * 1000)
        time.sleep(0.3)
        s.close()
        s = None
    elif case == "chunked_truncated":
        s.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode()
                  + b"1000\r\n" + b"y" * 4096 + b"\r\n")
        time.sleep(0.3)
        s.close()
        s = None
    elif case == "slow_body":
        s.sendall((head + "Content-Length: 2000\r\n\r\n").encode())
        for i in range(20):
            time.sleep(0.05)
            s.sendall(bytes([65 + i]) * 100)
        resp = read_response(s, 10)
    else:
        sys.exit("unknown case " + case)
    if s is not None:
        s.close()
    status = None
    body = b""
    if resp:
        line, _, rest = resp.partition(b"\r\n")
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            status = int(parts[1])
        body = rest.partition(b"\r\n\r\n")[2]
    print(json.dumps({"status": status, "body": body.decode("utf-8", "replace"),
                      "elapsed_s": round(time.time() - t0, 3)}))


if __name__ == "__main__":
    main()
