"""Reply times and contacts, kept up to date as messages are archived (listener of MESSAGES_ARCHIVED).

For each customer message in a one-to-one chat, the member's first message back to that customer
after it is the reply; customer messages in between wait with the first (the customer has been
waiting since then). Measured in message time (msgtime) and in working time ([kpi] work_hours).
A batch costs a handful of statements whatever its size: state is read and written per batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.db import utcnow
from storage.kpi import (
    KpiAwaiting,
    KpiContact,
    KpiMemberDay,
    KpiMemberWeek,
    rows_by_key,
    timestamp_param,
    write_many,
)
from wecom_hr.archive.messages import is_external
from wecom_hr.kpi import histogram
from wecom_hr.kpi.settings import KpiSettings, from_settings

if TYPE_CHECKING:
    from wecom_hr.dispatch import HandlerContext

SKIPPED_TYPES = frozenset({"revoke", "switch", "agree", "disagree"})
Pair = tuple[str, str]
_Replies = tuple[histogram.Histogram, histogram.Histogram]  # working time, message time


class ChatMessage(Protocol):
    @property
    def action(self) -> str: ...
    @property
    def msgtype(self) -> str: ...
    @property
    def sender(self) -> str: ...
    @property
    def tolist(self) -> str: ...
    @property
    def roomid(self) -> str: ...
    @property
    def customer(self) -> str: ...
    @property
    def msgtime(self) -> int: ...


def on_messages_archived(ctx: HandlerContext, messages: Sequence[ChatMessage]) -> None:
    apply(ctx.session, from_settings(ctx.settings), messages)


@dataclass
class _Batch:
    awaiting: dict[Pair, int | None]
    had_awaiting: dict[Pair, int]
    contacts: dict[Pair, int]      # the member's first message to the customer
    had_contact: dict[Pair, int]
    replies: dict[tuple[str, date], _Replies] = field(default_factory=dict)
    days: set[tuple[str, date, str]] = field(default_factory=set)


def events_of(messages: Iterable[ChatMessage]) -> list[tuple[int, bool, str, str]]:
    """(msgtime, sent by the member, member, customer) of the one-to-one chats, in message time."""
    out: list[tuple[int, bool, str, str]] = []
    for m in messages:
        if m.roomid or m.action != "send" or m.msgtype in SKIPPED_TYPES or not m.customer or m.msgtime <= 0:
            continue
        if is_external(m.sender):
            out.extend((m.msgtime, False, u, m.sender) for u in json.loads(m.tolist or "[]") if not is_external(u))
        else:
            out.append((m.msgtime, True, m.sender, m.customer))
    out.sort(key=lambda e: e[0])  # stable: equal times keep the archive's order
    return out


def apply(session: Session, settings: KpiSettings, messages: Sequence[ChatMessage],
          record_from: date | None = None) -> int:
    """Fold messages into the aggregates; returns the replies found. Replies on days before
    ``record_from`` only close what they answer (a rebuild's look-back)."""
    events = events_of(messages)
    if not events:
        return 0
    batch = _load(session, sorted({(u, c) for _, _, u, c in events}),
                  sorted({(u, c) for _, by_member, u, c in events if by_member}))
    cal, found = settings.calendar, 0
    for t, by_member, u, c in events:
        pair = (u, c)
        if not by_member:
            if batch.awaiting.get(pair) is None:
                batch.awaiting[pair] = t
            continue
        since = batch.awaiting.get(pair)
        day = cal.local_day(t)
        if since is not None and t >= since:
            batch.awaiting[pair] = None
            if record_from is None or day >= record_from:
                work, wall = batch.replies.setdefault((u, day), ({}, {}))
                histogram.add(work, cal.seconds(since, t))
                histogram.add(wall, (t - since) // 1000)
                found += 1
        if batch.contacts.get(pair, t) >= t:
            batch.contacts[pair] = t
        batch.days.add((u, day, c))
    _save(session, batch)
    return found


def _load(session: Session, pairs: Sequence[Pair], senders: Sequence[Pair]) -> _Batch:
    """What is awaited in the batch's conversations, and the first contacts of those the member wrote in."""
    had_awaiting: dict[Pair, int] = {(r[0], r[1]): r[2] for r in rows_by_key(
        session, (KpiAwaiting.userid, KpiAwaiting.customer, KpiAwaiting.since_ms),
        (KpiAwaiting.userid, KpiAwaiting.customer), pairs)}
    had_contact: dict[Pair, int] = {(r[0], r[1]): r[2] for r in rows_by_key(
        session, (KpiContact.userid, KpiContact.customer, KpiContact.first_ms),
        (KpiContact.userid, KpiContact.customer), senders)}
    return _Batch(dict[Pair, int | None](had_awaiting), had_awaiting, dict(had_contact), had_contact)


def _save(session: Session, b: _Batch) -> None:
    """Only what changed is written, one executemany per kind of change."""
    write_many(session, "DELETE FROM kpi_awaiting WHERE userid = ? AND customer = ?",
               [(u, c) for (u, c) in b.had_awaiting if b.awaiting.get((u, c)) is None])
    write_many(session, "UPDATE kpi_awaiting SET since_ms = ? WHERE userid = ? AND customer = ?",
               [(t, u, c) for (u, c), t in b.awaiting.items()
                if t is not None and (u, c) in b.had_awaiting and b.had_awaiting[(u, c)] != t])
    write_many(session, "INSERT INTO kpi_awaiting (userid, customer, since_ms) VALUES (?, ?, ?)",
               [(u, c, t) for (u, c), t in b.awaiting.items() if t is not None and (u, c) not in b.had_awaiting])
    write_many(session, "UPDATE kpi_contacts SET first_ms = ? WHERE userid = ? AND customer = ?",
               [(t, u, c) for (u, c), t in b.contacts.items()
                if (u, c) in b.had_contact and b.had_contact[(u, c)] != t])  # messages archived out of order
    write_many(session, "INSERT INTO kpi_contacts (userid, customer, first_ms) VALUES (?, ?, ?)",
               [(u, c, t) for (u, c), t in b.contacts.items() if (u, c) not in b.had_contact])
    write_many(session, "INSERT INTO kpi_contact_days (userid, day, customer) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
               [(u, d.isoformat(), c) for u, d, c in sorted(b.days)])
    _save_replies(session, b.replies)


def _save_replies(session: Session, replies: dict[tuple[str, date], _Replies]) -> None:
    """The day and week histograms of the batch's replies: per table one read, one insert, one update."""
    if not replies:
        return
    weeks: dict[tuple[str, date], _Replies] = {}
    for (u, day), (work, wall) in replies.items():
        into = weeks.setdefault((u, day - timedelta(days=day.weekday())), ({}, {}))
        histogram.merge(into[0], ((b, n, s) for b, (n, s) in work.items()))
        histogram.merge(into[1], ((b, n, s) for b, (n, s) in wall.items()))
    now: datetime = utcnow()
    _fold(session, KpiMemberDay, KpiMemberDay.day, replies, now)
    _fold(session, KpiMemberWeek, KpiMemberWeek.week, weeks, now)


def _fold(session: Session, model: Any, period: Any, replies: dict[tuple[str, date], _Replies],
          now: datetime) -> None:
    keys = sorted(replies)
    had = {(r[0], r[1]): (r[2], r[3]) for r in rows_by_key(
        session, (model.userid, period, model.work_hist, model.wall_hist), (model.userid, period), keys)}
    updates: list[tuple[Any, ...]] = []
    inserts: list[tuple[Any, ...]] = []
    at = timestamp_param(session, now)
    for key in keys:
        work, wall = replies[key]
        if key in had:
            work = histogram.merge(histogram.merge({}, had[key][0]), ((b, n, s) for b, (n, s) in work.items()))
            wall = histogram.merge(histogram.merge({}, had[key][1]), ((b, n, s) for b, (n, s) in wall.items()))
        row = (histogram.count(work), json.dumps(histogram.stored(work)), json.dumps(histogram.stored(wall)), at)
        (updates if key in had else inserts).append((*row, key[0], key[1].isoformat()))
    table, column = model.__tablename__, period.key
    write_many(session, f"INSERT INTO {table} (reply_count, work_hist, wall_hist, updated_at, userid, {column}) "
                        "VALUES (?, ?, ?, ?, ?, ?)", inserts)
    write_many(session, f"UPDATE {table} SET reply_count = ?, work_hist = ?, wall_hist = ?, updated_at = ? "
                        f"WHERE userid = ? AND {column} = ?", updates)


def refold_week(session: Session, monday: date, before: date) -> None:
    """The week rows of ``monday`` again from its day rows before ``before`` (a rebuild from mid-week)."""
    rows = session.execute(select(KpiMemberDay.userid, KpiMemberDay.work_hist, KpiMemberDay.wall_hist).where(
        KpiMemberDay.day >= monday, KpiMemberDay.day < before))
    weeks: dict[tuple[str, date], _Replies] = {}
    for userid, work, wall in rows:
        into = weeks.setdefault((userid, monday), ({}, {}))
        histogram.merge(into[0], work)
        histogram.merge(into[1], wall)
    session.execute(delete(KpiMemberWeek).where(KpiMemberWeek.week == monday))
    if weeks:
        _fold(session, KpiMemberWeek, KpiMemberWeek.week, weeks, utcnow())
