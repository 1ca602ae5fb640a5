#!/usr/bin/python3
"""Upstream service (Flask) that trusts a request only when Kong's upstream-jwt
plugin proves it came through the gateway, unaltered, recently, and for this
service: a JWT (format jwt) or an RFC 9421 signature (format
http-message-signature). All of the checking is the upstream-jwt-verify
package; this file is configuration and one view.

    verify_service.py --audience orders --port 9000      # HS256, secret from $UPSTREAM_JWT_SECRET
    verify_service.py --audience orders --alg ES256 --key gw-2024=gateway-pub.pem
    verify_service.py --audience orders --alg ES256 --jwks-url https://kong.internal/jwks.json
    verify_service.py --audience orders --redis-url redis://redis:6379/0   # replay guard shared by replicas
    verify_service.py --format http-message-signature --key-id demo-1     # RFC 9421, secret from the env

Answers every request with the verified claims (jwt) or the verified
signature's summary (http-message-signature) as JSON (200), or
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

from flask import Flask, jsonify
from werkzeug.serving import make_server

from upstream_jwt_verify import (ALGORITHMS, JTI_PREFIX, NONCE_PREFIX, ConfigurationError, InMemoryReplayStore,
                                 RedisReplayStore, Verifier, keys_from_jwks)
from upstream_jwt_verify.flask import UpstreamJWT, raw_target_request_handler, upstream_claims, upstream_signature
from upstream_jwt_verify.httpsig import FORMAT as HTTPSIG, SignatureVerifier


def replay_store(args):
    if args.redis_url:
        # The packages' one Redis layout: jti and nonce in namespaces of their own.
        return RedisReplayStore.from_url(args.redis_url, prefix=NONCE_PREFIX if args.format == HTTPSIG else JTI_PREFIX)
    if args.reject_replay:
        return InMemoryReplayStore(args.replay_capacity)
    return None


def die(message: str) -> None:
    sys.stderr.write(f"verify-service-python: {message}\n")
    sys.exit(2)


def secret_from_env(args) -> bytes:
    secret = os.environ.get(args.secret_env)
    if not secret:
        die(f"no key: give --key/--jwks/--jwks-url or set ${args.secret_env}")
    return secret.encode("utf-8")


def build_signature_verifier(args) -> SignatureVerifier:
    v = SignatureVerifier(label=args.label, tag=args.tag, leeway=args.leeway, max_age=args.max_age,
                          replay_store=replay_store(args), jwks_url=args.jwks_url)
    for spec in args.key or []:
        kid, eq, path = spec.rpartition("=")
        with open(path, "rb") as f:
            v.add_key(args.alg, f.read(), kid if eq else args.key_id)
    for path in args.jwks or []:
        with open(path, "rb") as f:
            v.add_jwks(f.read())
    if not (args.key or args.jwks or args.jwks_url):
        # RFC 9421 has no kid fallback: the key carries the gateway's key_id.
        v.add_key(args.alg, secret_from_env(args), args.key_id)
    return v


def build_verifier(args) -> Verifier:
    if args.format == HTTPSIG:
        return build_signature_verifier(args)
    v = Verifier(issuer=args.issuer, audience=args.audience, leeway=args.leeway,
                 max_lifetime=args.max_lifetime, replay_store=replay_store(args), jwks_url=args.jwks_url,
                 check_headers=True if args.check_headers else None,
                 required_headers=[h for h in (args.require_headers or "").split(",") if h])
    for spec in args.key or []:
        kid, _, path = spec.rpartition("=")
        with open(path, "rb") as f:
            v.add_key(args.alg, f.read(), kid or None)
    for path in args.jwks or []:
        with open(path, "rb") as f:
            v.keys.extend(k for k in keys_from_jwks(f.read(), skip_unusable=True) if k.alg == args.alg)
    if not len(v.keys) and not args.jwks_url:
        # Kid-less: accepts whatever key_id the gateway sets (examples/kong.yml sets one).
        v.add_key(args.alg, secret_from_env(args))
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
    def verified(_p):
        count("verified")
        if args.format != HTTPSIG:
            return jsonify(upstream_claims())
        sig = upstream_signature()
        # consumer: each value only when the signature covers its header.
        return jsonify(label=sig.label, keyid=sig.keyid, alg=sig.alg, created=sig.created, expires=sig.expires,
                       nonce=sig.nonce, tag=sig.tag, components=sig.components, consumer=sig.consumer)

    @app.route("/__stats", methods=["GET"])
    def stats():
        with lock:
            return jsonify(counts)

    UpstreamJWT(app, build_verifier(args), header=args.header, max_body_size=args.max_body_size,
                on_reject=lambda e: count("rejected"), exempt=[b"/__stats"] if args.stats else [])
    return app


def main(argv):
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=env("PORT") or "9000")
    ap.add_argument("--format", default=env("UPSTREAM_JWT_FORMAT") or "jwt", choices=["jwt", HTTPSIG],
                    help="the plugin's format (default $UPSTREAM_JWT_FORMAT or jwt)")
    ap.add_argument("--listen", default=env("LISTEN", "127.0.0.1"))
    ap.add_argument("--alg", default=env("UPSTREAM_JWT_ALG", "HS256"), choices=ALGORITHMS)
    ap.add_argument("--key", action="append", metavar="[KID=]FILE",
                    help="secret bytes (HS*) or PEM public key; repeat for rotation")
    ap.add_argument("--key-id", default=env("UPSTREAM_JWT_KEY_ID", ""),
                    help="http-message-signature: the gateway's key_id, for a --key without KID= and the "
                         "secret from the environment (default $UPSTREAM_JWT_KEY_ID, else none)")
    ap.add_argument("--label", default=env("UPSTREAM_JWT_SIGNATURE_LABEL") or None,
                    help="http-message-signature: the signature to verify (default: the only one)")
    ap.add_argument("--tag", default=env("UPSTREAM_JWT_SIGNATURE_TAG") or None,
                    help="http-message-signature: the tag it must carry (the plugin's signature_tag)")
    ap.add_argument("--max-age", type=int, default=0,
                    help="http-message-signature: refuse signatures created longer ago (0: unlimited)")
    ap.add_argument("--jwks", action="append", metavar="FILE", help="JWKS file with the gateway's public keys")
    ap.add_argument("--jwks-url", default=env("UPSTREAM_JWT_JWKS_URL"), help="JWKS URL (cached, refreshed on unknown kid)")
    ap.add_argument("--secret-env", default="UPSTREAM_JWT_SECRET",
                    help="env var holding the HS* secret when no key is given (default %(default)s)")
    ap.add_argument("--issuer", default=env("UPSTREAM_JWT_ISSUER", "kong"))
    ap.add_argument("--audience", default=env("UPSTREAM_JWT_AUDIENCE"),
                    help="jwt: this service's name as the gateway knows it (required)")
    ap.add_argument("--leeway", type=int, default=env("UPSTREAM_JWT_LEEWAY") or "5")
    ap.add_argument("--max-lifetime", type=int, default=3600)
    ap.add_argument("--header", default=env("UPSTREAM_JWT_HEADER", "X-Upstream-JWT"))
    ap.add_argument("--max-body-size", type=int, default=256 << 20,
                    help="larger bodies get 413; at least the plugin's max_body_size (default %(default)s)")
    ap.add_argument("--check-headers", action="store_true",
                    help="every token must bind headers (hdrs/hdr_sha256); default: checked when it does")
    ap.add_argument("--require-headers", metavar="NAMES", help="comma-separated names every token must bind")
    ap.add_argument("--reject-replay", action="store_true", help="accept each jti once (in this process)")
    ap.add_argument("--replay-capacity", type=int, default=100000)
    ap.add_argument("--redis-url", default=env("UPSTREAM_JWT_REDIS_URL"),
                    help="accept each jti once across every replica sharing this Redis")
    ap.add_argument("--stats", action="store_true", help="serve request counters at GET /__stats")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if not args.audience and args.format == "jwt":
        ap.error("--audience (or $UPSTREAM_JWT_AUDIENCE) is required with --format jwt")
    import logging

    logging.basicConfig(level=logging.ERROR if args.quiet else logging.INFO,
                        format="verify-service-python: %(message)s")
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    try:
        app = build_app(args)
    except (ConfigurationError, OSError) as e:
        die(str(e))
    server = make_server(args.listen, args.port, app, threaded=True,
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
