"""Cross-process locks: Redis when configured, else a lease row in the database."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from storage import locks as lease_rows
from storage.db import Database
from wecom_hr.wecom.tokens import REDIS_ERRORS

log = logging.getLogger(__name__)


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:6]}"


class Locks:
    def __init__(self, db: Database, redis=None, prefix: str = "wecom-hr:") -> None:  # type: ignore[no-untyped-def]
        self._db = db
        self._redis = redis
        self._prefix = prefix + "lock:"

    @contextmanager
    def hold(self, name: str, ttl: float = 300.0) -> Iterator[bool]:
        """Try once, without waiting; yields whether this caller holds the lock."""
        if self._redis is not None:
            lock = self._redis.lock(self._prefix + name, timeout=ttl, blocking=False)
            try:
                got = lock.acquire(blocking=False)
            except REDIS_ERRORS as exc:  # fail closed: without Redis nobody can prove exclusivity
                log.warning("lock %s: Redis unreachable (%s); not running", name, type(exc).__name__)
                got = False
            try:
                yield bool(got)
            finally:
                if got:
                    try:
                        lock.release()
                    except Exception:  # expired while we worked, or Redis went away: nothing to free
                        pass
            return
        me = holder_id()
        with self._db.session_scope() as s:
            got = lease_rows.acquire(s, name, me, ttl)
        try:
            yield got
        finally:
            if got:
                with self._db.session_scope() as s:
                    lease_rows.release(s, name, me)

    def renewable(self, name: str, holder: str, ttl: float) -> bool:
        """Take or extend a long-held lease (the scheduler's leadership); True while we hold it."""
        if self._redis is not None:
            key = self._prefix + name
            script = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
                      "return redis.call('expire', KEYS[1], ARGV[2]) end return 0")
            try:
                if self._redis.set(key, holder, nx=True, ex=int(ttl)):
                    return True
                return bool(self._redis.eval(script, 1, key, holder, int(ttl)))
            except REDIS_ERRORS as exc:  # the leader steps down; it resumes when Redis answers again
                log.warning("lease %s: Redis unreachable (%s); standing by", name, type(exc).__name__)
                return False
        with self._db.session_scope() as s:
            return lease_rows.acquire(s, name, holder, ttl)
