"""Writing batch/get_by_user pages to the pool in bulk, and ending what a finished batch did not see.

Rows are read as plain tuples and written with executemany (new rows) and UPDATE by primary key
(changed rows): a resync touches every relation, and ORM objects would cost more than the WeCom
calls. The rules are the event path's (fields.py): the same data gives the same pool either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from storage.customers import ACTIVE, MISSING, Customer, CustomerChange, CustomerFollow, refresh_status
from wecom_hr.customers.fields import (
    CONTACT_FIELDS,
    FOLLOW_FIELDS,
    contact_values,
    diff,
    fingerprint,
    follow_values,
    from_epoch,
    keep_tag_names,
    may_reopen,
)
from wecom_hr.customers.pool import jsonable

API_CALL = "externalcontact/batch/get_by_user"
CHUNK = 500  # ids per IN (...) query
CREATED_SHOWN = (*CONTACT_FIELDS, "first_owner", "created_at")


@dataclass
class PageCounts:
    relations: int = 0
    customers_created: int = 0
    customers_updated: int = 0
    relations_opened: int = 0
    relations_updated: int = 0
    stale: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Plan:
    new_customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    customer_updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_follows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    follow_updates: list[dict[str, Any]] = field(default_factory=list)
    reopened: set[str] = field(default_factory=set)
    history: list[dict[str, Any]] = field(default_factory=list)


class PoolWriter:
    """Used by the resync's single writer thread; ``seen`` holds the open episodes each batch saw."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.seen: dict[int, set[int]] = {}
        self.relations: dict[int, int] = {}  # relations committed per batch, for its checkpoint row

    def write_pages(self, session: Session, pages: list[tuple[int, list[dict[str, Any]], datetime]],
                    now: datetime) -> PageCounts:
        """Write (batch_no, items, fetched_at) pages in one go: one read of what exists, one insert per table."""
        counts, plan = PageCounts(), _Plan()
        work = [(batch_no, fetched_at, i.get("external_contact") or {}, i.get("follow_info") or {})
                for batch_no, items, fetched_at in pages for i in items]
        work = [w for w in work if w[2].get("external_userid") and w[3].get("userid")]
        counts.relations = len(work)
        loaded = _load(session, sorted({str(w[2]["external_userid"]) for w in work}))
        for batch_no, fetched_at, contact, info in work:
            seen = self.seen.setdefault(batch_no, set())
            self._plan_customer(session, plan, counts, loaded.customers, contact, info, now)
            self._plan_follow(session, plan, counts, loaded, seen, contact, info, fetched_at, now)
        plan.history[:0] = [self._row(ext, "customer_created", _created(row), now)
                            for ext, row in plan.new_customers.items()]
        _execute(session, plan)
        return counts

    def _row(self, ext: str, kind: str, changes: dict[str, Any], now: datetime,
             userid: str | None = None) -> dict[str, Any]:
        """A history row; ``changes`` must already be JSON-safe (callers convert their dates)."""
        return {"external_userid": ext, "userid": userid, "kind": kind, "at": now, "occurred_at": None,
                "source": "resync", "event_id": None, "api_call": API_CALL, "run_id": self.run_id,
                "actor": None, "changes": changes}

    def _change(self, plan: _Plan, ext: str, kind: str, changes: dict[str, Any], now: datetime,
                userid: str | None = None) -> None:
        plan.history.append(self._row(ext, kind, changes, now, userid))

    def _plan_customer(self, session: Session, plan: _Plan, counts: PageCounts, customers: dict[str, Any],
                       contact: dict[str, Any], info: dict[str, Any], now: datetime) -> None:
        ext, values = str(contact["external_userid"]), contact_values(contact)
        created = from_epoch(info.get("createtime")) or now
        if ext in plan.new_customers:
            row = plan.new_customers[ext]
            if created < row["created_at"]:  # first owner = the earliest follower we see
                row.update(created_at=created, first_owner=str(info["userid"]))
            return
        digest = fingerprint(values)
        old = customers.get(ext)
        if old is None:
            plan.new_customers[ext] = {"external_userid": ext, **values, "status": ACTIVE, "first_owner":
                                       str(info["userid"]), "created_at": created, "first_seen_at": now,
                                       "updated_at": now, "note": "", "digest": digest}
            counts.customers_created += 1
            return
        if old.digest == digest or ext in plan.customer_updates:
            return
        current = session.execute(select(*[getattr(Customer, f) for f in CONTACT_FIELDS])
                                  .where(Customer.external_userid == ext)).one()._asdict()
        plan.customer_updates[ext] = {"external_userid": ext, **values, "updated_at": now, "digest": digest}
        changes = diff(current, values)
        if changes:
            self._change(plan, ext, "customer_updated", jsonable(changes), now)
            counts.customers_updated += 1

    def _plan_follow(self, session: Session, plan: _Plan, counts: PageCounts, loaded: _Loaded, seen: set[int],
                     contact: dict[str, Any], info: dict[str, Any], fetched_at: datetime, now: datetime) -> None:
        key = (str(contact["external_userid"]), str(info["userid"]))
        values = follow_values(info)
        row = loaded.open_rows.get(key)
        if row is not None:
            seen.add(row.id)
            created = from_epoch(info.get("createtime")) if row.no_created else None
            self._update_follow(session, plan, counts, row, key, values, created, now)
            return
        created = from_epoch(info.get("createtime"))
        if key in plan.new_follows:
            return
        if not may_reopen(loaded.latest.get(key), created, fetched_at):
            counts.stale += 1
            return
        plan.new_follows[key] = {"external_userid": key[0], "userid": key[1], **values, "half": False,
                                 "follow_created_at": created, "opened_at": now, "updated_at": now,
                                 "digest": fingerprint(values)}
        if key in loaded.latest:
            plan.reopened.add(key[0])
        shown = {k: v for k, v in values.items() if v}
        self._change(plan, key[0], "relation_opened", {**shown, "createtime": _iso(created)}, now, key[1])
        counts.relations_opened += 1

    def _update_follow(self, session: Session, plan: _Plan, counts: PageCounts, row: Any, key: tuple[str, str],
                       values: dict[str, Any], created: datetime | None, now: datetime) -> None:
        digest = fingerprint(values)
        fill_created = created is not None and row.no_created
        if row.digest == digest and not fill_created:
            return
        current = session.execute(select(*[getattr(CustomerFollow, f) for f in FOLLOW_FIELDS])
                                  .where(CustomerFollow.id == row.id)).one()._asdict()
        values["tags"] = keep_tag_names(current["tags"], values["tags"])
        changes = diff(current, values)
        if fill_created:
            changes["follow_created_at"] = [None, created]
        plan.follow_updates.append({"id": row.id, **{k: v[1] for k, v in changes.items()}, "updated_at": now,
                                    "digest": digest})
        if changes:
            self._change(plan, key[0], "relation_updated", jsonable(changes), now, key[1])
            counts.relations_updated += 1

    def end_unseen(self, session: Session, batch_no: int, userids: list[str], batch_started: datetime,
                   now: datetime) -> int:
        """End open episodes of these members that the batch did not see and that existed before it
        began (a relation an event opened during the walk is not "missing")."""
        seen = self.seen.get(batch_no, set())  # dropped by the caller once this commits
        gone: list[Any] = []
        for chunk in _chunks(userids):
            gone += [r for r in session.execute(select(CustomerFollow.id, CustomerFollow.external_userid,
                                                       CustomerFollow.userid).where(
                CustomerFollow.userid.in_(chunk), CustomerFollow.ended_at.is_(None),
                CustomerFollow.opened_at < batch_started)) if r.id not in seen]
        if not gone:
            return 0
        session.execute(update(CustomerFollow), [{"id": r.id, "ended_at": now, "end_reason": MISSING,
                                                  "end_recorded_at": now, "updated_at": now} for r in gone])
        plan = _Plan()
        for r in gone:
            self._change(plan, r.external_userid, "relation_ended", {"reason": MISSING, "ended_at": _iso(now)},
                         now, r.userid)
        session.execute(_table(CustomerChange).insert(), plan.history)
        for ext in sorted({r.external_userid for r in gone}):
            customer = session.get(Customer, ext)
            if customer is not None:
                refresh_status(session, customer)
        return len(gone)


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _created(row: dict[str, Any]) -> dict[str, Any]:
    shown = {k: row[k] for k in CREATED_SHOWN if row[k]}
    shown["created_at"] = _iso(row["created_at"])
    return shown


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


@dataclass
class _Loaded:
    customers: dict[str, Any] = field(default_factory=dict)            # ext -> (ext, digest)
    open_rows: dict[tuple[str, str], Any] = field(default_factory=dict)
    latest: dict[tuple[str, str], Any] = field(default_factory=dict)   # newest episode of each pair


def _load(session: Session, exts: list[str]) -> _Loaded:
    """What the pages' customers look like now: digests of open relations (no JSON or dates to decode),
    and the end of ended episodes (few) for the reopen rule. Core rows: the ORM adds nothing here."""
    loaded, conn = _Loaded(), session.connection()
    open_cols = [CustomerFollow.id, CustomerFollow.external_userid, CustomerFollow.userid, CustomerFollow.digest,
                 CustomerFollow.follow_created_at.is_(None).label("no_created")]
    ended_cols = [CustomerFollow.id, CustomerFollow.external_userid, CustomerFollow.userid, CustomerFollow.ended_at,
                  CustomerFollow.end_reason, CustomerFollow.end_recorded_at]
    for chunk in _chunks(exts):
        for c in conn.execute(select(Customer.external_userid, Customer.digest)
                              .where(Customer.external_userid.in_(chunk))):
            loaded.customers[c.external_userid] = c
        rows = list(conn.execute(select(*open_cols).where(CustomerFollow.external_userid.in_(chunk),
                                                          CustomerFollow.ended_at.is_(None))))
        rows += conn.execute(select(*ended_cols).where(CustomerFollow.external_userid.in_(chunk),
                                                       CustomerFollow.ended_at.is_not(None)))
        for r in sorted(rows, key=lambda r: r.id):
            loaded.latest[(r.external_userid, r.userid)] = r
        loaded.open_rows.update(((r.external_userid, r.userid), r) for r in rows if "digest" in r._fields)
    return loaded


def _execute(session: Session, plan: _Plan) -> None:
    # Core inserts (Table, not the mapped class): executemany without the ORM's per-row bookkeeping.
    if plan.new_customers:
        session.execute(_table(Customer).insert(), list(plan.new_customers.values()))
    if plan.customer_updates:
        session.execute(update(Customer), list(plan.customer_updates.values()))
    if plan.new_follows:
        session.execute(_table(CustomerFollow).insert(), list(plan.new_follows.values()))
    if plan.follow_updates:
        session.execute(update(CustomerFollow), plan.follow_updates)
    if plan.reopened:
        session.execute(update(Customer).where(Customer.external_userid.in_(sorted(plan.reopened)))
                        .values(status=ACTIVE))
    if plan.history:
        session.execute(_table(CustomerChange).insert(), plan.history)
