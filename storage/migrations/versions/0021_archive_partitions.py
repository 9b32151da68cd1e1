"""chat archive on PostgreSQL: messages, docs and postings partitioned by month of msgtime

Converts an existing archive in place (SQLite is left as it is): the plain tables are renamed
aside, partitioned tables with the same columns are created with a partition for every month the
archive holds, the rows are copied over in batches (keyset order, so each batch is one index range)
and the old tables dropped. It all runs in the migration's one transaction: a failure leaves the
plain tables exactly as they were.

Keys must hold the partition key: the primary keys become (id, msgtime), and msgid uniqueness is
UNIQUE (msgid, msgtime). That is the same guarantee for the archive's duplicates: a message WeCom
delivers twice carries the same msgtime both times, so both copies land in one partition (and the
appender also skips known msgids under the chain head lock before inserting).

Revision ID: 0021
Revises: 0010
Create Date: 2026-12-04 20:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.archive_partitions import AFTER_LO, BEFORE_HI, Month, create_fixed, create_months

revision = "0021"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 50_000

MESSAGE_COLUMNS = """id bigint NOT NULL, msgid varchar(128) NOT NULL, seq bigint NOT NULL, action varchar(16) NOT NULL,
    msgtype varchar(32) NOT NULL, sender varchar(128) NOT NULL, tolist text NOT NULL, roomid varchar(128) NOT NULL,
    customer varchar(128) NOT NULL, msgtime bigint NOT NULL, text text NOT NULL, ref_msgid varchar(128) NOT NULL,
    raw text NOT NULL, prev_hash varchar(64) NOT NULL, hash varchar(64) NOT NULL"""
DOC_COLUMNS = """id bigint NOT NULL, msgtime bigint NOT NULL, sender varchar(128) NOT NULL,
    customer varchar(128) NOT NULL, conv varchar(300) NOT NULL, msgtype varchar(32) NOT NULL, body text NOT NULL"""
POSTING_COLUMNS = "gram bigint NOT NULL, msgtime bigint NOT NULL, doc_id bigint NOT NULL, next2 bigint NOT NULL, " \
    "marks smallint NOT NULL"

# table -> (columns, keys, secondary indexes (name, columns), keyset order for the copy)
TABLES: dict[str, tuple[str, list[str], list[tuple[str, str]], str]] = {
    "archive_messages": (MESSAGE_COLUMNS, ["PRIMARY KEY (id, msgtime)", "UNIQUE (msgid, msgtime)"],
                         [("ix_archive_messages_ref", "ref_msgid")], "id"),
    "archive_docs": (DOC_COLUMNS, ["PRIMARY KEY (id, msgtime)"],
                     [("ix_archive_docs_time", "msgtime, id"), ("ix_archive_docs_sender", "sender, msgtime"),
                      ("ix_archive_docs_customer", "customer, msgtime"), ("ix_archive_docs_conv", "conv, msgtime, id")],
                     "id"),
    "archive_postings": (POSTING_COLUMNS, ["PRIMARY KEY (gram, msgtime, doc_id, next2, marks)"], [],
                         "gram, msgtime, doc_id, next2, marks"),
}
PLAIN_KEYS = {"archive_messages": ["PRIMARY KEY (id)", "UNIQUE (msgid)"], "archive_docs": ["PRIMARY KEY (id)"],
              "archive_postings": ["PRIMARY KEY (gram, msgtime, doc_id, next2, marks)"]}


def _partitioned(bind: sa.Connection) -> bool:
    return bind.execute(sa.text("SELECT 1 FROM pg_partitioned_table "
                                "WHERE partrelid = to_regclass('archive_messages')")).first() is not None


def _set_aside(bind: sa.Connection, table: str) -> str:
    """Rename a table and its constraints and indexes out of the way (the new table reuses the names)."""
    old = f"{table}_unpartitioned"
    bind.execute(sa.text(f"ALTER TABLE {table} RENAME TO {old}"))
    names = bind.execute(sa.text("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                                 "WHERE i.indrelid = CAST(:t AS regclass)"), {"t": old}).scalars().all()
    for name in names:
        bind.execute(sa.text(f'ALTER INDEX "{name}" RENAME TO "{name}_unpartitioned"'))
    return old


def _create(bind: sa.Connection, table: str, partitioned: bool) -> None:
    columns, keys, indexes, _ = TABLES[table]
    keys = keys if partitioned else PLAIN_KEYS[table]
    tail = " PARTITION BY RANGE (msgtime)" if partitioned else ""
    bind.execute(sa.text(f"CREATE TABLE {table} ({columns}, {', '.join(keys)}){tail}"))
    for name, cols in indexes:
        bind.execute(sa.text(f"CREATE INDEX {name} ON {table} ({cols})"))


def _names(table: str) -> str:
    return ", ".join(c.split()[0] for c in TABLES[table][0].split(","))


def _copy(bind: sa.Connection, source: str, target: str, order: str) -> int:
    """Copy in keyset batches of BATCH rows; returns the rows copied."""
    cols, names = [c.strip() for c in order.split(",")], _names(target)
    after: tuple[int, ...] | None = None
    copied = 0
    while True:
        where = f"WHERE ({order}) > ({', '.join(f':k{i}' for i in range(len(cols)))})" if after else ""
        params = {f"k{i}": v for i, v in enumerate(after or ())}
        last = bind.execute(sa.text(
            f"WITH batch AS (SELECT * FROM {source} {where} ORDER BY {order} LIMIT {BATCH}), "
            f"copied AS (INSERT INTO {target} ({names}) SELECT {names} FROM batch) "
            f"SELECT {order}, (SELECT count(*) FROM batch) FROM batch ORDER BY {', '.join(c + ' DESC' for c in cols)} "
            "LIMIT 1"), params).first()
        if last is None:
            return copied
        after, copied = tuple(last[:-1]), copied + int(last[-1])


def _months_held(bind: sa.Connection, table: str) -> set[Month]:
    rows = bind.execute(sa.text(
        f"SELECT DISTINCT extract(year FROM t)::int, extract(month FROM t)::int FROM ("
        f"SELECT to_timestamp(msgtime / 1000.0) AT TIME ZONE 'UTC' AS t FROM {table} "
        f"WHERE msgtime >= {BEFORE_HI} AND msgtime < {AFTER_LO}) s"))
    return {Month(int(y), int(m)) for y, m in rows}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or _partitioned(bind):
        return
    old = {table: _set_aside(bind, table) for table in TABLES}
    for table in TABLES:
        _create(bind, table, partitioned=True)
    create_fixed(bind)
    create_months(bind, _months_held(bind, old["archive_messages"]))
    for table, (_, _, _, order) in TABLES.items():
        _copy(bind, old[table], table, order)
        bind.execute(sa.text(f"DROP TABLE {old[table]}"))
    for table in TABLES:
        bind.execute(sa.text(f"ANALYZE {table}"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _partitioned(bind):
        return
    # The renamed parent keeps its partitions attached; they go with it at the DROP below.
    old = {table: _set_aside(bind, table) for table in TABLES}
    for table, (_, _, _, order) in TABLES.items():
        _create(bind, table, partitioned=False)
        _copy(bind, old[table], table, order)
        bind.execute(sa.text(f"DROP TABLE {old[table]}"))
