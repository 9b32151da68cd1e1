"""Runtime: what a process needs to do work — settings, database, Redis, WeCom clients, locks.

Built explicitly by the CLI, the app factory or a test; nothing here runs at import time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from storage.db import Database
from wecom_hr.config import Settings
from wecom_hr.inbox_writer import InboxWriter
from wecom_hr.locks import Locks
from wecom_hr.metrics import observe_api_call
from wecom_hr.wecom import WeComClient
from wecom_hr.wecom.client import RetryPolicy
from wecom_hr.wecom.tokens import FallbackTokenStore, MemoryTokenStore, RedisTokenStore, TokenStore

SECRET_KINDS = ("app", "contact", "archive")


class Runtime:
    def __init__(self, settings: Settings, db: Database | None = None, redis: Any = None,
                 retry: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.db = db or Database(settings.database_url)
        if redis is None and settings.redis_url:
            import redis as redis_lib

            redis = redis_lib.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
        self.redis = redis
        self.tokens: TokenStore = (FallbackTokenStore(RedisTokenStore(redis, settings.redis_prefix))
                                   if redis is not None else MemoryTokenStore())
        self.locks = Locks(self.db, redis, settings.redis_prefix)
        self._retry = retry
        self._clients: dict[str, WeComClient] = {}
        self._clients_lock = threading.Lock()
        self.inbox_writer = InboxWriter(self.db.engine)  # group commit for /wecom/callback
        self.wakeup = threading.Event()  # set when the callback stored an event (embedded worker)

    def secret(self, kind: str) -> str:
        w = self.settings.wecom
        if kind == "app":
            return w.secret
        if kind == "contact":
            return w.effective_contact_secret
        if kind == "archive":  # never the app secret: [archive] refuses an sdk_path without it
            return w.archive_secret
        raise ValueError(f"unknown secret kind {kind!r}; expected one of {SECRET_KINDS}")

    def wecom(self, kind: str = "app") -> WeComClient:
        with self._clients_lock:
            client = self._clients.get(kind)
            if client is None:
                w = self.settings.wecom
                client = WeComClient(w.corp_id, self.secret(kind), w.api_base_url, tokens=self.tokens,
                                     timeout=w.timeout_seconds, retry=self._retry, observer=observe_api_call)
                self._clients[kind] = client
            return client

    @contextmanager
    def lock(self, name: str, ttl: float = 300.0) -> Iterator[bool]:
        with self.locks.hold(name, ttl) as got:
            yield got

    def close(self) -> None:
        self.db.dispose()
        if self.redis is not None:
            self.redis.close()
