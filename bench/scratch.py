"""Scratch databases for the benchmarks: SQLite in a temporary folder, or a new PostgreSQL database
created beside the one a URL names (so a run never writes into it) and dropped afterwards."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def scratch_postgres(url: str, prefix: str) -> tuple[str, Callable[[], None]]:
    """(the new database's URL, a function that drops it)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(url).set(database=name).render_as_string(hide_password=False), drop


def scratch_database(pg_url: str, prefix: str, folder: str | None = None) -> tuple[str, Callable[[], None]]:
    """PostgreSQL beside ``pg_url`` when one is given, else a SQLite file in ``folder`` (or a new temporary one)."""
    if pg_url:
        return scratch_postgres(pg_url, prefix)
    return f"sqlite:///{folder or tempfile.mkdtemp()}/bench.db", lambda: None
