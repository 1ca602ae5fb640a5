"""Keys from a JWKS URL: cached, refreshed when stale and, rate-limited, when a
token names a kid the cached set does not have (a key rotation at the
gateway needs no service restart)."""

from __future__ import annotations

import logging
import threading
import time
import urllib.request
from typing import Callable, List, Optional

from .errors import ConfigurationError, VerificationError
from .keys import VerificationKey, is_hmac, keys_from_jwks

log = logging.getLogger("upstream_jwt_verify")

MAX_JWKS_BYTES = 1 << 20


def _http_get(url: str, timeout: float) -> bytes:
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (operator-set URL)
        data = resp.read(MAX_JWKS_BYTES + 1)
    if len(data) > MAX_JWKS_BYTES:
        raise ValueError("JWKS larger than 1 MiB")
    return data


class JwksSource:
    """max_age: seconds a fetched set is used before it is fetched again.
    min_refresh_interval: at most one fetch per this many seconds for unknown
    kids, so tokens with made-up kids cannot make the service hammer the URL."""

    def __init__(self, url: str, *, max_age: float = 300.0, min_refresh_interval: float = 30.0,
                 timeout: float = 5.0, fetch: Optional[Callable[[str, float], bytes]] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not url.startswith(("https://", "http://")):
            raise ConfigurationError("JWKS URL must be http(s)")
        self.url = url
        self.max_age = max_age
        self.min_refresh_interval = min_refresh_interval
        self.timeout = timeout
        self.fetches = 0
        self._fetch = fetch or _http_get
        self._clock = clock
        self._keys: Optional[List[VerificationKey]] = None
        self._fetched_at = 0.0
        self._attempted_at: Optional[float] = None
        self._lock = threading.Lock()

    def _refresh_locked(self) -> None:
        self._attempted_at = self._clock()
        self.fetches += 1
        try:
            keys = keys_from_jwks(self._fetch(self.url, self.timeout), skip_unusable=True)
        except Exception as e:
            # Keep serving the last good set, if any; keys() fails closed without one.
            log.warning("JWKS fetch from %s failed: %s", self.url, type(e).__name__)
            return
        # A JWKS URL publishes public keys; a shared secret has no business there.
        self._keys = [k for k in keys if not is_hmac(k.alg)]
        self._fetched_at = self._attempted_at

    def keys(self) -> List[VerificationKey]:
        with self._lock:
            now = self._clock()
            stale = self._keys is None or now - self._fetched_at >= self.max_age
            if stale and (self._attempted_at is None or now - self._attempted_at >= self.min_refresh_interval):
                self._refresh_locked()
            if self._keys is None:
                raise VerificationError("jwks_unavailable", "the JWKS could not be fetched")
            return list(self._keys)

    def refresh_for_unknown_kid(self) -> bool:
        """Fetch again unless one was attempted within min_refresh_interval.
        True when a fetch happened."""
        with self._lock:
            if self._attempted_at is not None and self._clock() - self._attempted_at < self.min_refresh_interval:
                return False
            self._refresh_locked()
            return True
