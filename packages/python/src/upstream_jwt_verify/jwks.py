"""Keys from a JWKS URL: cached for as long as the server's caching headers
say (within configured bounds), refreshed when stale and, rate-limited, when a
token names a kid the cached set does not have (a key rotation at the gateway
needs no service restart). packages/node/src/jwks.js behaves identically;
tests/jwks_cache_cases.json holds the cases both test suites run."""

from __future__ import annotations

import logging
import math
import random
import re
import threading
import time
import urllib.error
import urllib.request
from typing import Callable, List, Mapping, NamedTuple, Optional, Tuple, Union

from .errors import ConfigurationError, VerificationError
from .keys import VerificationKey, is_hmac, keys_from_jwks

log = logging.getLogger("upstream_jwt_verify")

MAX_JWKS_BYTES = 1 << 20
# RFC 9111 section 1.2.2: a delta-seconds too large to hold is taken as 2^31.
DELTA_SECONDS_CAP = 2147483648
# The response header fields the freshness computation and revalidation read.
CACHE_FIELDS = ("cache-control", "expires", "date", "age", "etag")


class JwksResponse(NamedTuple):
    """What a fetcher returns: the status (200, or 304 to a conditional
    request), the body and the response header fields, names in lower case,
    the lines of a repeated field joined with ", "."""
    status: int
    body: bytes
    headers: Mapping[str, str]


def _http_get(url: str, timeout: float, request_headers: Mapping[str, str]) -> JwksResponse:
    req = urllib.request.Request(url, headers={"Accept": "application/json", **request_headers})
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (operator-set URL)
    except urllib.error.HTTPError as e:
        # urllib raises on every status but 2xx; a 304 answers our If-None-Match.
        if e.code != 304:
            raise
        resp = e
    with resp:
        data = resp.read(MAX_JWKS_BYTES + 1)
        fields = resp.headers
        headers = {name: ", ".join(fields.get_all(name)) for name in CACHE_FIELDS if fields.get_all(name)}
        status = resp.status if hasattr(resp, "status") else resp.code
    if len(data) > MAX_JWKS_BYTES:
        raise ValueError("JWKS larger than 1 MiB")
    return JwksResponse(status, data, headers)


# ---- RFC 9110/9111 field parsing. Strict: anything outside the grammar is
# None ("malformed"), never an exception.

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_DIRECTIVE = re.compile(rf"({_TOKEN})(?:=({_TOKEN}|{_QUOTED}))?")
_OWS = re.compile(r"[ \t]*")
_DIGITS = re.compile(r"[0-9]+")
# entity-tag = [ weak ] opaque-tag (RFC 9110 section 8.8.3)
_ETAG = re.compile(r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"')

_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_LONG_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MON = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = r"([0-9]{2}):([0-9]{2}):([0-9]{2})"
_IMF_FIXDATE = re.compile(rf"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{{2}}) {_MON} ([0-9]{{4}}) {_TIME} GMT")
_RFC850 = re.compile(rf"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "
                     rf"([0-9]{{2}})-{_MON}-([0-9]{{2}}) {_TIME} GMT")
_ASCTIME = re.compile(rf"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) {_MON} ([0-9 ][0-9]) {_TIME} ([0-9]{{4}})")


def parse_cache_control(value: str) -> Optional[List[Tuple[str, Optional[str]]]]:
    """The directives of a Cache-Control value as (lower-case name, argument
    or None; a quoted-string argument unquoted), or None when the value is not
    a list of `token [ "=" ( token / quoted-string ) ]` (RFC 9111 section 5.2;
    empty list elements are allowed, RFC 9110 section 5.6.1.2)."""
    out: List[Tuple[str, Optional[str]]] = []
    pos, end = 0, len(value)
    while True:
        pos = _OWS.match(value, pos).end()
        if pos < end and value[pos] != ",":
            m = _DIRECTIVE.match(value, pos)
            if not m:
                return None
            arg = m.group(2)
            if arg is not None and arg.startswith('"'):
                arg = re.sub(r"\\(.)", r"\1", arg[1:-1])
            out.append((m.group(1).lower(), arg))
            pos = _OWS.match(value, m.end()).end()
        if pos == end:
            return out
        if value[pos] != ",":
            return None
        pos += 1


def parse_delta_seconds(value: Optional[str]) -> Optional[int]:
    """delta-seconds = 1*DIGIT, capped at 2^31 (RFC 9111 section 1.2.2)."""
    if value is None or not _DIGITS.fullmatch(value):
        return None
    return DELTA_SECONDS_CAP if len(value) > 10 else min(int(value), DELTA_SECONDS_CAP)


def _days_from_civil(y: int, m: int, d: int) -> int:
    # Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's
    # algorithm); the same arithmetic as the Node package, so both agree.
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _days_in_month(y: int, m: int) -> int:
    if m == 2:
        return 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28
    return 30 if m in (4, 6, 9, 11) else 31


def parse_http_date(value: Optional[str], this_year: Optional[int] = None) -> Optional[int]:
    """Seconds since the epoch of an HTTP-date in any of the three formats a
    recipient must accept (RFC 9110 section 5.6.7), or None. Case-sensitive,
    the day name must match the date."""
    if value is None:
        return None
    m = _IMF_FIXDATE.fullmatch(value)
    if m:
        day_name, day, mon, year, hh, mi, ss = m.groups()
        names = _DAYS
    elif _RFC850.fullmatch(value):
        m = _RFC850.fullmatch(value)
        day_name, day, mon, yy, hh, mi, ss = m.groups()
        names = _LONG_DAYS
        # A two-digit year more than 50 years ahead is the most recent past
        # year with those digits (RFC 9110 section 5.6.7).
        now = this_year if this_year is not None else time.gmtime().tm_year
        y = now - now % 100 + int(yy)
        year = str(y - 100 if y > now + 50 else y)
    elif _ASCTIME.fullmatch(value):
        day_name, mon, day, hh, mi, ss, year = _ASCTIME.fullmatch(value).groups()
        names = _DAYS
    else:
        return None
    y, mo, d = int(year), _MONTHS.index(mon) + 1, int(day)
    h, mi_, s = int(hh), int(mi), int(ss)
    if not 1 <= d <= _days_in_month(y, mo) or h > 23 or mi_ > 59 or s > 60:
        return None
    days = _days_from_civil(y, mo, d)
    if names[(days + 4) % 7] != day_name:
        return None
    return days * 86400 + h * 3600 + mi_ * 60 + s


class Freshness(NamedTuple):
    """lifetime: seconds the response is fresh from when it was received,
    before the configured bounds and jitter; None when the server said
    nothing usable (the configured default applies). may_serve_stale: False
    under no-cache, no-store or must-revalidate. keep_validator: False under
    no-store (the set must not be revalidated, only fetched again)."""
    lifetime: Optional[float]
    may_serve_stale: bool
    keep_validator: bool
    source: str


def freshness(headers: Mapping[str, str], response_delay: float = 0.0) -> Freshness:
    """RFC 9111 section 4.2 for a private cache: max-age (s-maxage is for
    shared caches), else Expires - Date; less the Age the response already
    had plus the time the request took. no-cache/no-store: fresh for no time.
    A header the computation needs that is malformed: lifetime None."""
    cc_value = headers.get("cache-control")
    directives = parse_cache_control(cc_value) if cc_value is not None else []
    if directives is None:
        return Freshness(None, True, True, "malformed Cache-Control")
    names = [n for n, _ in directives]
    # A qualified no-cache="field" only restricts the named header fields,
    # and the keys come from the body.
    no_cache = any(n == "no-cache" and a is None for n, a in directives)
    no_store = "no-store" in names
    # RFC 9111 section 4.2.4: a stale response is never served under these.
    may_serve_stale = not (no_cache or no_store or "must-revalidate" in names)
    keep_validator = not no_store
    if no_store or no_cache:
        return Freshness(0.0, may_serve_stale, keep_validator, "no-store" if no_store else "no-cache")

    max_ages = [a for n, a in directives if n == "max-age"]
    if len(max_ages) > 1:
        return Freshness(None, may_serve_stale, keep_validator, "duplicate max-age")
    if max_ages:
        lifetime = parse_delta_seconds(max_ages[0])
        if lifetime is None:
            return Freshness(None, may_serve_stale, keep_validator, "malformed max-age")
        source = "max-age"
    elif headers.get("expires") is not None:
        expires = parse_http_date(headers["expires"])
        if expires is None:
            # RFC 9111 section 5.3: an invalid Expires ("0" above all) means
            # already expired.
            return Freshness(0.0, may_serve_stale, keep_validator, "invalid Expires")
        date = parse_http_date(headers.get("date"))
        if date is None:
            return Freshness(None, may_serve_stale, keep_validator, "Expires without a valid Date")
        lifetime, source = max(0, expires - date), "Expires"
    else:
        return Freshness(None, may_serve_stale, keep_validator, "no freshness information")

    age_value = headers.get("age")
    age = parse_delta_seconds(age_value) if age_value is not None else 0
    if age is None:
        return Freshness(None, may_serve_stale, keep_validator, "malformed Age")
    return Freshness(max(0.0, lifetime - age - response_delay), may_serve_stale, keep_validator, source)


def _seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigurationError(f"{name} must be a finite number of seconds >= 0")
    return float(value)


Fetcher = Callable[[str, float, Mapping[str, str]], Union[JwksResponse, bytes, str]]


class JwksSource:
    """A JWKS URL's keys, fetched on first use and cached.

    How long a fetched set is fresh: the response's Cache-Control max-age (or
    Expires - Date) less its Age, at most max_age and at least
    min_refresh_interval; max_age when the response says nothing usable.
    jitter (fraction, default 0.1) then shortens it by up to that share, drawn
    from rng, so replicas that fetched together do not refetch together; it
    never goes below min_refresh_interval. A stale set is fetched again
    (with If-None-Match when the server gave an ETag; a 304 keeps the keys and
    renews their freshness). If that fails the last good set keeps being
    served for stale_if_error seconds past its freshness (not at all under
    no-cache, no-store or must-revalidate), fetches being retried at most once
    per min_refresh_interval; without any good set keys() fails closed with
    jwks_unavailable. A token with a kid the set lacks fetches again, at most
    once per min_refresh_interval, so made-up kids cannot make the service
    hammer the URL.

    fetch(url, timeout, request_headers) returns a JwksResponse (or the body
    alone: a 200 without headers); clock is monotonic seconds."""

    def __init__(self, url: str, *, max_age: float = 300.0, min_refresh_interval: float = 30.0,
                 stale_if_error: float = 3600.0, jitter: float = 0.1, timeout: float = 5.0,
                 fetch: Optional[Fetcher] = None, clock: Callable[[], float] = time.monotonic,
                 rng: Callable[[], float] = random.random) -> None:
        if not url.startswith(("https://", "http://")):
            raise ConfigurationError("JWKS URL must be http(s)")
        self.url = url
        self.max_age = _seconds("max_age", max_age)
        self.min_refresh_interval = _seconds("min_refresh_interval", min_refresh_interval)
        self.stale_if_error = _seconds("stale_if_error", stale_if_error)
        if isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or not 0 <= jitter < 1:
            raise ConfigurationError("jitter must be a fraction >= 0 and < 1")
        self.jitter = float(jitter)
        self.timeout = timeout
        self.fetches = 0
        # Monotonic times: until when the set is fresh, and until when it may
        # still be served while fetches fail. Read them for monitoring.
        self.fresh_until = -math.inf
        self.usable_until = -math.inf
        self.freshness_source = "none"
        self._fetch = fetch or _http_get
        self._clock = clock
        self._rng = rng
        self._keys: Optional[List[VerificationKey]] = None
        self._stored: Mapping[str, str] = {}
        self._etag: Optional[str] = None
        self._attempted_at: Optional[float] = None
        self._lock = threading.Lock()

    def _lifetime(self, f: Freshness) -> float:
        base = self.max_age if f.lifetime is None else min(f.lifetime, self.max_age)
        try:
            r = self._rng()
        except Exception:
            r = 0.0
        if not (isinstance(r, (int, float)) and 0 <= r < 1):
            r = 0.0  # an injected rng that fails or is out of range: no jitter rather than an exception
        return max(self.min_refresh_interval, base - base * self.jitter * r)

    def _refresh_locked(self) -> bool:
        self._attempted_at = started = self._clock()
        self.fetches += 1
        conditional = self._etag is not None and self._keys is not None
        try:
            resp = self._fetch(self.url, self.timeout, {"If-None-Match": self._etag} if conditional else {})
            if isinstance(resp, (bytes, str)):
                resp = JwksResponse(200, resp.encode() if isinstance(resp, str) else resp, {})
            if not isinstance(resp.headers, Mapping):
                raise TypeError("the fetcher's headers are not a mapping")
            headers = {k.lower(): v for k, v in resp.headers.items() if isinstance(v, str)}
            if resp.status == 304 and conditional:
                keys = self._keys
                # RFC 9111 section 4.3.4: the 304's fields update the stored
                # ones; its Age is its own.
                headers = {**{k: v for k, v in self._stored.items() if k != "age"}, **headers}
            elif resp.status == 200:
                fetched = keys_from_jwks(resp.body, skip_unusable=True)
                # A JWKS URL publishes public keys; a shared secret has no business there.
                keys = [k for k in fetched if not is_hmac(k.alg)]
            else:
                raise ValueError(f"HTTP {resp.status}")
        except Exception as e:
            # Keep serving the last good set within usable_until; keys() fails closed after.
            log.warning("JWKS fetch from %s failed: %s", self.url, type(e).__name__)
            return False
        received = self._clock()
        try:
            f = freshness(headers, received - started)
        except Exception:  # a fetcher's odd header types: as if the server said nothing
            f = Freshness(None, True, True, "unreadable headers")
        fresh_until = received + self._lifetime(f)
        self._keys = keys
        self._stored = headers
        etag = headers.get("etag")
        self._etag = etag if f.keep_validator and etag is not None and _ETAG.fullmatch(etag) else None
        self.fresh_until = fresh_until
        self.usable_until = self.fresh_until + (self.stale_if_error if f.may_serve_stale else 0.0)
        self.freshness_source = f.source
        return True

    def keys(self) -> List[VerificationKey]:
        with self._lock:
            now = self._clock()
            # A set fetched by this very call serves it, even one fresh for
            # no time at all (no-cache with min_refresh_interval 0).
            if now >= self.fresh_until and self._may_attempt(now) and self._refresh_locked():
                return list(self._keys or [])
            if self._keys is None or self._clock() >= self.usable_until:
                raise VerificationError("jwks_unavailable", "the JWKS could not be fetched")
            return list(self._keys)

    def _may_attempt(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self.min_refresh_interval

    def refresh_for_unknown_kid(self) -> bool:
        """Fetch again unless one was attempted within min_refresh_interval.
        True when a fetch happened."""
        with self._lock:
            if not self._may_attempt(self._clock()):
                return False
            self._refresh_locked()
            return True
