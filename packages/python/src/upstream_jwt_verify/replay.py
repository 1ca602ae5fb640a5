"""Replay stores: remember a jti until its token can no longer be accepted.

`InMemoryReplayStore` is for one process. It never forgets a live jti: when
it is full of live entries the new token is refused with `replay_cache_full`
(503) rather than evicting one, which would let a captured token be replayed
after enough fresh ones. Size it as peak accepted requests per second x the
longest token lifetime plus leeway.

`RedisReplayStore` is for several replicas: one `SET key NX PX ms` per token,
atomic in Redis, so a token accepted by one replica is refused by every other.
When Redis cannot be reached the request is refused with
`replay_store_unavailable` (503): fail closed, unless `fail_open=True`.

Redis key layout, the same in the Node package so replicas written in either
language share one store: a JWT's jti under `upstream-jwt:jti:<jti>`, an
RFC 9421 signature's nonce under `upstream-jwt:nonce:<nonce>`, each with the
value "1" and a TTL reaching one second past the last second the token or
signature could still be accepted.
"""

from __future__ import annotations

import heapq
import logging
import threading
from typing import Any, Dict, List, Optional, Protocol, Tuple

from .errors import VerificationError

log = logging.getLogger("upstream_jwt_verify")

# Separate namespaces, so a JWT whose jti happens to equal a nonce cannot spend it.
JTI_PREFIX = "upstream-jwt:jti:"
NONCE_PREFIX = "upstream-jwt:nonce:"


class ReplayStore(Protocol):
    def check_and_insert(self, jti: str, expires_at: int, now: int) -> None:
        """Remember jti until expires_at (epoch seconds). Raises VerificationError
        `replayed` when it is already live, `replay_cache_full` or
        `replay_store_unavailable` when it cannot be remembered. Atomic."""


class InMemoryReplayStore:
    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._expiry: Dict[str, int] = {}
        self._heap: List[Tuple[int, str]] = []  # (expires_at, jti), may hold stale pairs
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def _drop_expired(self, now: int) -> None:
        while self._heap and self._heap[0][0] <= now:
            exp, jti = heapq.heappop(self._heap)
            if self._expiry.get(jti) == exp:
                del self._expiry[jti]

    def check_and_insert(self, jti: str, expires_at: int, now: int) -> None:
        with self._lock:
            seen = self._expiry.get(jti)
            if seen is not None:
                if seen > now:
                    raise VerificationError("replayed", "jti was already used")
                del self._expiry[jti]
            if len(self._expiry) >= self.capacity:
                self._drop_expired(now)
            if len(self._expiry) >= self.capacity:
                raise VerificationError(
                    "replay_cache_full",
                    f"replay cache holds {self.capacity} live jti values; refusing rather than forgetting one")
            self._expiry[jti] = expires_at
            heapq.heappush(self._heap, (expires_at, jti))
            # Stale heap pairs (a jti re-inserted after expiry) are bounded by
            # the live count; compact when they dominate.
            if len(self._heap) > 2 * self.capacity:
                self._heap = [(e, j) for j, e in self._expiry.items()]
                heapq.heapify(self._heap)


class RedisReplayStore:
    """`client`: a redis-py client (`redis.Redis.from_url(url)`), or anything with
    `set(name, value, nx=True, px=ms)`. Keys are `prefix + jti`; for an
    RFC 9421 SignatureVerifier pass `prefix=NONCE_PREFIX`."""

    def __init__(self, client: Any, prefix: str = JTI_PREFIX, fail_open: bool = False) -> None:
        self.client = client
        self.prefix = prefix
        self.fail_open = fail_open

    @classmethod
    def from_url(cls, url: str, timeout: float = 1.0, **kw: Any) -> "RedisReplayStore":
        import redis  # optional dependency: python3-redis

        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return cls(client, **kw)

    def check_and_insert(self, jti: str, expires_at: int, now: int) -> None:
        ttl_ms = max(1, (expires_at - now) * 1000)
        try:
            stored: Optional[bool] = self.client.set(self.prefix + jti, b"1", nx=True, px=ttl_ms)
        except Exception as e:  # connection refused, timeout, auth, READONLY replica...
            if self.fail_open:
                log.warning("replay store unavailable, accepting without replay check: %s", type(e).__name__)
                return
            raise VerificationError("replay_store_unavailable",
                                    f"replay store unavailable: {type(e).__name__}") from None
        if not stored:
            raise VerificationError("replayed", "jti was already used")
