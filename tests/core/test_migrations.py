"""The migrations build exactly the schema the models describe (every feature branch included)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.db import Database, alembic_config, current_heads
from storage.models import metadata


def test_database_is_at_every_head(db: Database) -> None:
    heads = set(ScriptDirectory.from_config(alembic_config(db.url)).get_heads())
    assert current_heads(db.url) == heads


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    # apscheduler_jobs is created by APScheduler's own job store, not by our models; on PostgreSQL the
    # archive's month partitions (archive_*_pYYYYMM, created as messages arrive) are not models either.
    diff = [d for d in diff if "apscheduler_jobs" not in str(d) and not _is_partition(d)]
    if db.engine.dialect.name == "postgresql":  # partitioned: its keys include msgtime (migration 0021)
        diff = [d for d in diff if not _is_archive_key(d)]
    assert diff == [], diff


def _is_partition(change: object) -> bool:
    import re

    item = change[1] if isinstance(change, tuple) and len(change) > 1 else None
    table = getattr(item, "table", item)  # an Index names its table
    name = getattr(table, "name", "")
    return bool(re.fullmatch(r"archive_(messages|docs|postings)_p(\d{6}|before|after)", str(name)))


def _is_archive_key(change: object) -> bool:
    """The partitioned archive's unique keys are (msgid, msgtime) and (id, msgtime) where the models,
    which describe the SQLite tables, say msgid and id (storage/archive.py)."""
    if not (isinstance(change, tuple) and change and change[0] in ("remove_constraint", "add_constraint")):
        return False
    table = getattr(getattr(change[1], "table", None), "name", "")
    return table in ("archive_messages", "archive_docs", "archive_postings")
