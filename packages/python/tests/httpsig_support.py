"""Test helpers for RFC 9421: the RFC's keys, a signer over the package's
signature base (the base itself is proven against the RFC's Appendix B, the
CLI and the conformance vectors), and the gateway-shaped request."""

import base64
import hashlib
import hmac
import os
import subprocess

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from support import REPO
from upstream_jwt_verify import sf
from upstream_jwt_verify.httpsig import Message, components_from, signature_base

RFC_KEYS = os.path.join(REPO, "test", "keys", "rfc9421")
CLI = os.path.join(REPO, "build", "upstream-jwt")
NOW = 1700000000

# alg -> (private key file, public key file) among the RFC's keys
RFC_KEY_FILES = {
    "hmac-sha256": ("test-shared-secret.bin", "test-shared-secret.bin"),
    "ed25519": ("test-key-ed25519.pem", "test-key-ed25519.pub.pem"),
    "ecdsa-p256-sha256": ("test-key-ecc-p256.pem", "test-key-ecc-p256.pub.pem"),
    "rsa-pss-sha512": ("test-key-rsa-pss.pem", "test-key-rsa-pss.pub.pem"),
    "rsa-v1_5-sha256": ("test-key-rsa.pem", "test-key-rsa.pub.pem"),
}


def rfc_key(name: str) -> bytes:
    with open(os.path.join(RFC_KEYS, name), "rb") as f:
        return f.read()


def private_of(alg):
    return rfc_key(RFC_KEY_FILES[alg][0])


def public_of(alg):
    return rfc_key(RFC_KEY_FILES[alg][1])


def raw_sign(alg: str, material: bytes, data: bytes) -> bytes:
    if alg == "hmac-sha256":
        return hmac.digest(material, data, "sha256")
    key = serialization.load_pem_private_key(material, None)
    if alg == "ed25519":
        return key.sign(data)
    if alg == "ecdsa-p256-sha256":
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "rsa-pss-sha512":
        return key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64), hashes.SHA512())
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def content_digest(body: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


def signed(message: Message, components, *, alg="ed25519", material=None, label="kong", params=None,
           signature=None):
    """message with Signature-Input and Signature added. params: the signature
    parameters in order (default created, expires, keyid, alg, nonce)."""
    if params is None:
        params = {"created": NOW, "expires": NOW + 60, "keyid": "gw", "alg": alg, "nonce": "n-1"}
    items = components_from(components) if isinstance(components, (list, tuple)) else components
    il = sf.InnerList(items, dict(params))
    text = sf.serialize_inner_list(il)
    base = signature_base(message, items, text)
    sig = signature if signature is not None else raw_sign(
        alg, material if material is not None else private_of(alg), base.encode())
    headers = list(message.headers) + [("Signature-Input", f"{label}={text}"),
                                       ("Signature", f"{label}=:{base64.b64encode(sig).decode()}:")]
    return Message(message.method, message.target_uri, headers, message.status, message.request)


BODY = b'{"item": 42}'
GATEWAY_COMPONENTS = ["@method", "@target-uri", "@authority", "content-digest", "content-type",
                      "x-consumer-id", "x-consumer-username"]


def gateway_request(body=BODY, extra=()):
    return Message("POST", "http://orders.internal:8080/v1/orders?id=7", [
        ("Host", "orders.internal:8080"), ("Content-Type", "application/json"),
        ("Content-Digest", content_digest(body)), ("X-Consumer-ID", "alice-id"),
        ("X-Consumer-Username", "alice"), *extra])


def cli_sign(alg, url, components, headers=(), body=None, keyid="gw", label="kong", created=None, ttl=60,
             tag=None, method="POST", key_file=None, tmpdir=None, digest=None):
    """Header lines (name, value) from `upstream-jwt httpsig sign`."""
    args = [CLI, "httpsig", "sign", "--alg", alg, "--key", key_file or os.path.join(RFC_KEYS, RFC_KEY_FILES[alg][0]),
            "--label", label, "--components", components, "--method", method, "--url", url,
            "--ttl", str(ttl), "--random-nonce", "--include-alg"]
    if keyid:
        args += ["--keyid", keyid]
    if created is not None:
        args += ["--created", str(created)]
    if tag:
        args += ["--tag", tag]
    for n, v in headers:
        args += ["--header", f"{n}: {v}"]
    if body is not None:
        path = os.path.join(tmpdir, "body")
        with open(path, "wb") as f:
            f.write(body)
        args += ["--body", path]
        if digest:
            args += ["--digest", digest]
    out = subprocess.run(args, check=True, capture_output=True).stdout.decode()
    lines = []
    for line in out.splitlines():
        n, _, v = line.partition(": ")
        lines.append((n, v))
    return lines
