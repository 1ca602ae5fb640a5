#!/usr/bin/python3
"""Bounded load on loopback for spec/e2e/jwks_rotation_spec.lua.

    jwks_load.py --out FILE --stop-file FILE --max-seconds S --max-requests N
                 --workers W URL [URL ...]

W threads, each sending GET requests round-robin over the URLs, one
connection per request (so a gateway reload's graceful worker shutdown never
meets a reused keep-alive connection: what is measured is the gateway and the
verifiers, not client connection reuse). Stops when FILE --stop-file exists,
after --max-seconds, or after --max-requests in total, whichever is first,
then writes one JSON object to --out (atomically, via a rename):
  {"requests", "ok", "failed", "statuses": {code: n}, "errors": {name: n},
   "kids": {url: {kid: n}}, "samples": [first failures], "seconds"}
"""
import argparse
import http.client
import json
import os
import threading
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--stop-file", required=True)
    ap.add_argument("--max-seconds", type=float, required=True)
    ap.add_argument("--max-requests", type=int, required=True)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("urls", nargs="+")
    a = ap.parse_args()

    lock = threading.Lock()
    res = {"requests": 0, "ok": 0, "failed": 0, "statuses": {}, "errors": {},
           "kids": {u: {} for u in a.urls}, "samples": []}
    started = time.monotonic()
    deadline = started + a.max_seconds

    def take():
        with lock:
            if res["requests"] >= a.max_requests:
                return None
            n = res["requests"]
            res["requests"] += 1
            return a.urls[n % len(a.urls)]

    def record(url, status, body, error):
        with lock:
            if error is None and 200 <= status < 300:
                res["ok"] += 1
                kid = json.loads(body).get("kid")
                res["kids"][url][kid] = res["kids"][url].get(kid, 0) + 1
                return
            res["failed"] += 1
            if error is None:
                res["statuses"][str(status)] = res["statuses"].get(str(status), 0) + 1
            else:
                res["errors"][error] = res["errors"].get(error, 0) + 1
            if len(res["samples"]) < 10:
                res["samples"].append({"url": url, "status": status, "error": error,
                                       "body": body[:300].decode("utf-8", "replace"),
                                       "at_s": round(time.monotonic() - started, 2)})

    def worker():
        while time.monotonic() < deadline and not os.path.exists(a.stop_file):
            url = take()
            if url is None:
                return
            u = urllib.parse.urlsplit(url)
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
            status, body, error = 0, b"", None
            try:
                conn.request("GET", u.path, headers={"Connection": "close"})
                r = conn.getresponse()
                status, body = r.status, r.read()
            except Exception as e:  # every failure counts; its kind is reported
                error = type(e).__name__
            finally:
                conn.close()
            record(url, status, body, error)

    threads = [threading.Thread(target=worker) for _ in range(a.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with lock:
        res["requests"] = res["ok"] + res["failed"]
        res["seconds"] = round(time.monotonic() - started, 2)
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(res, f)
        os.rename(tmp, a.out)


if __name__ == "__main__":
    main()
