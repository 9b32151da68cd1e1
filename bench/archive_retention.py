"""Retention figures on a copy of the 1M-message search bench archive (the original is untouched).

    python -m bench.archive_retention --backend both

Verify the chain, purge the older half with two members under legal hold (their one-to-one
chats and every group chat they appear in are kept), verify again (now stepping over the
gaps), and purge once more (nothing left to do). Prints seconds and rows per second.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import time
from datetime import UTC, datetime

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage import db as dbmod
from storage.archive_chain import verify
from storage.archive_retention import purge

HOLDS = ("lina101", "zhangwei104")


def _timed(label: str, fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    print(f"  {label}: {time.perf_counter() - start:.1f}s", flush=True)
    return result


def copy_sqlite(source: str, target: str) -> str:
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(target + suffix):
            os.unlink(target + suffix)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return f"sqlite:///{target}"


def copy_pg(url: str, scratch: str) -> str:
    source = make_url(url)
    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}"'))
        conn.execute(text(f'CREATE DATABASE "{scratch}" TEMPLATE "{source.database}"'))
    admin.dispose()
    return source.set(database=scratch).render_as_string(hide_password=False)


def drop_pg(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


def run(url: str) -> None:
    dbmod.upgrade(url)  # the bench archive may predate the retention tables
    database = dbmod.Database(url)
    with database.engine.connect() as conn:
        rows = int(conn.execute(text("SELECT count(*) FROM archive_messages")).scalar_one())
        cutoff = int(conn.execute(text("SELECT msgtime FROM archive_messages WHERE id = :i"),
                                  {"i": rows // 2}).scalar_one())
    print(f"== {database.engine.dialect.name}: {rows:,} messages; purge before msgid position {rows // 2:,}")
    with database.session_scope() as s:
        report = _timed("verify", lambda: verify(s))
    print(f"  {report.line()}")
    now = datetime.now(UTC)

    def go(dry: bool):  # type: ignore[no-untyped-def]
        return purge(database, cutoff, HOLDS, b"", actor="bench", reason="bench", now=now, dry_run=dry)

    dry = _timed("purge --dry-run", lambda: go(True))
    done = _timed("purge", lambda: go(False))
    print(f"  due {done.due:,}, held {done.held:,} (dry run said {dry.held:,}), deleted {done.deleted:,} "
          f"in {done.checkpoints:,} checkpoints, {done.gaps:,} gaps")
    with database.session_scope() as s:
        after = _timed("verify after purge", lambda: verify(s))
    print(f"  {after.line()}")
    again = _timed("purge again", lambda: go(False))
    print(f"  second run deleted {again.deleted:,}")
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sqlite-path", default="/tmp/wecom_hr_archive_bench.db")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/wecom_hr_archive_bench")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        scratch = args.sqlite_path + ".retention"
        url = _timed("copy", lambda: copy_sqlite(args.sqlite_path, scratch))
        try:
            run(url)
        finally:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(scratch + suffix):
                    os.unlink(scratch + suffix)
    if args.backend in ("postgresql", "both"):
        url = _timed("copy", lambda: copy_pg(args.pg_url, "wecom_hr_archive_retention_bench"))
        try:
            run(url)
        finally:
            drop_pg(url)


if __name__ == "__main__":
    main()
