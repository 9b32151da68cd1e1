"""What a resync write reads from the pool: fingerprints of the pages' customers and relations, the
stored values of the few that differ, and the open relations a finished batch did not see.

Core queries returning plain rows, a thousand keys per IN (...): the ORM adds nothing here, and a
resync reads every relation.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Executable, Row, String, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.customers import Customer, CustomerFollow
from wecom_hr.customers.fields import CONTACT_FIELDS, FOLLOW_FIELDS, diff, keep_unseen_tags

CHUNK = 1000  # keys per IN (...) query
F = CustomerFollow


@dataclass
class Stored:
    customers: dict[str, str] = field(default_factory=dict)                     # ext -> digest
    open_rows: dict[tuple[str, str], Any] = field(default_factory=dict)     # rows: id, digest, no_created, ...
    latest_ended: dict[tuple[str, str], Any] = field(default_factory=dict)  # the newest ended episode of a pair


def chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def _keys(column: InstrumentedAttribute[str], postgresql: bool) -> ColumnElement[bool]:
    """``column`` is one of :keys. PostgreSQL gets one array parameter: the statement text stays the
    same whatever the number of keys, so the server prepares and plans it once, not per call."""
    if postgresql:
        return column == any_(bindparam("keys", type_=ARRAY(String)))
    return column.in_(bindparam("keys", expanding=True))


@functools.cache
def _stored_queries(postgresql: bool) -> tuple[Executable, Executable]:
    customers = select(Customer.external_userid, Customer.digest).where(_keys(Customer.external_userid, postgresql))
    episodes = select(F.id, F.external_userid, F.userid, F.digest, F.follow_created_at.is_(None).label("no_created"),
                      F.ended_at, F.end_reason, F.end_recorded_at, F.half).where(_keys(F.external_userid, postgresql))
    return customers, episodes


def load_stored(session: Session, exts: list[str]) -> Stored:
    """Every episode of these customers in one query per chunk: open ones with their fingerprint,
    ended ones with how they ended (for the reopen rule)."""
    stored, conn = Stored(), session.connection()
    customers, episodes = _stored_queries(conn.dialect.name == "postgresql")
    for chunk in chunks(exts):
        stored.customers.update(conn.execute(customers, {"keys": list(chunk)}).all())
        for row in conn.execute(episodes, {"keys": list(chunk)}):
            key = (row.external_userid, row.userid)
            if row.ended_at is None:
                stored.open_rows[key] = row
            elif key not in stored.latest_ended or stored.latest_ended[key].id < row.id:
                stored.latest_ended[key] = row
    return stored


def contact_diffs(session: Session, changed: dict[str, dict[str, Any]]
                  ) -> list[tuple[str, dict[str, Any], dict[str, list[Any]]]]:
    """(ext, WeCom's values, {field: [stored, WeCom's]}) of customers whose fingerprint differs."""
    out = []
    columns = [getattr(Customer, name) for name in CONTACT_FIELDS]
    for chunk in chunks(sorted(changed)):
        for row in session.execute(select(Customer.external_userid, *columns)
                                   .where(Customer.external_userid.in_(chunk))):
            current = row._asdict()
            ext = current.pop("external_userid")
            out.append((ext, changed[ext], diff(current, changed[ext])))
    return out


def follow_diffs(session: Session, changed: dict[int, tuple[dict[str, Any], datetime | None]]
                 ) -> list[tuple[int, dict[str, Any], dict[str, list[Any]]]]:
    """(id, WeCom's values, changes) of open relations whose fingerprint differs or whose WeCom
    createtime we did not have yet. Tag names and personal tags we knew are kept: batch/get_by_user
    gives only company tag ids."""
    out = []
    columns = [getattr(F, name) for name in FOLLOW_FIELDS]
    for chunk in chunks(sorted(changed)):
        for row in session.execute(select(F.id, *columns).where(F.id.in_(chunk))):
            current = row._asdict()
            follow_id = current.pop("id")
            values, created = changed[follow_id]
            values["tags"] = keep_unseen_tags(current["tags"], values["tags"])
            changes = diff(current, values)
            if created is not None:
                changes["follow_created_at"] = [None, created]
            out.append((follow_id, values, changes))
    return out


def unseen_open(session: Session, userids: Sequence[str], before: datetime) -> list[Row[Any]]:
    """Open relations of these members recorded before ``before``: (id, external_userid, userid).
    Half-added ones are left out: batch/get_by_user never lists them until the member adds back."""
    return list(session.connection().execute(select(F.id, F.external_userid, F.userid).where(
        F.userid.in_(userids), F.ended_at.is_(None), F.half.is_(False), F.opened_at < before)))


def update_rows(session: Session, model: type[Customer | CustomerFollow], rows: list[dict[str, Any]]) -> None:
    """UPDATE by primary key, one statement per set of columns (the few rows a resync changes)."""
    if rows:
        session.execute(update(model), rows)
