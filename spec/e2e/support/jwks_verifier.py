#!/usr/bin/python3
"""A verifying upstream built on the Python package (packages/python), keys
from the gateway's JWKS URL only, for spec/e2e/jwks_rotation_spec.lua.

    jwks_verifier.py --port P --jwks-url URL --audience AUD --max-age S --min-refresh S

Every verified request is answered 200 with {"kid": ...} (the kid of the
token it accepted); a rejection is the package's own 401/503 answer.
GET /__stats (not verified): {"verified", "rejected", "reasons", "kids",
"fetches"}, fetches being how many times the JWKS was fetched.
"""
import argparse
import base64
import json
import logging
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "packages", "python", "src"))

from werkzeug.serving import make_server  # noqa: E402

from upstream_jwt_verify import JwksSource, Verifier  # noqa: E402
from upstream_jwt_verify.flask import raw_target_request_handler  # noqa: E402
from upstream_jwt_verify.wsgi import WSGIMiddleware  # noqa: E402


def token_kid(token):
    # Read after the middleware accepted the token: only which key signed it.
    head = token.split(".", 1)[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))).get("kid")


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--jwks-url", required=True)
    ap.add_argument("--audience", required=True)
    ap.add_argument("--max-age", type=float, required=True)
    ap.add_argument("--min-refresh", type=float, required=True)
    args = ap.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    jwks = JwksSource(args.jwks_url, max_age=args.max_age, min_refresh_interval=args.min_refresh)
    verifier = Verifier(audience=args.audience, jwks=jwks)
    lock = threading.Lock()
    counts = {"verified": 0, "rejected": 0, "reasons": {}, "kids": {}}

    def on_reject(e):
        with lock:
            counts["rejected"] += 1
            counts["reasons"][e.reason] = counts["reasons"].get(e.reason, 0) + 1

    def app(environ, start_response):
        if environ.get("PATH_INFO") == "/__stats":
            with lock:
                body = json.dumps(dict(counts, fetches=jwks.fetches)).encode()
        else:
            kid = token_kid(environ["HTTP_X_UPSTREAM_JWT"])
            with lock:
                counts["verified"] += 1
                counts["kids"][kid] = counts["kids"].get(kid, 0) + 1
            body = json.dumps({"kid": kid}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    wrapped = WSGIMiddleware(app, verifier, exempt=[b"/__stats"], on_reject=on_reject)
    server = make_server("127.0.0.1", args.port, wrapped, threaded=True,
                         request_handler=raw_target_request_handler())
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
