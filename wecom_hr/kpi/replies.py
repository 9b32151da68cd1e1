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
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import bindparam, delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.db import utcnow
from storage.kpi import KpiAwaiting, KpiContact, KpiContactDay, KpiMemberDay, rows_by_key
from wecom_hr.archive.messages import is_external
from wecom_hr.kpi.settings import KpiSettings, from_settings

if TYPE_CHECKING:
    from wecom_hr.dispatch import HandlerContext

SKIPPED_TYPES = frozenset({"revoke", "switch", "agree", "disagree"})
Pair = tuple[str, str]


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
    contacts: dict[Pair, list[int]]
    had_contact: dict[Pair, tuple[int, int]]
    replies: dict[tuple[str, date], tuple[list[int], list[int]]] = field(default_factory=dict)
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
    pairs = sorted({(u, c) for _, _, u, c in events})
    batch = _load(session, pairs)
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
                work, wall = batch.replies.setdefault((u, day), ([], []))
                work.append(cal.seconds(since, t))
                wall.append((t - since) // 1000)
                found += 1
        span = batch.contacts.setdefault(pair, [t, t])
        span[0], span[1] = min(span[0], t), max(span[1], t)
        batch.days.add((u, day, c))
    _save(session, batch)
    return found


def _load(session: Session, pairs: Sequence[Pair]) -> _Batch:
    had_awaiting: dict[Pair, int] = {(r[0], r[1]): r[2] for r in rows_by_key(
        session, (KpiAwaiting.userid, KpiAwaiting.customer, KpiAwaiting.since_ms),
        (KpiAwaiting.userid, KpiAwaiting.customer), pairs)}
    had_contact: dict[Pair, tuple[int, int]] = {(r[0], r[1]): (r[2], r[3]) for r in rows_by_key(
        session, (KpiContact.userid, KpiContact.customer, KpiContact.first_ms, KpiContact.last_ms),
        (KpiContact.userid, KpiContact.customer), pairs)}
    return _Batch(dict[Pair, int | None](had_awaiting), had_awaiting, {p: list(s) for p, s in had_contact.items()},
                  had_contact)


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _by_pair(model: Any, **values: Any) -> Any:
    """UPDATE model SET values WHERE the row's (userid, customer) is the bound pair: for executemany."""
    return (update(model).where(model.userid == bindparam("u"), model.customer == bindparam("c"))
            .values(**{k: bindparam(v) for k, v in values.items()}))


def _save(session: Session, b: _Batch) -> None:
    """Only what changed is written, one executemany per kind of change."""
    conn = session.connection()
    gone = [{"u": u, "c": c} for (u, c) in b.had_awaiting if b.awaiting.get((u, c)) is None]
    if gone:
        conn.execute(delete(KpiAwaiting).where(KpiAwaiting.userid == bindparam("u"),
                                               KpiAwaiting.customer == bindparam("c")), gone)
    moved = [{"u": u, "c": c, "t": t} for (u, c), t in b.awaiting.items()
             if t is not None and (u, c) in b.had_awaiting and b.had_awaiting[(u, c)] != t]
    if moved:
        conn.execute(_by_pair(KpiAwaiting, since_ms="t"), moved)
    waiting = [{"userid": u, "customer": c, "since_ms": t} for (u, c), t in b.awaiting.items()
               if t is not None and (u, c) not in b.had_awaiting]
    if waiting:
        conn.execute(_insert(session)(KpiAwaiting), waiting)
    old = [{"u": u, "c": c, "f": s[0], "l": s[1]} for (u, c), s in b.contacts.items()
           if (u, c) in b.had_contact and b.had_contact[(u, c)] != (s[0], s[1])]
    if old:
        conn.execute(_by_pair(KpiContact, first_ms="f", last_ms="l"), old)
    new = [{"userid": u, "customer": c, "first_ms": s[0], "last_ms": s[1]}
           for (u, c), s in b.contacts.items() if (u, c) not in b.had_contact]
    if new:
        conn.execute(_insert(session)(KpiContact), new)
    if b.days:
        rows = [{"userid": u, "day": d, "customer": c} for u, d, c in sorted(b.days)]
        conn.execute(_insert(session)(KpiContactDay).on_conflict_do_nothing(), rows)
    _save_replies(session, b.replies)


def _save_replies(session: Session, replies: dict[tuple[str, date], tuple[list[int], list[int]]]) -> None:
    """One read and two statements per batch: the ORM's per-row get/flush would cost more than the archive."""
    if not replies:
        return
    now: datetime = utcnow()
    keys = sorted(replies)
    had: dict[tuple[str, date], tuple[list[int], list[int]]] = {(r[0], r[1]): (r[2], r[3]) for r in rows_by_key(
        session, (KpiMemberDay.userid, KpiMemberDay.day, KpiMemberDay.work_seconds, KpiMemberDay.wall_seconds),
        (KpiMemberDay.userid, KpiMemberDay.day), keys)}
    updates, inserts = [], []
    for key in keys:
        work, wall = replies[key]
        if key in had:
            work, wall = [*had[key][0], *work], [*had[key][1], *wall]
            updates.append({"u": key[0], "d": key[1], "n": len(work), "w": work, "m": wall, "t": now})
        else:
            inserts.append({"userid": key[0], "day": key[1], "reply_count": len(work), "work_seconds": work,
                            "wall_seconds": wall, "updated_at": now})
    if inserts:
        session.connection().execute(_insert(session)(KpiMemberDay), inserts)
    if updates:
        stmt = (update(KpiMemberDay).where(KpiMemberDay.userid == bindparam("u"), KpiMemberDay.day == bindparam("d"))
                .values(reply_count=bindparam("n"), work_seconds=bindparam("w"), wall_seconds=bindparam("m"),
                        updated_at=bindparam("t")))
        session.connection().execute(stmt, updates)
