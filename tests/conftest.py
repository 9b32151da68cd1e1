"""Shared fixtures: a real database (SQLite, or a fresh PostgreSQL database per run), real Redis,
and the WeCom simulator on port 0.

WECOM_HR_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test runs the suite on
PostgreSQL: each run creates its own database next to ``test`` and drops it afterwards, so parallel
runs never see each other's rows. WECOM_HR_TEST_REDIS_URL (default redis://127.0.0.1:6379/0) is
used with a key prefix unique to each test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage import db as dbmod
from storage.models import metadata

PG_URL = os.environ.get("WECOM_HR_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("WECOM_HR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

TEST_CORP = "ww1436e0e65a779aee"
TEST_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
TEST_AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"


@pytest.fixture(autouse=True)
def _no_real_wecom(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that reaches for the real qyapi host fails loudly instead of leaving the machine."""
    import socket

    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(host, str) and host.endswith(("weixin.qq.com", "work.weixin.qq.com")):
            raise AssertionError(f"test tried to reach the real WeCom ({host}); use the simulator")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not PG_URL:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        dbmod.upgrade(url)
        yield url
        return
    name = f"wecomhr_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # UTF-8 collation so pg_trgm and lower() treat Chinese text as letters, not bytes.
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING UTF8 '
                          "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        dbmod.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def wipe(database: dbmod.Database) -> None:
    """Empty every table a test may have written. On PostgreSQL TRUNCATE costs per table, so one
    query finds the tables that hold rows and only those are truncated."""
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.engine.dialect.name == "postgresql":
            probe = " UNION ALL ".join(f"SELECT '{t}' FROM (SELECT 1 FROM \"{t}\" LIMIT 1) AS x" for t in tables)
            used = [row[0] for row in conn.execute(text(probe))]
            if used:
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in used) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
def db(db_url: str) -> Iterator[dbmod.Database]:
    database = dbmod.Database(db_url)
    wipe(database)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        pytest.skip("WECOM_HR_TEST_REDIS_URL is empty")
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    import redis

    prefix = f"wecom-hr-test:{uuid.uuid4().hex[:10]}:"
    yield prefix
    r = redis.Redis.from_url(redis_url)
    keys = list(r.scan_iter(prefix + "*"))
    if keys:
        r.delete(*keys)
    r.close()


@pytest.fixture
def wecom_env(db: dbmod.Database):  # type: ignore[no-untyped-def]
    """The service on the test database, wired to a fresh simulator (see tests/helpers.py)."""
    from tests.helpers import make_env

    env = make_env(db)
    try:
        yield env
    finally:
        env.close()
