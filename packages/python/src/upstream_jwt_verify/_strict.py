"""Strict decoding, as the C++ core does it: canonical base64url and JSON
without duplicate members, non-finite numbers or lone surrogates."""

from __future__ import annotations

import binascii
import json
import math
from typing import Any, Optional

_B64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_URL_TO_STD = bytes.maketrans(b"-_", b"+/")
_STD_TO_URL = bytes.maketrans(b"+/", b"-_")
# The last character of a segment whose length is 2 or 3 (mod 4) carries 4 or
# 2 unused low bits; canonical encodings leave them zero. Non-canonical ones
# decode to the same bytes, so they are told apart here.
_CANONICAL_LAST = {2: frozenset(b"AQgw"), 3: frozenset(b"AEIMQUYcgkosw048")}
_PAD = {0: b"", 2: b"==", 3: b"="}


def b64url_decode(text: bytes) -> Optional[bytes]:
    """None unless `text` is unpadded base64url with canonical trailing bits."""
    rem = len(text) % 4
    if rem == 1 or text.translate(None, _B64URL_ALPHABET):
        return None
    if rem and text[-1] not in _CANONICAL_LAST[rem]:
        return None
    # Every character is in the alphabet (checked above), so nothing is
    # skipped by the decoder.
    return binascii.a2b_base64(text.translate(_URL_TO_STD) + _PAD[rem])


def b64url(data: bytes) -> str:
    return b64url_bytes(data).decode("ascii")


def b64url_bytes(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_STD_TO_URL)


class Duplicate(Exception):
    pass


class Syntax(Exception):
    pass


def _pairs(pairs: list) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise Duplicate(k)
        out[k] = v
    return out


def _float(s: str) -> float:
    v = float(s)
    if not math.isfinite(v):
        raise Syntax("number overflow")
    return v


def _int(s: str) -> Any:
    # Integers beyond 64 bits become doubles, as in the core's parser.
    v = int(s)
    return v if -(1 << 63) <= v < (1 << 64) else _float(s)


def _constant(s: str) -> Any:
    raise Syntax("not JSON: " + s)


def _check_strings(v: Any) -> None:
    # json accepts "\ud800"; a lone surrogate is not a Unicode scalar value and
    # the core's parser refuses it.
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            try:
                x.encode("utf-8")
            except UnicodeEncodeError:
                raise Syntax("lone surrogate")
        elif isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)


# Compact JSON exactly as this encoder writes it (the gateway writes its
# header and claims this way). allow_nan=False: Infinity/NaN never round-trip.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
# 19 digits in a row may be an integer outside [-2**63, 2**64), which the
# strict parser turns into a double.
_DIGITS_TO_0 = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGITS = b"0" * 19


def _parse_compact(data: bytes) -> Any:
    """The value when `data` is valid UTF-8 that the plain parser reads and
    _COMPACT writes back byte for byte, else None. Equal text has equal
    structure, and re-encoded dicts cannot repeat a member, so such a document
    has no duplicate member; strict UTF-8 text holds no lone surrogate (an
    escaped one would be written back raw, not as the escape); non-finite
    numbers do not re-encode; long integers are left to the strict parser.
    Anything else (None) goes to the strict parser, which decides."""
    if _LONG_DIGITS in data.translate(_DIGITS_TO_0):
        return None
    try:
        text = data.decode("utf-8")
        v = json.loads(text)
        if _COMPACT.encode(v) == text:
            return v
    except (UnicodeError, ValueError, RecursionError):
        pass
    return None


def parse_json(data: bytes) -> Any:
    """Raises Syntax or Duplicate."""
    v = _parse_compact(data)
    if v is not None:
        return v
    try:
        text = data.decode("utf-8")
        if text.startswith("\ufeff"):  # the core's parser skips a leading BOM
            text = text[1:]
        v = json.loads(text, object_pairs_hook=_pairs, parse_float=_float,
                       parse_int=_int, parse_constant=_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise Syntax(str(e)) from None
    _check_strings(v)
    return v


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
