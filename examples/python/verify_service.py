#!/usr/bin/python3
"""Upstream service (Flask) that trusts a request only when Kong's upstream-jwt
token proves it came through the gateway, unaltered, recently, and for this
service. All of the checking is the upstream-jwt-verify package; this file is
configuration and one view.

    verify_service.py --audience orders --port 9000      # HS256, secret from $UPSTREAM_JWT_SECRET
    verify_service.py --audience orders --alg ES256 --key gw-2024=gateway-pub.pem
    verify_service.py --audience orders --alg ES256 --jwks-url https://kong.internal/jwks.json
    verify_service.py --audience orders --redis-url redis://redis:6379/0   # replay guard shared by replicas

Answers every request with the verified claims as JSON (200), or
{"error": reason} with 401 (503 when the replay store is full or down).
Install the package with `pip install packages/python` (see README.md); run
from a checkout, this file finds it there.
"""

import argparse
import os
import sys
import threading

try:
    import upstream_jwt_verify  # noqa: F401
except ImportError:  # a checkout without the package installed
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packages", "python", "src"))

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from upstream_jwt_verify import (ALGORITHMS, InMemoryReplayStore, RedisReplayStore, Verifier,
                                 keys_from_jwks)
from upstream_jwt_verify.flask import UpstreamJWT, raw_target_request_handler, upstream_claims


def build_verifier(args) -> Verifier:
    replay = None
    if args.redis_url:
        replay = RedisReplayStore.from_url(args.redis_url)
    elif args.reject_replay:
        replay = InMemoryReplayStore(args.replay_capacity)
    v = Verifier(issuer=args.issuer, audience=args.audience, leeway=args.leeway,
                 max_lifetime=args.max_lifetime, replay_store=replay, jwks_url=args.jwks_url)
    for spec in args.key or []:
        kid, _, path = spec.rpartition("=")
        with open(path, "rb") as f:
            v.add_key(args.alg, f.read(), kid or None)
    for path in args.jwks or []:
        with open(path, "rb") as f:
            v.keys.extend(k for k in keys_from_jwks(f.read(), skip_unusable=True) if k.alg == args.alg)
    if not len(v.keys) and not args.jwks_url:
        secret = os.environ.get(args.secret_env)
        if not secret:
            sys.exit(f"verify_service: no key: give --key/--jwks/--jwks-url or set ${args.secret_env}")
        # Kid-less: accepts whatever key_id the gateway sets (examples/kong.yml sets one).
        v.add_key(args.alg, secret.encode("utf-8"))
    return v


def build_app(args) -> Flask:
    app = Flask("verify_service")
    app.url_map.merge_slashes = False  # "//x" is a path of its own, bound as such
    counts = {"requests": 0, "verified": 0, "rejected": 0}
    lock = threading.Lock()

    def count(key):
        with lock:
            counts["requests"] += 1
            counts[key] += 1

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    @app.route("/", defaults={"_p": ""}, methods=methods, provide_automatic_options=False)
    @app.route("/<path:_p>", methods=methods, provide_automatic_options=False)
    def claims(_p):
        count("verified")
        return jsonify(upstream_claims())

    @app.route("/__stats", methods=["GET"])
    def stats():
        with lock:
            return jsonify(counts)

    UpstreamJWT(app, build_verifier(args), header=args.header, on_reject=lambda e: count("rejected"),
                exempt=[b"/__stats"] if args.stats else [])
    return app


def main(argv):
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=int(env("PORT", "9000")))
    ap.add_argument("--listen", default=env("LISTEN", "127.0.0.1"))
    ap.add_argument("--alg", default=env("UPSTREAM_JWT_ALG", "HS256"), choices=ALGORITHMS)
    ap.add_argument("--key", action="append", metavar="[KID=]FILE",
                    help="secret bytes (HS*) or PEM public key; repeat for rotation")
    ap.add_argument("--jwks", action="append", metavar="FILE", help="JWKS file with the gateway's public keys")
    ap.add_argument("--jwks-url", default=env("UPSTREAM_JWT_JWKS_URL"), help="JWKS URL (cached, refreshed on unknown kid)")
    ap.add_argument("--secret-env", default="UPSTREAM_JWT_SECRET",
                    help="env var holding the HS* secret when no key is given (default %(default)s)")
    ap.add_argument("--issuer", default=env("UPSTREAM_JWT_ISSUER", "kong"))
    ap.add_argument("--audience", default=env("UPSTREAM_JWT_AUDIENCE"),
                    help="this service's name as the gateway knows it (required)")
    ap.add_argument("--leeway", type=int, default=int(env("UPSTREAM_JWT_LEEWAY", "5")))
    ap.add_argument("--max-lifetime", type=int, default=3600)
    ap.add_argument("--header", default=env("UPSTREAM_JWT_HEADER", "X-Upstream-JWT"))
    ap.add_argument("--reject-replay", action="store_true", help="accept each jti once (in this process)")
    ap.add_argument("--replay-capacity", type=int, default=100000)
    ap.add_argument("--redis-url", default=env("UPSTREAM_JWT_REDIS_URL"),
                    help="accept each jti once across every replica sharing this Redis")
    ap.add_argument("--stats", action="store_true", help="serve request counters at GET /__stats")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if not args.audience:
        ap.error("--audience (or $UPSTREAM_JWT_AUDIENCE) is required")
    import logging

    logging.basicConfig(level=logging.ERROR if args.quiet else logging.INFO,
                        format="verify-service-python: %(message)s")
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server(args.listen, args.port, build_app(args), threaded=True,
                         request_handler=raw_target_request_handler())
    sys.stderr.write("verify-service-python: listening on %s:%d\n" % (args.listen, args.port))
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        pass
