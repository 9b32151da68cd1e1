"""Writing batch/get_by_user pages to the pool in bulk, and ending what a finished batch did not see.

A resync touches every relation, so the work per relation is kept small: one query per write reads
what the pool holds for the pages' customers (fingerprints, no JSON or text to decode), WeCom's
values are compared with those fingerprints, the stored values are read only for what differs, and
new rows go in through the driver (storage.bulk). The rules are the event path's (fields.py): the
same data gives the same pool either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy.orm import Session

from storage.bulk import insert_rows
from storage.customers import ACTIVE, MISSING, Customer, CustomerChange, CustomerFollow, refresh_statuses
from storage.db import iso, table
from wecom_hr.customers.fields import (
    CONTACT_FIELDS,
    FOLLOW_FIELDS,
    contact_values,
    fingerprint,
    follow_values,
    from_epoch,
    may_reopen,
)
from wecom_hr.customers.pool import jsonable
from wecom_hr.customers.resync_reads import (
    Stored,
    chunks,
    contact_diffs,
    follow_diffs,
    load_stored,
    unseen_open,
    update_rows,
)

API_CALL = "externalcontact/batch/get_by_user"
CREATED_SHOWN = (*CONTACT_FIELDS, "first_owner", "created_at")
CUSTOMER_COLUMNS = (*CONTACT_FIELDS, "external_userid", "status", "first_owner", "created_at", "first_seen_at",
                    "updated_at", "note", "digest")
FOLLOW_COLUMNS = ("external_userid", "userid", *FOLLOW_FIELDS, "half", "follow_created_at", "opened_at", "updated_at",
                  "digest")
HISTORY_COLUMNS = ("external_userid", "userid", "kind", "changes")


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


@dataclass(slots=True)
class Relation:
    """One item of a page: WeCom's values for a customer and for one member's relation to them."""

    batch_no: int
    fetched_at: datetime
    ext: str
    userid: str
    contact: dict[str, Any]
    follow: dict[str, Any]
    created: datetime | None


@dataclass
class _Plan:
    new_customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    checked: set[str] = field(default_factory=set)                    # existing customers compared once
    changed_customers: dict[str, dict[str, Any]] = field(default_factory=dict)   # ext -> WeCom's values
    new_follows: dict[tuple[str, str], Relation] = field(default_factory=dict)
    changed_follows: dict[int, tuple[Relation, bool]] = field(default_factory=dict)  # id -> (relation, fill created)
    confirmed: set[int] = field(default_factory=set)  # half-added relations WeCom now lists: the member added back
    reopened: set[str] = field(default_factory=set)
    customer_updates: list[dict[str, Any]] = field(default_factory=list)
    follow_updates: list[dict[str, Any]] = field(default_factory=list)
    history: list[tuple[str, str | None, str, dict[str, Any]]] = field(default_factory=list)


def relations_of(pages: list[tuple[int, list[dict[str, Any]], datetime]]) -> list[Relation]:
    out = []
    for batch_no, items, fetched_at in pages:
        for item in items:
            contact, info = item.get("external_contact") or {}, item.get("follow_info") or {}
            if contact.get("external_userid") and info.get("userid"):
                out.append(Relation(batch_no, fetched_at, str(contact["external_userid"]), str(info["userid"]),
                                    contact_values(contact), follow_values(info), from_epoch(info.get("createtime"))))
    return out


class PoolWriter:
    """Used by the resync's single writer thread; ``seen`` holds the open episodes each batch saw."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.seen: dict[int, set[int]] = {}

    def write_pages(self, session: Session, pages: list[tuple[int, list[dict[str, Any]], datetime]],
                    now: datetime) -> PageCounts:
        """Write (batch_no, items, fetched_at) pages in one go: one read of what exists, one insert per table."""
        relations = relations_of(pages)
        counts, plan = PageCounts(relations=len(relations)), _Plan()
        stored = load_stored(session, sorted({r.ext for r in relations}))
        for rel in relations:
            _plan_customer(plan, counts, stored, rel, now)
            self._plan_follow(plan, counts, stored, rel)
        _plan_changes(session, plan, counts, now)
        self._execute(session, plan, now)
        return counts

    def _plan_follow(self, plan: _Plan, counts: PageCounts, stored: Stored, rel: Relation) -> None:
        key = (rel.ext, rel.userid)
        row = stored.open_rows.get(key)
        if row is not None:
            self.seen.setdefault(rel.batch_no, set()).add(row.id)
            fill_created = rel.created is not None and row.no_created
            if row.half:
                plan.confirmed.add(row.id)
            if (row.digest != fingerprint(rel.follow) or fill_created or row.half) \
                    and row.id not in plan.changed_follows:
                plan.changed_follows[row.id] = (rel, fill_created)
            return
        if key in plan.new_follows:
            return
        if not may_reopen(stored.latest_ended.get(key), rel.created, rel.fetched_at):
            counts.stale += 1
            return
        plan.new_follows[key] = rel
        if key in stored.latest_ended:
            plan.reopened.add(rel.ext)
        shown = {k: v for k, v in rel.follow.items() if v}
        plan.history.append((rel.ext, rel.userid, "relation_opened", {**shown, "createtime": iso(rel.created)}))
        counts.relations_opened += 1

    def _execute(self, session: Session, plan: _Plan, now: datetime) -> None:
        customers = list(plan.new_customers.values())
        insert_rows(session, table(Customer), CUSTOMER_COLUMNS, list(map(_customer_row, customers)))
        update_rows(session, Customer, plan.customer_updates)
        insert_rows(session, table(CustomerFollow), FOLLOW_COLUMNS, [
            (r.ext, r.userid, *_follow_values(r.follow), False, r.created, now, now, fingerprint(r.follow))
            for r in plan.new_follows.values()])
        update_rows(session, CustomerFollow, plan.follow_updates)
        update_rows(session, Customer, [{"external_userid": ext, "status": ACTIVE} for ext in sorted(plan.reopened)])
        created = [(c["external_userid"], None, "customer_created", _created(c)) for c in customers]
        self._history(session, created + plan.history, now)

    def _history(self, session: Session, rows: list[tuple[str, str | None, str, dict[str, Any]]],
                 now: datetime) -> None:
        insert_rows(session, table(CustomerChange), HISTORY_COLUMNS, rows,
                    {"at": now, "source": "resync", "api_call": API_CALL, "run_id": self.run_id})

    def end_unseen(self, session: Session, batch_no: int, userids: list[str], batch_started: datetime,
                   now: datetime) -> int:
        """End open episodes of these members that the batch did not see and that existed before it
        began (a relation an event opened during the walk is not "missing")."""
        seen = self.seen.get(batch_no, set())  # dropped by the caller once this commits
        gone = [r for chunk in chunks(userids) for r in unseen_open(session, chunk, batch_started) if r.id not in seen]
        if not gone:
            return 0
        update_rows(session, CustomerFollow, [{"id": r.id, "ended_at": now, "end_reason": MISSING,
                                               "end_recorded_at": now, "updated_at": now} for r in gone])
        self._history(session, [(r.external_userid, r.userid, "relation_ended",
                                 {"reason": MISSING, "ended_at": iso(now)}) for r in gone], now)
        refresh_statuses(session, sorted({r.external_userid for r in gone}))
        return len(gone)


def _plan_customer(plan: _Plan, counts: PageCounts, stored: Stored, rel: Relation, now: datetime) -> None:
    ext = rel.ext
    new = plan.new_customers.get(ext)
    if new is not None:
        created = rel.created or now
        if created < new["created_at"]:  # first owner = the earliest follower we see
            new.update(created_at=created, first_owner=rel.userid)
        return
    if ext in plan.checked:
        return
    plan.checked.add(ext)
    digest = fingerprint(rel.contact)
    if ext not in stored.customers:
        plan.new_customers[ext] = {**rel.contact, "external_userid": ext, "status": ACTIVE, "first_owner": rel.userid,
                                   "created_at": rel.created or now, "first_seen_at": now, "updated_at": now,
                                   "note": "", "digest": digest}
        counts.customers_created += 1
    elif stored.customers[ext] != digest:
        plan.changed_customers[ext] = rel.contact


def _plan_changes(session: Session, plan: _Plan, counts: PageCounts, now: datetime) -> None:
    """What differs from the fingerprints: read the stored values, record the real changes (before
    the relations this write opens, as the event path records them)."""
    changes_first: list[tuple[str, str | None, str, dict[str, Any]]] = []
    for ext, values, changes in contact_diffs(session, plan.changed_customers):
        plan.customer_updates.append({"external_userid": ext, **values, "updated_at": now,
                                      "digest": fingerprint(values)})
        if changes:
            changes_first.append((ext, None, "customer_updated", jsonable(changes)))
            counts.customers_updated += 1
    changed = {i: (rel.follow, rel.created if fill else None) for i, (rel, fill) in plan.changed_follows.items()}
    for follow_id, values, changes in follow_diffs(session, changed):
        rel = plan.changed_follows[follow_id][0]
        if follow_id in plan.confirmed:
            changes["half"] = [True, False]
        plan.follow_updates.append({"id": follow_id, **{k: v[1] for k, v in changes.items()}, "updated_at": now,
                                    "digest": fingerprint(values)})
        if changes:
            changes_first.append((rel.ext, rel.userid, "relation_updated", jsonable(changes)))
            counts.relations_updated += 1
    plan.history[:0] = changes_first


_customer_row = itemgetter(*CUSTOMER_COLUMNS)
_follow_values = itemgetter(*FOLLOW_FIELDS)


def _created(row: dict[str, Any]) -> dict[str, Any]:
    shown = {k: row[k] for k in CREATED_SHOWN if row[k]}
    shown["created_at"] = iso(row["created_at"])
    return shown
