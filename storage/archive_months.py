"""Retention by whole months on PostgreSQL: a month whose every message is past the cutoff and none
under legal hold is detached and dropped (messages, docs and postings partitions) instead of
deleted row by row; any other month is left to the row purge (storage.archive_retention).

The hash chain stays verifiable exactly as with row deletes: the month's chain positions form a
few runs of consecutive ids (a month's messages arrive in order, bar the odd late one), and each
run is recorded as a gap in one signed checkpoint per month before the partitions go. The caller
locks archive_messages against writes and verifies the whole chain in the same transaction, so the
rows the gaps summarise are the rows that were just verified: a drop cannot launder tampering.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from storage.archive_chain import Gap
from storage.archive_partitions import BEFORE_HI, Month, drop_month, months


@dataclass(frozen=True)
class MonthPurge:
    month: Month
    deleted: int
    gaps: list[Gap]


def lock_writes(session: Session) -> None:
    """Hold off every writer of the archive rows (readers go on) until the transaction ends."""
    session.execute(text("LOCK TABLE archive_messages IN SHARE MODE"))


def due_months(session: Session, cutoff_ms: int) -> list[Month]:
    """Month partitions that end at or before the cutoff (the fixed before/after ones never are)."""
    return sorted(m for m in months(session) if m.lo >= BEFORE_HI and m.hi <= cutoff_ms)


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def month_held(session: Session, month: Month, parties: frozenset[str], rooms: set[str]) -> bool:
    """Whether any message of the month may be under hold. Errs on "held" (the row purge then
    decides row by row): a party anywhere in the tolist text, or a tolist with escapes, counts."""
    if not parties:
        return False
    sql = (f"SELECT EXISTS (SELECT 1 FROM {month.name('archive_messages')} WHERE sender = ANY(:p) "
           "OR customer = ANY(:p) OR roomid = ANY(:r) OR tolist LIKE ANY(:pats) OR strpos(tolist, '\\') > 0)")
    params = {"p": sorted(parties), "r": sorted(rooms), "pats": [_like(p) for p in sorted(parties)]}
    return bool(session.execute(text(sql), params).scalar_one())


def month_gaps(session: Session, month: Month) -> tuple[int, list[Gap]]:
    """The month's rows as runs of consecutive chain positions, with the hashes at their ends."""
    name = month.name("archive_messages")
    runs = session.execute(text(f"SELECT min(id), max(id), count(*) FROM (SELECT id, id - row_number() OVER "
                                f"(ORDER BY id) AS g FROM {name}) s GROUP BY g ORDER BY 1")).all()
    if not runs:
        return 0, []
    ends = sorted({int(r[0]) for r in runs} | {int(r[1]) for r in runs})
    hashes = {int(i): (p, h) for i, p, h in session.execute(
        text(f"SELECT id, prev_hash, hash FROM {name} WHERE id = ANY(:ids)"), {"ids": ends})}
    gaps = [Gap(int(first), int(last), hashes[int(first)][0], hashes[int(last)][1]) for first, last, _ in runs]
    return sum(int(r[2]) for r in runs), gaps


def release_derived(session: Session, month: Month) -> set[str]:
    """Delete what lives outside the partitions for the month's messages: envelopes, watch-list
    hits and media references; returns the sdkfileids those messages referenced."""
    msgids = f"SELECT msgid FROM {month.name('archive_messages')}"
    session.execute(text(f"DELETE FROM archive_envelopes WHERE msgid IN ({msgids})"))
    session.execute(text(f"DELETE FROM archive_watch_hits WHERE msgid IN ({msgids})"))
    files = set(session.execute(text(f"DELETE FROM archive_media_refs WHERE msgid IN ({msgids}) "
                                     "RETURNING sdkfileid")).scalars())
    return {str(f) for f in files}


def drop_months(session: Session, plan: Sequence[Month]) -> None:
    """Detach and drop, last: these take an exclusive lock that searches wait for until commit."""
    for month in plan:
        drop_month(session, month)


def months_to_drop(session: Session, cutoff_ms: int, parties: frozenset[str], rooms: set[str]) -> list[MonthPurge]:
    """The months that can go whole, with their gaps; nothing is changed yet."""
    out = []
    for month in due_months(session, cutoff_ms):
        if month_held(session, month, parties, rooms):
            continue
        deleted, gaps = month_gaps(session, month)
        out.append(MonthPurge(month, deleted, gaps))
    return out
