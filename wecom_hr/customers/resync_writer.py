"""Writing batch/get_by_user pages to the pool in bulk, and ending what a finished batch did not see.

Rows are read as plain tuples and written with executemany (new rows) and UPDATE by primary key
(changed rows): a resync touches every relation, and ORM objects would cost more than the WeCom
calls. The rules are the event path's (fields.py): the same data gives the same pool either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from storage.customers import ACTIVE, MISSING, Customer, CustomerChange, CustomerFollow, refresh_status
from wecom_hr.customers.fields import (
    CONTACT_FIELDS,
    FOLLOW_FIELDS,
    contact_values,
    diff,
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

    def write_page(self, session: Session, batch_no: int, items: list[dict[str, Any]], fetched_at: datetime,
                   now: datetime) -> PageCounts:
        counts, plan = PageCounts(relations=len(items)), _Plan()
        pairs = [(i.get("external_contact") or {}, i.get("follow_info") or {}) for i in items]
        pairs = [(c, f) for c, f in pairs if c.get("external_userid") and f.get("userid")]
        exts = sorted({str(c["external_userid"]) for c, _ in pairs})
        customers, open_rows, latest = _load(session, exts)
        seen = self.seen.setdefault(batch_no, set())
        for contact, info in pairs:
            self._plan_customer(plan, counts, customers, contact, info, now)
            self._plan_follow(plan, counts, open_rows, latest, seen, contact, info, fetched_at, now)
        plan.history[:0] = [self._row(ext, "customer_created", {k: row[k] for k in CREATED_SHOWN if row[k]}, now)
                            for ext, row in plan.new_customers.items()]
        _execute(session, plan)
        return counts

    def _row(self, ext: str, kind: str, changes: dict[str, Any], now: datetime,
             userid: str | None = None) -> dict[str, Any]:
        return {"external_userid": ext, "userid": userid, "kind": kind, "at": now, "occurred_at": None,
                "source": "resync", "event_id": None, "api_call": API_CALL, "run_id": self.run_id,
                "actor": None, "changes": jsonable(changes)}

    def _change(self, plan: _Plan, ext: str, kind: str, changes: dict[str, Any], now: datetime,
                userid: str | None = None) -> None:
        plan.history.append(self._row(ext, kind, changes, now, userid))

    def _plan_customer(self, plan: _Plan, counts: PageCounts, customers: dict[str, Any],
                       contact: dict[str, Any], info: dict[str, Any], now: datetime) -> None:
        ext, values = str(contact["external_userid"]), contact_values(contact)
        created = from_epoch(info.get("createtime")) or now
        if ext in plan.new_customers:
            row = plan.new_customers[ext]
            if created < row["created_at"]:  # first owner = the earliest follower we see
                row.update(created_at=created, first_owner=str(info["userid"]))
            return
        old = customers.get(ext)
        if old is None:
            plan.new_customers[ext] = {"external_userid": ext, **values, "status": ACTIVE, "first_owner":
                                       str(info["userid"]), "created_at": created, "first_seen_at": now,
                                       "updated_at": now, "note": ""}
            counts.customers_created += 1
            return
        changes = diff({k: getattr(old, k) for k in CONTACT_FIELDS}, values)
        if changes and ext not in plan.customer_updates:
            plan.customer_updates[ext] = {"external_userid": ext, **values, "updated_at": now}
            self._change(plan, ext, "customer_updated", changes, now)
            counts.customers_updated += 1

    def _plan_follow(self, plan: _Plan, counts: PageCounts, open_rows: dict[tuple[str, str], Any],
                     latest: dict[tuple[str, str], Any], seen: set[int], contact: dict[str, Any],
                     info: dict[str, Any], fetched_at: datetime, now: datetime) -> None:
        key = (str(contact["external_userid"]), str(info["userid"]))
        values, created = follow_values(info), from_epoch(info.get("createtime"))
        row = open_rows.get(key)
        if row is not None:
            seen.add(row.id)
            values["tags"] = keep_tag_names(row.tags, values["tags"])
            changes = diff({k: getattr(row, k) for k in FOLLOW_FIELDS}, values)
            if created is not None and row.follow_created_at is None:
                changes["follow_created_at"] = [None, created]
            if changes:
                plan.follow_updates.append({"id": row.id, **{k: v[1] for k, v in changes.items()},
                                            "updated_at": now})
                self._change(plan, key[0], "relation_updated", changes, now, key[1])
                counts.relations_updated += 1
            return
        if key in plan.new_follows:
            return
        if not may_reopen(latest.get(key), created, fetched_at):
            counts.stale += 1
            return
        plan.new_follows[key] = {"external_userid": key[0], "userid": key[1], **values, "half": False,
                                 "follow_created_at": created, "opened_at": now, "updated_at": now}
        if key in latest:
            plan.reopened.add(key[0])
        shown = {k: v for k, v in values.items() if v}
        self._change(plan, key[0], "relation_opened", {**shown, "createtime": created}, now, key[1])
        counts.relations_opened += 1

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
            self._change(plan, r.external_userid, "relation_ended", {"reason": MISSING, "ended_at": now}, now,
                         r.userid)
        session.execute(insert(CustomerChange), plan.history)
        for ext in sorted({r.external_userid for r in gone}):
            customer = session.get(Customer, ext)
            if customer is not None:
                refresh_status(session, customer)
        return len(gone)


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def _load(session: Session, exts: list[str]) -> tuple[dict[str, Any], dict[tuple[str, str], Any],
                                                      dict[tuple[str, str], Any]]:
    customers: dict[str, Any] = {}
    open_rows: dict[tuple[str, str], Any] = {}
    latest: dict[tuple[str, str], Any] = {}
    cols = [CustomerFollow.id, CustomerFollow.external_userid, CustomerFollow.userid, CustomerFollow.ended_at,
            CustomerFollow.end_reason, CustomerFollow.end_recorded_at, CustomerFollow.follow_created_at,
            *[getattr(CustomerFollow, f) for f in FOLLOW_FIELDS]]
    for chunk in _chunks(exts):
        for c in session.execute(select(Customer.external_userid, *[getattr(Customer, f) for f in CONTACT_FIELDS])
                                 .where(Customer.external_userid.in_(chunk))):
            customers[c.external_userid] = c
        for r in session.execute(select(*cols).where(CustomerFollow.external_userid.in_(chunk))
                                 .order_by(CustomerFollow.id)):
            latest[(r.external_userid, r.userid)] = r
            if r.ended_at is None:
                open_rows[(r.external_userid, r.userid)] = r
    return customers, open_rows, latest


def _execute(session: Session, plan: _Plan) -> None:
    if plan.new_customers:
        session.execute(insert(Customer), list(plan.new_customers.values()))
    if plan.customer_updates:
        session.execute(update(Customer), list(plan.customer_updates.values()))
    if plan.new_follows:
        session.execute(insert(CustomerFollow), list(plan.new_follows.values()))
    if plan.follow_updates:
        session.execute(update(CustomerFollow), plan.follow_updates)
    if plan.reopened:
        session.execute(update(Customer).where(Customer.external_userid.in_(sorted(plan.reopened)))
                        .values(status=ACTIVE))
    if plan.history:
        session.execute(insert(CustomerChange), plan.history)
