"""Inserting many rows at once through the driver: COPY on PostgreSQL (binary where every column has
a binary form we send), multi-row INSERTs on SQLite.

SQLAlchemy's executemany builds and converts parameters row by row and column by column, which
costs more than the database's own work at a hundred thousand rows. Here each column's values go
through the dialect's own bind conversion (so SQLite stores datetimes as the models read them
back), repeated timestamps are converted once, JSON is written as compact UTF-8 text, and the rows
go to the driver as tuples. Driver errors come back as SQLAlchemy's (IntegrityError for a unique violation).
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

Processor = Callable[[Any], Any]
SQLITE_ROWS_PER_INSERT = 500


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
                constants: dict[str, Any] | None = None) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) into ``table``; ``constants`` give further
    columns one value for every row. Runs in the session's transaction."""
    if not rows:
        return
    session.flush()  # the ORM's pending rows first, in the order the caller made them
    conn = session.connection()
    dialect = conn.dialect
    converted = _convert(table, dialect, tuple(columns), rows)
    if constants:
        tail = _convert(table, dialect, tuple(constants), [tuple(constants.values())])[0]
        converted = [row + tail for row in converted]
    quote = dialect.identifier_preparer.quote
    names = [*columns, *(constants or {})]
    into = f"{quote(table.name)} ({', '.join(quote(n) for n in names)})"
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        if dialect.name == "postgresql":
            types = _binary_types(table, dialect, tuple(names))
            with cursor.copy(f"COPY {into} FROM STDIN" + (" (FORMAT BINARY)" if types else "")) as copy:
                if types:
                    copy.set_types(types)
                for row in converted:
                    copy.write_row(row)
        else:
            _sqlite_insert(cursor, into, len(names), converted)
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(f"INSERT INTO {into}", None, exc, dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()


# PostgreSQL's binary COPY skips the text round trip (formatting here, parsing in the server) for
# what both sides hold in binary; JSON goes as its text, which is json's binary form too.
_BINARY = {"BIGINT": "int8", "INTEGER": "int4", "SMALLINT": "int2", "BOOLEAN": "bool", "TEXT": "text",
           "JSON": "text", "TIMESTAMP WITH TIME ZONE": "timestamptz", "TIMESTAMP WITHOUT TIME ZONE": "timestamp"}


@functools.lru_cache(maxsize=64)
def _binary_types(table: Table, dialect: Dialect, columns: tuple[str, ...]) -> list[str] | None:
    """The binary COPY types of these columns, or None when one has no binary form we send."""
    out = []
    for name in columns:
        compiled = table.c[name].type.compile(dialect=dialect).upper()
        kind = "text" if compiled.startswith("VARCHAR") else _BINARY.get(compiled)
        if kind is None:
            return None
        out.append(kind)
    return out


def _sqlite_insert(cursor: Any, into: str, width: int, rows: list[tuple[Any, ...]]) -> None:
    """Many rows per INSERT statement. sqlite3 lets other threads run while it steps a statement, and
    getting the interpreter back can take milliseconds when other threads are busy (the resync's
    walkers decoding pages): one statement per row would spend more time waiting than writing."""
    limit = cursor.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # 999 before SQLite 3.32
    per = max(1, min(SQLITE_ROWS_PER_INSERT, limit // width))
    one = f"({', '.join('?' * width)})"
    full = len(rows) - len(rows) % per
    if full:
        cursor.executemany(f"INSERT INTO {into} VALUES {', '.join([one] * per)}",
                           [tuple(chain.from_iterable(rows[i:i + per])) for i in range(0, full, per)])
    if full < len(rows):
        rest = rows[full:]
        cursor.execute(f"INSERT INTO {into} VALUES {', '.join([one] * len(rest))}",
                       tuple(chain.from_iterable(rest)))


def _convert(table: Table, dialect: Dialect, columns: tuple[str, ...],
             rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows with each value as the driver wants it; columns without a conversion are left alone."""
    converters = _processors(table, dialect, columns)
    if not converters:
        return list(rows)
    by_column: list[Sequence[Any]] = list(zip(*rows, strict=True))
    for i, process, repeats in converters:
        by_column[i] = list(map(_memoized(process) if repeats else process, by_column[i]))
    return list(zip(*by_column, strict=True))


@functools.lru_cache(maxsize=64)
def _processors(table: Table, dialect: Dialect, columns: tuple[str, ...]) -> list[tuple[int, Processor, bool]]:
    """(position, the dialect's bind conversion, whether values repeat) of the columns that have one."""
    out: list[tuple[int, Processor, bool]] = []
    for i, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            out.append((i, _to_json, False))
            continue
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            out.append((i, process, isinstance(getattr(column_type, "impl", column_type), DateTime)))
    return out


_json_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _to_json(value: Any) -> str:
    """JSON columns get JSON text on both databases (COPY takes text), compact and in UTF-8, which
    SQLAlchemy reads back as it reads its own. orjson writes the same text several times faster; the
    standard encoder takes what orjson refuses (integers beyond 64 bits, say)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return _json_text(value)


def _memoized(process: Processor) -> Processor:
    """Timestamps repeat (one "now" per write, the same createtime for many rows): convert each once."""
    done: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return done[value]
        except KeyError:
            result = done[value] = process(value)
            return result
    return convert
