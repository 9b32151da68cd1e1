"""Engine, sessions and migrations. Nothing connects at import time."""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Self, cast

from sqlalchemy import CursorResult, DateTime, Engine, Result, String, Table, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

MIGRATIONS = Path(__file__).parent / "migrations"


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: date | None) -> str | None:
    """ISO 8601 text of a date or datetime for JSON, or None."""
    return value.isoformat() if value else None


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite forgets the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE/INSERT/DELETE touched (typed: Session.execute returns a CursorResult here)."""
    return int(cast(CursorResult[Any], result).rowcount)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), str: String(255)}


def table(model: type[Base]) -> Table:
    """A model's Table, typed as one (``__table__`` is only a FromClause to the type checker)."""
    return cast(Table, model.__table__)


# Statements that may write. WITH is included (a CTE may end in INSERT/UPDATE/DELETE): a read-only
# CTE then merely waits its turn, while a writing one that skipped the queue could hold SQLite's lock
# against a writer already holding the file lock.
_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|WITH|BEGIN\s+(IMMEDIATE|EXCLUSIVE))\b",
                     re.I)
BUSY_SECONDS = 30.0
YIELD_SECONDS = 0.004  # an ordinary writer lets queued callback batches go first for at most this long


class QueuedConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions queue on a file lock shared by every process.

    SQLite has one writer, and its busy handler waits by sleeping 1, 2, 5 ... 100 ms, so under load a
    writer sleeps long after the lock came free. Here a write transaction takes ``<db>.write-lock``
    before its first write statement and gives it back at commit or rollback; a waiter polls it every
    0.2-2 ms. A ``priority`` connection (the callback's inbox writer: a WeCom request waits on it)
    marks itself waiting, and ordinary writers (the inbox worker, jobs) let it go first."""

    priority = False

    def __init__(self, database: str, *args: object, **kwargs: object) -> None:
        super().__init__(database, *args, **kwargs)  # type: ignore[arg-type]
        path = os.fspath(database)
        memory = not path or path == ":memory:" or path.startswith("file:")
        self._lock_path = None if memory else path + ".write-lock"
        self._lock: int | None = None
        self._waiting: int | None = None
        self._held = False

    def cursor(self, factory: type[sqlite3.Cursor] | None = None) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory or _QueuedCursor)

    def before_statement(self, sql: str) -> None:
        if self._lock_path is not None and not self._held and _WRITES.match(sql):
            self._take_turn()

    def after_statement(self) -> None:
        if self._held and not self.in_transaction:  # an autocommit write: the turn is over
            self._end_turn()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._end_turn()
            for fd in (self._lock, self._waiting):
                if fd is not None:
                    os.close(fd)
            self._lock = self._waiting = None

    def _fd(self, suffix: str) -> int:
        return os.open(f"{self._lock_path}{suffix}", os.O_RDWR | os.O_CREAT, 0o600)

    def _take_turn(self) -> None:
        if self._lock is None or self._waiting is None:
            self._lock, self._waiting = self._fd(""), self._fd(".waiting")
        lock, waiting = self._lock, self._waiting
        if self.priority:
            fcntl.flock(waiting, fcntl.LOCK_SH)  # "a callback is waiting"
        try:
            self._held = _poll_lock(lock, True if self.priority else waiting)
        finally:
            if self.priority:
                fcntl.flock(waiting, fcntl.LOCK_UN)

    def _end_turn(self) -> None:
        if self._held and self._lock is not None:
            self._held = False
            fcntl.flock(self._lock, fcntl.LOCK_UN)


def _poll_lock(fd: int, waiting: int | bool) -> bool:
    """Take the write lock (True), or give up after BUSY_SECONDS and leave it to SQLite's busy
    handler (False). ``waiting``: the fd showing whether priority writers wait, or True for one."""
    started = time.monotonic()
    pause = 0.0002
    while True:
        elapsed = time.monotonic() - started
        if waiting is True or elapsed > YIELD_SECONDS or _free(waiting):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                pass
        if elapsed > BUSY_SECONDS:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.002)


def _free(waiting: int) -> bool:
    try:
        fcntl.flock(waiting, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(waiting, fcntl.LOCK_UN)
    return True


class _QueuedCursor(sqlite3.Cursor):
    connection: QueuedConnection

    def execute(self, sql: str, parameters: Any = (), /) -> Self:
        self.connection.before_statement(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            self.connection.after_statement()

    def executemany(self, sql: str, parameters: Any, /) -> Self:
        self.connection.before_statement(sql)
        try:
            return super().executemany(sql, parameters)
        finally:
            self.connection.after_statement()


def make_engine(url: str, **kwargs: object) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connect_args = {"timeout": BUSY_SECONDS, "check_same_thread": False, "factory": QueuedConnection}
        engine = create_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # a 200 to WeCom means the event survives power loss
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # Bulk jobs (a resync's 100,000 customers, an archive pull) touch more pages than the
            # default 2 MiB holds; 32 MiB per connection, taken only as a connection uses it.
            cur.execute("PRAGMA cache_size=-32768")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


class Database:
    def __init__(self, url: str, **engine_kwargs: object) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply every migration branch (features are branches off the core)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def current_heads(url: str) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def is_up_to_date(url: str) -> bool:
    from alembic.script import ScriptDirectory

    return current_heads(url) == set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
