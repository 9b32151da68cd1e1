"""Access-token caches. One token per (corp, secret); Redis shares it across processes.

A refresh happens under a lock and re-reads the cache first, so N workers that all see an expired
token make one gettoken call. Invalidation is compare-and-delete: a worker holding a stale token
does not throw away the fresh one another worker just fetched.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, LockError)

Fetch = Callable[[], tuple[str, int]]  # -> (token, expires_in seconds)
EARLY_REFRESH = 300  # refresh five minutes before WeCom's expiry, as its docs advise


def cache_key(corp_id: str, secret: str) -> str:
    return hashlib.sha256(f"{corp_id}:{secret}".encode()).hexdigest()[:24]


class TokenStore(Protocol):
    def get(self, key: str, fetch: Fetch) -> str: ...
    def invalidate(self, key: str, token: str) -> None: ...


class MemoryTokenStore:
    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _valid(self, key: str) -> str | None:
        entry = self._tokens.get(key)
        return entry[0] if entry and entry[1] > time.time() else None

    def get(self, key: str, fetch: Fetch) -> str:
        token = self._valid(key)
        if token:
            return token
        with self._lock:
            token = self._valid(key)
            if token:
                return token
            token, expires_in = fetch()
            self._tokens[key] = (token, time.time() + max(expires_in - EARLY_REFRESH, 1))
            return token

    def invalidate(self, key: str, token: str) -> None:
        with self._lock:
            if self._tokens.get(key, ("",))[0] == token:
                del self._tokens[key]


class RedisTokenStore:
    def __init__(self, redis, prefix: str) -> None:  # type: ignore[no-untyped-def]
        self._redis = redis
        self._prefix = prefix + "token:"

    def get(self, key: str, fetch: Fetch) -> str:
        name = self._prefix + key
        token = self._redis.get(name)
        if token:
            return token.decode()
        with self._redis.lock(name + ":lock", timeout=30, blocking_timeout=35):
            token = self._redis.get(name)
            if token:
                return token.decode()
            token, expires_in = fetch()
            self._redis.set(name, token, ex=max(expires_in - EARLY_REFRESH, 1))
            return token

    _CAS_DELETE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def invalidate(self, key: str, token: str) -> None:
        self._redis.eval(self._CAS_DELETE, 1, self._prefix + key, token)


class FallbackTokenStore:
    """Redis first; while Redis is unreachable, a per-process cache keeps WeCom calls working.

    The price of the outage is one gettoken per process instead of one per deployment; when Redis
    answers again the shared token is used again. Logged once per outage, not per call.
    """

    def __init__(self, primary: TokenStore, fallback: TokenStore | None = None) -> None:
        self._primary = primary
        self._fallback = fallback or MemoryTokenStore()
        self._degraded = False

    def _note(self, degraded: bool, exc: Exception | None = None) -> None:
        if degraded and not self._degraded:
            log.warning("token cache: Redis unreachable (%s); using a per-process cache", type(exc).__name__)
        elif not degraded and self._degraded:
            log.warning("token cache: Redis is back; sharing tokens again")
        self._degraded = degraded

    def get(self, key: str, fetch: Fetch) -> str:
        try:
            token = self._primary.get(key, fetch)
        except REDIS_ERRORS as exc:
            self._note(True, exc)
            return self._fallback.get(key, fetch)
        self._note(False)
        return token

    def invalidate(self, key: str, token: str) -> None:
        self._fallback.invalidate(key, token)
        try:
            self._primary.invalidate(key, token)
        except REDIS_ERRORS as exc:
            self._note(True, exc)
