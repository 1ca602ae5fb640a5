"""RFC 9651 Structured Field Values: strict parsing and serialization.

The parser follows RFC 9651 Section 4.2 and fails the whole field on the first
error (raises SFError), like the project's C++ core. One deliberate
strictness: a Byte Sequence must be canonical padded base64 (the RFC lets a
parser accept unpadded input), so a signature or digest has exactly one
spelling.

Values: Integer -> int, Decimal -> decimal.Decimal, String -> str,
Token -> Token (a str subclass), Byte Sequence -> bytes, Boolean -> bool,
Date -> Date (an int subclass), Display String -> DisplayString (a str
subclass). An Item is Item(value, params); an Inner List is
InnerList(items, params); parameters and Dictionaries are dicts (insertion
ordered; a repeated key keeps its first position and takes the last value,
as RFC 9651 says); a List is a Python list of Items and InnerLists.
parse_dictionary(text, refuse_repeated_parameters=True) fails on a Parameters
key repeated instead: RFC 9421 verifiers parse Signature-Input so, because no
serializer writes a parameter twice and a parser keeping the first value would
read another signature.
"""

from __future__ import annotations

import binascii
import decimal
import re
from dataclasses import dataclass, field
from typing import Dict, List, Union


class SFError(ValueError):
    """The text is not a valid structured field, or a value cannot be serialized."""


class Token(str):
    """An sf-token (distinct from a String)."""


class DisplayString(str):
    """An sf-displaystring: Unicode text."""


class Date(int):
    """An sf-date: integer seconds since the epoch."""


BareItem = Union[int, decimal.Decimal, str, bytes, bool]
Params = Dict[str, BareItem]


@dataclass
class Item:
    value: BareItem
    params: Params = field(default_factory=dict)


@dataclass
class InnerList:
    items: List[Item] = field(default_factory=list)
    params: Params = field(default_factory=dict)


Member = Union[Item, InnerList]
Dictionary = Dict[str, Member]
SFList = List[Member]

MAX_INTEGER = 999_999_999_999_999
_DEC_MAX = decimal.Decimal("999999999999.999")
_MILLI = decimal.Decimal("0.001")

_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_NUMBER = re.compile(r"-?([0-9]*)(\.([0-9]*))?")
_STRING_RUN = re.compile(r'[\x20\x21\x23-\x5b\x5d-\x7e]*')  # printable, not '"' or '\'
_B64 = re.compile(r"[A-Za-z0-9+/=]*")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_HEX_LOWER = "0123456789abcdef"


class _Parser:
    __slots__ = ("s", "i", "n", "refuse_repeated")

    def __init__(self, text: str, refuse_repeated: bool = False) -> None:
        # RFC 9651 4.2 step 1: the field is ASCII. Bytes arrive as latin-1 text.
        if _NON_ASCII.search(text):
            raise SFError("non-ASCII character")
        self.s = text
        self.i = 0
        self.n = len(text)
        self.refuse_repeated = refuse_repeated

    def fail(self, what: str) -> SFError:
        return SFError(f"{what} at offset {self.i}")

    def peek(self) -> str:
        return self.s[self.i] if self.i < self.n else ""

    def skip_sp(self) -> None:
        while self.i < self.n and self.s[self.i] == " ":
            self.i += 1

    def skip_ows(self) -> None:
        while self.i < self.n and self.s[self.i] in " \t":
            self.i += 1

    def finish(self) -> None:
        self.skip_sp()
        if self.i < self.n:
            raise self.fail("unexpected character")

    def separator(self) -> bool:
        """After a List or Dictionary member: False at the end, True after ','."""
        self.skip_ows()
        if self.i >= self.n:
            return False
        if self.s[self.i] != ",":
            raise self.fail("expected ','")
        self.i += 1
        self.skip_ows()
        if self.i >= self.n:
            raise self.fail("trailing ','")
        return True

    def list(self) -> SFList:
        out: SFList = []
        while self.i < self.n:
            out.append(self.item_or_inner_list())
            if not self.separator():
                break
        return out

    def dictionary(self) -> Dictionary:
        out: Dictionary = {}
        while self.i < self.n:
            key = self.key()
            if self.peek() == "=":
                self.i += 1
                out[key] = self.item_or_inner_list()
            else:
                out[key] = Item(True, self.params())
            if not self.separator():
                break
        return out

    def item_or_inner_list(self) -> Member:
        if self.peek() == "(":
            return self.inner_list()
        return self.item()

    def inner_list(self) -> InnerList:
        if self.peek() != "(":
            raise self.fail("expected '('")
        self.i += 1
        out = InnerList()
        while self.i < self.n:
            self.skip_sp()
            if self.peek() == ")":
                self.i += 1
                out.params = self.params()
                return out
            out.items.append(self.item())
            if self.peek() not in (" ", ")"):
                raise self.fail("expected ' ' or ')' in inner list")
        raise self.fail("unterminated inner list")

    def item(self) -> Item:
        value = self.bare_item()
        return Item(value, self.params())

    def params(self) -> Params:
        out: Params = {}
        while self.peek() == ";":
            self.i += 1
            self.skip_sp()
            key = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.i += 1
                value = self.bare_item()
            if self.refuse_repeated and key in out:
                raise self.fail(f'parameter "{key}" repeated')
            out[key] = value
        return out

    def key(self) -> str:
        m = _KEY.match(self.s, self.i)
        if m is None:
            raise self.fail("expected a key")
        self.i = m.end()
        return m.group()

    def bare_item(self) -> BareItem:
        c = self.peek()
        if c == "-" or c.isdigit():
            return self.number()
        if c == '"':
            return self.string()
        if c == "*" or ("A" <= c <= "Z") or ("a" <= c <= "z"):
            m = _TOKEN.match(self.s, self.i)
            assert m is not None
            self.i = m.end()
            return Token(m.group())
        if c == ":":
            return self.byte_sequence()
        if c == "?":
            self.i += 1
            b = self.peek()
            if b not in ("0", "1"):
                raise self.fail("expected ?0 or ?1")
            self.i += 1
            return b == "1"
        if c == "@":
            self.i += 1
            v = self.number()
            if not isinstance(v, int):
                raise self.fail("date is not an integer")
            return Date(v)
        if c == "%":
            return self.display_string()
        raise self.fail("expected an item")

    def number(self) -> Union[int, decimal.Decimal]:
        m = _NUMBER.match(self.s, self.i)
        assert m is not None
        int_digits, dot, frac = m.group(1), m.group(2), m.group(3)
        if not int_digits:
            raise self.fail("expected a digit")
        if dot is None:
            if len(int_digits) > 15:
                raise self.fail("integer with more than 15 digits")
            self.i = m.end()
            return int(m.group())
        if len(int_digits) > 12:
            raise self.fail("decimal with more than 12 integer digits")
        if len(int_digits) + 1 + len(frac) > 16:
            raise self.fail("decimal too long")
        if not frac:
            raise self.fail("decimal ends with '.'")
        if len(frac) > 3:
            raise self.fail("decimal with more than 3 fractional digits")
        self.i = m.end()
        return decimal.Decimal(m.group())

    def string(self) -> str:
        self.i += 1
        parts = []
        while True:
            m = _STRING_RUN.match(self.s, self.i)
            assert m is not None
            parts.append(m.group())
            self.i = m.end()
            if self.i >= self.n:
                raise self.fail("unterminated string")
            c = self.s[self.i]
            if c == '"':
                self.i += 1
                return "".join(parts)
            if c == "\\":
                if self.i + 1 >= self.n:
                    self.i += 1
                    raise self.fail("string ends in an escape")
                nxt = self.s[self.i + 1]
                if nxt not in ('"', "\\"):
                    raise self.fail("invalid escape in string")
                parts.append(nxt)
                self.i += 2
                continue
            raise self.fail("control character in string")

    def byte_sequence(self) -> bytes:
        self.i += 1
        end = self.s.find(":", self.i)
        if end < 0:
            raise self.fail("unterminated byte sequence")
        text = self.s[self.i:end]
        if _B64.fullmatch(text) is None:
            raise self.fail("invalid character in byte sequence")
        data = b64decode_canonical(text)
        if data is None:
            raise self.fail("byte sequence is not canonical padded base64")
        self.i = end + 1
        return data

    def display_string(self) -> DisplayString:
        self.i += 1
        if self.peek() != '"':
            raise self.fail("expected '\"' after '%'")
        self.i += 1
        out = bytearray()
        while self.i < self.n:
            c = self.s[self.i]
            o = ord(c)
            if o < 0x20 or o > 0x7E:
                raise self.fail("control character in display string")
            self.i += 1
            if c == "%":
                hexpair = self.s[self.i:self.i + 2]
                if len(hexpair) < 2:
                    raise self.fail("truncated escape in display string")
                if hexpair[0] not in _HEX_LOWER or hexpair[1] not in _HEX_LOWER:
                    raise self.fail("invalid escape in display string")
                out.append(int(hexpair, 16))
                self.i += 2
            elif c == '"':
                try:
                    return DisplayString(out.decode("utf-8"))  # strict: no surrogates, no overlongs
                except UnicodeDecodeError:
                    raise self.fail("display string is not UTF-8") from None
            else:
                out.append(o)
        raise self.fail("unterminated display string")


def b64decode_canonical(text: str) -> "bytes | None":
    """The bytes of canonical padded base64 (length a multiple of 4, '=' only as
    padding, zero pad bits), else None."""
    if len(text) % 4:
        return None
    try:
        data = binascii.a2b_base64(text.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError):
        return None
    # Decoding is lenient ('=' inside, non-zero pad bits); a canonical text is
    # exactly what encoding its bytes gives back.
    if binascii.b2a_base64(data, newline=False).decode("ascii") != text:
        return None
    return data


def _text(field_value: Union[str, bytes]) -> str:
    return field_value.decode("latin-1") if isinstance(field_value, (bytes, bytearray)) else field_value


def _top(text: Union[str, bytes], rule: str, refuse_repeated: bool = False):  # type: ignore[no-untyped-def]
    p = _Parser(_text(text), refuse_repeated)
    p.skip_sp()
    v = getattr(p, rule)()
    p.finish()
    return v


def parse_dictionary(field_value: Union[str, bytes], refuse_repeated_parameters: bool = False) -> Dictionary:
    return _top(field_value, "dictionary", refuse_repeated_parameters)  # type: ignore[no-any-return]


def parse_list(field_value: Union[str, bytes]) -> SFList:
    return _top(field_value, "list")  # type: ignore[no-any-return]


def parse_item(field_value: Union[str, bytes]) -> Item:
    return _top(field_value, "item")  # type: ignore[no-any-return]


def parse_inner_list(text: Union[str, bytes]) -> InnerList:
    return _top(text, "inner_list")  # type: ignore[no-any-return]


# ---- serialization (RFC 9651 4.1) ----------------------------------------

def is_key(key: str) -> bool:
    return _KEY.fullmatch(key) is not None


_PRINTABLE = re.compile(r"[\x20-\x7e]*")


def serialize_bare(v: BareItem) -> str:
    t = type(v)
    if t is str:  # the common case first: component names, keyid, nonce, tag
        if _PRINTABLE.fullmatch(v) is None:  # type: ignore[arg-type]
            raise SFError("cannot serialize a string with a non-printable character")
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'  # type: ignore[union-attr]
    if t is int:
        if not -MAX_INTEGER <= v <= MAX_INTEGER:  # type: ignore[operator]
            raise SFError("cannot serialize an integer out of range")
        return str(v)
    if isinstance(v, bool):
        return "?1" if v else "?0"
    if isinstance(v, Date):
        if not -MAX_INTEGER <= v <= MAX_INTEGER:
            raise SFError("cannot serialize a date out of range")
        return "@" + str(int(v))
    if isinstance(v, int):
        if not -MAX_INTEGER <= v <= MAX_INTEGER:
            raise SFError("cannot serialize an integer out of range")
        return str(v)
    if isinstance(v, decimal.Decimal):
        if not v.is_finite():
            raise SFError("cannot serialize a non-finite decimal")
        q = v.quantize(_MILLI, rounding=decimal.ROUND_HALF_EVEN)
        if abs(q) > _DEC_MAX:
            raise SFError("cannot serialize a decimal out of range")
        sign = "-" if q < 0 else ""
        whole, _, frac = format(abs(q), "f").partition(".")
        frac = frac.rstrip("0") or "0"
        return f"{sign}{whole}.{frac}"
    if isinstance(v, Token):
        if _TOKEN.fullmatch(v) is None:
            raise SFError("cannot serialize an invalid token")
        return str(v)
    if isinstance(v, DisplayString):
        out = ['%"']
        for b in v.encode("utf-8", "strict"):
            if b in (0x25, 0x22) or b < 0x20 or b > 0x7E:
                out.append("%" + _HEX_LOWER[b >> 4] + _HEX_LOWER[b & 15])
            else:
                out.append(chr(b))
        out.append('"')
        return "".join(out)
    if isinstance(v, str):
        return serialize_bare(str(v))
    if isinstance(v, (bytes, bytearray)):
        return ":" + binascii.b2a_base64(bytes(v), newline=False).decode("ascii") + ":"
    raise SFError(f"cannot serialize a {type(v).__name__}")


def serialize_params(params: Params) -> str:
    out = []
    for k, v in params.items():
        if not is_key(k):
            raise SFError("cannot serialize an invalid parameter key")
        out.append(";" + k if v is True else ";" + k + "=" + serialize_bare(v))
    return "".join(out)


def serialize_item(item: Item) -> str:
    return serialize_bare(item.value) + serialize_params(item.params)


def serialize_inner_list(il: InnerList) -> str:
    return "(" + " ".join(serialize_item(i) for i in il.items) + ")" + serialize_params(il.params)


def serialize_member(m: Member) -> str:
    return serialize_inner_list(m) if isinstance(m, InnerList) else serialize_item(m)


def serialize_list(members: SFList) -> str:
    return ", ".join(serialize_member(m) for m in members)


def serialize_dictionary(d: Dictionary) -> str:
    out = []
    for k, m in d.items():
        if not is_key(k):
            raise SFError("cannot serialize an invalid dictionary key")
        if isinstance(m, Item) and m.value is True:
            out.append(k + serialize_params(m.params))
        else:
            out.append(k + "=" + serialize_member(m))
    return ", ".join(out)


def type_name(v: BareItem) -> str:
    """RFC 9651's name for a bare item's type."""
    for cls, name in ((bool, "boolean"), (Date, "date"), (int, "integer"), (decimal.Decimal, "decimal"),
                      (Token, "token"), (DisplayString, "display string"), (str, "string"),
                      (bytes, "byte sequence")):
        if isinstance(v, cls):
            return name
    return type(v).__name__


def is_string(v: object) -> bool:
    return type(v) is str


def is_integer(v: object) -> bool:
    return type(v) is int


__all__ = [
    "BareItem", "Date", "Dictionary", "DisplayString", "InnerList", "Item", "Member", "Params",
    "SFError", "SFList", "Token", "b64decode_canonical", "is_integer", "is_key", "is_string",
    "parse_dictionary", "parse_inner_list", "parse_item", "parse_list", "serialize_bare",
    "serialize_dictionary", "serialize_inner_list", "serialize_item", "serialize_list",
    "serialize_member", "serialize_params", "type_name",
]
