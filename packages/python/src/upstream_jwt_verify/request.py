"""What a verifier compares the token with: the request as the service received it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from ._strict import b64url

BytesLike = Union[bytes, str]
Header = Tuple[BytesLike, BytesLike]


def as_bytes(v: BytesLike) -> bytes:
    # Servers hand WSGI apps latin-1 "native strings" (PEP 3333): encoding them
    # back as latin-1 recovers the bytes received. UTF-8 text given by a caller
    # is encoded as such only when it is not latin-1-representable.
    if isinstance(v, bytes):
        return v
    try:
        return v.encode("latin-1")
    except UnicodeEncodeError:
        return v.encode("utf-8")


class BodyHasher:
    """SHA-256 of a body fed in chunks, as body_sha256 (base64url)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._h.update(chunk)
        self.size += len(chunk)

    def b64(self) -> str:
        return b64url(self._h.digest())


def body_sha256(body: bytes) -> str:
    return b64url(hashlib.sha256(body).digest())


def canonical_headers(names: Sequence[str], headers: Iterable[Header]) -> bytes:
    """`name ":" value "\\n"` per bound name, in order: every field line of that
    name (case-insensitive, in the order received) trimmed of spaces and tabs and
    joined with ", "; an absent header gives an empty value."""
    received: List[Tuple[bytes, bytes]] = [(as_bytes(n).lower(), as_bytes(v)) for n, v in headers]
    out = bytearray()
    for name in names:
        n = name.lower().encode("utf-8")
        values = [v.strip(b" \t") for hn, v in received if hn == n]
        out += n + b":" + b", ".join(values) + b"\n"
    return bytes(out)


def headers_sha256(names: Sequence[str], headers: Iterable[Header]) -> str:
    return b64url(hashlib.sha256(canonical_headers(names, headers)).digest())


@dataclass
class Request:
    """method: as received; path: the raw path (no query) as received, bytes or a
    latin-1 native string, never percent-decoded; query: the raw query string,
    None when the request line had no "?" (hashed as ""); body_sha256: from
    BodyHasher; headers: (name, value) pairs as received, repeats allowed."""

    method: BytesLike
    path: BytesLike
    query: Optional[BytesLike] = None
    body_sha256: Optional[str] = None
    headers: Sequence[Header] = field(default_factory=list)
