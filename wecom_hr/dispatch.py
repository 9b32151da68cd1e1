"""Dispatcher: routes stored events to handlers; one DB session per event.

A handler's writes and the event's "done" mark commit together. If the lease was lost (the worker
was too slow and another took the event over) the whole transaction rolls back, so database effects
happen exactly once; WeCom messages go through the outbox for the same reason.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from storage import inbox
from storage.db import utcnow
from wecom_hr import metrics
from wecom_hr.events import Event, MalformedEventError, parse_event
from wecom_hr.logs import event_id_var

if TYPE_CHECKING:
    from wecom_hr.config import Settings
    from wecom_hr.runtime import Runtime

log = logging.getLogger(__name__)
CLAIM_BATCH = 50  # one short claim transaction for many events: SQLite's one write lock is shared


@dataclass
class HandlerContext:
    runtime: Runtime
    session: Session
    event_id: int
    now: datetime

    @property
    def settings(self) -> Settings:
        return self.runtime.settings


Handler = Callable[[HandlerContext, Event], None]


@dataclass(frozen=True)
class Route:
    event: str
    change_type: str | None
    handler: Handler


class Dispatcher:
    def __init__(self, runtime: Runtime, routes: Sequence[Route]) -> None:
        self.runtime = runtime
        self._routes: dict[tuple[str, str | None], Handler] = {}
        for route in routes:
            key = (route.event, route.change_type)
            if key in self._routes:
                raise ValueError(f"two handlers for {key}")
            self._routes[key] = route.handler
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def find(self, event: Event) -> Handler | None:
        return self._routes.get((event.event, event.change_type)) or self._routes.get((event.event, None))

    def handle(self, event_id: int) -> str:
        """Run the handler for one claimed event; returns the status it ended in."""
        token = event_id_var.set(event_id)  # every log line below carries the event id
        try:
            return self._handle(event_id)
        finally:
            event_id_var.reset(token)

    def _handle(self, event_id: int) -> str:
        db = self.runtime.db
        label = "?"
        try:
            # No savepoint here: under pysqlite a SAVEPOINT opens a deferred transaction whose reads
            # pin a WAL snapshot, and the first write after anyone else's commit fails at once
            # (SQLITE_BUSY_SNAPSHOT). One plain transaction, rolled back whole on failure, avoids it.
            with db.session_scope() as session:
                row = session.get(inbox.InboxEvent, event_id)
                if row is None or row.locked_by != self.worker_id:
                    return "lost"
                label = row.event or "?"
                try:
                    event = parse_event(row.xml)
                except MalformedEventError as exc:  # stored only if it parsed once; be safe anyway
                    inbox.finish(session, event_id, self.worker_id, inbox.DEAD, f"malformed: {exc}")
                    return inbox.DEAD
                handler = self.find(event)
                status = inbox.DONE if handler else inbox.IGNORED
                if handler is not None:
                    handler(HandlerContext(self.runtime, session, event_id, utcnow()), event)
                if not inbox.finish(session, event_id, self.worker_id, status):
                    raise _LeaseLost()
        except _LeaseLost:
            log.warning("event %s: lease lost to another worker; rolled back", event_id)
            return "lost"
        except Exception as exc:
            return self._failed(event_id, label, exc)
        metrics.EVENTS_HANDLED.labels(status=status, event=label).inc()
        return status

    def _failed(self, event_id: int, label: str, exc: Exception) -> str:
        w = self.runtime.settings.worker
        if _is_lock_contention(exc):
            # SQLite's single writer was busy: not the handler's fault, so not an attempt.
            log.warning("event %s (%s): database busy, retrying shortly", event_id, label)
            with self.runtime.db.session_scope() as session:
                return inbox.postpone(session, event_id, self.worker_id, seconds=0.2 + random.random())
        log.exception("event %s (%s): handler failed", event_id, label)
        metrics.HANDLER_FAILURES.labels(event=label).inc()
        with self.runtime.db.session_scope() as session:
            status = inbox.fail(session, event_id, self.worker_id, f"{type(exc).__name__}: {exc}",
                                w.max_attempts, w.backoff_seconds, w.backoff_max_seconds)
        metrics.EVENTS_HANDLED.labels(status=status, event=label).inc()
        return status

    def drain(self, limit: int = 200) -> int:
        """Claim and handle due events until none are left or ``limit`` were handled."""
        handled = 0
        lease = timedelta(seconds=self.runtime.settings.worker.lease_seconds)
        while handled < limit:
            with self.runtime.db.session_scope() as session:
                ids = inbox.claim(session, self.worker_id, lease, limit=min(CLAIM_BATCH, limit - handled))
            if not ids:
                break
            for event_id in ids:
                self.handle(event_id)
                handled += 1
        return handled


class _LeaseLost(Exception):
    pass


def _is_lock_contention(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


class InboxWorker:
    """Drains the inbox and the outbox in a loop: a thread inside `serve`, or `wecom-hr worker`."""

    def __init__(self, dispatcher: Dispatcher, poll_seconds: float | None = None) -> None:
        from wecom_hr.outbox import deliver

        self.dispatcher = dispatcher
        self.runtime = dispatcher.runtime
        self._deliver = deliver
        self._poll = poll_seconds if poll_seconds is not None else self.runtime.settings.worker.poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        handled = self.dispatcher.drain()
        sent = self._deliver(self.runtime)
        return handled + sent

    def run_forever(self) -> None:
        log.info("inbox worker %s started", self.dispatcher.worker_id)
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # database down, WeCom down: keep the loop alive and try again
                log.exception("inbox worker iteration failed; retrying in %.1fs", self._poll)
                busy = 0
            if not busy:
                self.runtime.wakeup.wait(self._poll)
                self.runtime.wakeup.clear()

    def start(self) -> InboxWorker:
        self._thread = threading.Thread(target=self.run_forever, name="inbox-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.runtime.wakeup.set()
        if self._thread:
            self._thread.join(timeout)
