"""Strict decoding, as the C++ core does it: canonical base64url and JSON
without duplicate members, non-finite numbers or lone surrogates."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any, Optional

_B64URL = re.compile(rb"[A-Za-z0-9_-]*")


def b64url_decode(text: bytes) -> Optional[bytes]:
    """None unless `text` is unpadded base64url with canonical trailing bits."""
    if len(text) % 4 == 1 or not _B64URL.fullmatch(text):
        return None
    try:
        out = base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    # Non-canonical encodings (stray low bits) decode to the same bytes:
    # re-encoding tells them apart.
    if base64.urlsafe_b64encode(out).rstrip(b"=") != text:
        return None
    return out


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


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


def parse_json(data: bytes) -> Any:
    """Raises Syntax or Duplicate."""
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
