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
    # apscheduler_jobs is created by APScheduler's own job store, not by our models.
    diff = [d for d in diff if "apscheduler_jobs" not in str(d)]
    assert diff == [], diff
