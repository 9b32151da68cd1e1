"""The retention purge: remove archived messages older than the cutoff, except those under legal
hold, with everything derived from them, and keep the hash chain verifiable.

Each batch is one transaction that (1) records a signed checkpoint with the gaps it is about to
open (storage.archive_chain), then (2) deletes the messages, their search docs and postings,
envelopes, watch-list hits (their snippets quote the text) and media registry rows. A crash
between batches leaves a shorter purge, never a gap without its checkpoint.

On PostgreSQL a month past the cutoff with nothing under hold is dropped whole first, one
checkpoint per month, in the transaction that verified the chain (storage.archive_months).

The purge refuses to run on a chain that does not verify, and re-checks every row it removes,
so retention can never launder tampering: a row altered before the purge stays reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from storage.archive import (
    ArchiveCheckpoint,
    ArchiveDoc,
    ArchiveEnvelope,
    ArchiveGap,
    ArchiveMedia,
    ArchiveMediaRef,
    ArchiveMessage,
    ArchiveState,
    WatchHit,
)
from storage.archive_chain import CHECKPOINTS, HASHED_COLUMNS, HEAD, Gap, checkpoint_mac, link, verify
from storage.archive_months import drop_months, lock_writes, months_to_drop, release_derived
from storage.archive_partitions import is_partitioned
from storage.archive_store import state_row
from storage.archive_text import posting_rows
from storage.db import Database


class ChainIntegrityError(RuntimeError):
    """A row due for purging does not match its hash: the purge stops and removes nothing more."""


@dataclass
class PurgeReport:
    due: int = 0                # older than the cutoff
    held: int = 0               # of those, kept under legal hold
    deleted: int = 0
    checkpoints: int = 0
    gaps: int = 0
    media_files: list[str] = field(default_factory=list)   # to remove from disk once committed
    refused: str = ""           # why nothing was purged (the chain does not verify)
    months: list[str] = field(default_factory=list)        # PostgreSQL: month partitions dropped whole


@dataclass(frozen=True)
class Due:
    values: tuple[Any, ...]     # HASHED_COLUMNS
    prev_hash: str
    hash: str

    @property
    def id(self) -> int:
        return int(self.values[0])

    @property
    def msgid(self) -> str:
        return str(self.values[1])

    def parties(self) -> set[str]:
        sender, tolist, customer = self.values[5], self.values[6], self.values[8]
        return {sender, customer, *_userids(tolist)} - {""}


def _userids(tolist: str) -> list[str]:
    try:
        value = json.loads(tolist or "[]")
    except ValueError:
        return []
    return [str(u) for u in value] if isinstance(value, list) else []


def held_rooms(session: Session, parties: frozenset[str], batch: int = 20000) -> set[str]:
    """Group chats a held party took part in, per the archived messages (as sender or recipient)."""
    rooms: set[str] = set()
    if not parties:
        return rooms
    last = 0
    while True:
        rows = session.execute(select(ArchiveMessage.id, ArchiveMessage.roomid, ArchiveMessage.sender,
                                      ArchiveMessage.customer, ArchiveMessage.tolist)
                               .where(ArchiveMessage.id > last, ArchiveMessage.roomid != "")
                               .order_by(ArchiveMessage.id).limit(batch)).all()
        if not rows:
            return rooms
        for _, room, sender, customer, tolist in rows:
            if room not in rooms and ({sender, customer, *_userids(tolist)} & parties):
                rooms.add(room)
        last = rows[-1][0]


def _due(session: Session, cutoff_ms: int, after: int, head: int, batch: int) -> list[Due]:
    cols = [getattr(ArchiveMessage, c) for c in HASHED_COLUMNS]
    # msgtime 0 means WeCom sent no time: such a row is never "older than" anything, so it stays.
    rows = session.execute(select(*cols, ArchiveMessage.prev_hash, ArchiveMessage.hash)
                           .where(ArchiveMessage.id > after, ArchiveMessage.id <= head,
                                  ArchiveMessage.msgtime > 0, ArchiveMessage.msgtime < cutoff_ms)
                           .order_by(ArchiveMessage.id).limit(batch)).all()
    return [Due(tuple(r[:-2]), r[-2], r[-1]) for r in rows]


def gaps_of(rows: Sequence[Due], key: bytes) -> list[Gap]:
    """Runs of consecutive positions, each row re-checked against its hash and its neighbour."""
    gaps: list[Gap] = []
    for row in rows:
        if link(row.prev_hash, row.values, key) != row.hash:
            raise ChainIntegrityError(f"row {row.id} ({row.msgid}) does not match its hash")
        if gaps and gaps[-1].last + 1 == row.id:
            if gaps[-1].last_hash != row.prev_hash:
                raise ChainIntegrityError(f"row {row.id} ({row.msgid}) does not link to the row before it")
            gaps[-1] = Gap(gaps[-1].first, row.id, gaps[-1].prev_hash, row.hash)
        else:
            gaps.append(Gap(row.id, row.id, row.prev_hash, row.hash))
    return gaps


def record_checkpoint(session: Session, gaps: Sequence[Gap], key: bytes, *, actor: str, reason: str,
                      cutoff_ms: int, deleted: int, held: int, now: datetime) -> ArchiveCheckpoint:
    state = state_row(session, CHECKPOINTS, lock=True)
    cp = ArchiveCheckpoint(created_at=now.astimezone(UTC).replace(microsecond=0), actor=actor[:128], reason=reason,
                           cutoff_ms=cutoff_ms, first_id=gaps[0].first, last_id=gaps[-1].last, deleted=deleted,
                           held=held, prev_mac=state.value or "0" * 64, mac="")
    session.add(cp)
    session.flush()  # the id is part of what the mac signs
    cp.mac = checkpoint_mac(cp, gaps, key)
    session.add_all(ArchiveGap(first_id=g.first, last_id=g.last, checkpoint_id=cp.id, prev_hash=g.prev_hash,
                               last_hash=g.last_hash) for g in gaps)
    state.seq, state.value, state.updated_at = state.seq + 1, cp.mac, now
    return cp


def _delete_postings(session: Session, ids: list[int]) -> None:
    """Postings are keyed (gram, msgtime, doc_id, ...): rebuild each doc's keys from its body."""
    keys = [{"g": g, "t": t, "d": i, "n": n, "m": m}
            for i, t, body in session.execute(select(ArchiveDoc.id, ArchiveDoc.msgtime, ArchiveDoc.body)
                                              .where(ArchiveDoc.id.in_(ids)))
            for g, n, m in posting_rows(body)]
    if keys:
        session.execute(text("DELETE FROM archive_postings WHERE gram = :g AND msgtime = :t AND doc_id = :d "
                             "AND next2 = :n AND marks = :m"), keys)


def delete_messages(session: Session, rows: Sequence[Due]) -> list[str]:
    """Remove the rows and what derives from them; returns the media files to unlink."""
    ids, msgids = [r.id for r in rows], [r.msgid for r in rows]
    _delete_postings(session, ids)
    session.execute(delete(ArchiveDoc).where(ArchiveDoc.id.in_(ids)))
    session.execute(delete(ArchiveMessage).where(ArchiveMessage.id.in_(ids)))
    session.execute(delete(ArchiveEnvelope).where(ArchiveEnvelope.msgid.in_(msgids)))
    session.execute(delete(WatchHit).where(WatchHit.msgid.in_(msgids)))
    return _release_media(session, msgids)


def _release_media(session: Session, msgids: list[str]) -> list[str]:
    """Drop the messages' media references; a file goes only when no kept message references it
    (a file forwarded into a held conversation stays with that conversation)."""
    files = set(session.scalars(select(ArchiveMediaRef.sdkfileid).where(ArchiveMediaRef.msgid.in_(msgids))))
    session.execute(delete(ArchiveMediaRef).where(ArchiveMediaRef.msgid.in_(msgids)))
    return release_files(session, files)


def release_files(session: Session, files: set[str]) -> list[str]:
    """Of files whose references were just removed, drop those no kept message references."""
    if not files:
        return []
    still = set(session.scalars(select(ArchiveMediaRef.sdkfileid).where(ArchiveMediaRef.sdkfileid.in_(files))))
    orphans = sorted(files - still)
    if not orphans:
        return []
    paths = [p for p, in session.execute(select(ArchiveMedia.path).where(ArchiveMedia.sdkfileid.in_(orphans))) if p]
    session.execute(delete(ArchiveMedia).where(ArchiveMedia.sdkfileid.in_(orphans)))
    return paths


def is_held(row: Due, parties: frozenset[str], rooms: set[str]) -> bool:
    return bool(row.parties() & parties) or (bool(row.values[7]) and row.values[7] in rooms)


def purge(db: Database, cutoff_ms: int, parties: Iterable[str], key: bytes, *, actor: str, reason: str,
          now: datetime, dry_run: bool = False, batch: int = 2000, whole_months: bool = True) -> PurgeReport:
    """Purge messages sent before ``cutoff_ms`` (epoch ms) unless a held party is in them or in
    their group chat. The caller holds the archive lock, so nothing is appended meanwhile.

    On a partitioned archive (PostgreSQL) months entirely past the cutoff and free of holds are
    dropped whole first (``whole_months=False`` deletes them row by row instead)."""
    report, held_parties = PurgeReport(), frozenset(p for p in parties if p)
    with db.session_scope() as s:
        by_month = whole_months and not dry_run and is_partitioned(s)
        if by_month:  # the rows verified are the rows the month gaps summarise
            lock_writes(s)
        chain = verify(s, key)
        if not chain.ok:
            report.refused = chain.line()
            return report
        rooms = held_rooms(s, held_parties)
        head = s.get(ArchiveState, HEAD)
        head_pos = head.seq if head else 0
        if by_month:
            _purge_months(s, report, cutoff_ms, held_parties, rooms, key, actor=actor, reason=reason, now=now)
    after = 0
    while True:
        with db.session_scope() as s:
            rows = _due(s, cutoff_ms, after, head_pos, batch)
            if not rows:
                return report
            after = rows[-1].id
            doomed = [r for r in rows if not is_held(r, held_parties, rooms)]
            report.due, report.held = report.due + len(rows), report.held + len(rows) - len(doomed)
            if not doomed:
                continue
            gaps = gaps_of(doomed, key)
            report.deleted, report.gaps = report.deleted + len(doomed), report.gaps + len(gaps)
            if dry_run:
                continue
            record_checkpoint(s, gaps, key, actor=actor, reason=reason, cutoff_ms=cutoff_ms, deleted=len(doomed),
                              held=len(rows) - len(doomed), now=now)
            report.media_files += delete_messages(s, doomed)
            report.checkpoints += 1


def _purge_months(session: Session, report: PurgeReport, cutoff_ms: int, parties: frozenset[str], rooms: set[str],
                  key: bytes, *, actor: str, reason: str, now: datetime) -> None:
    """PostgreSQL: drop whole months (storage.archive_months), one checkpoint each, in the caller's
    transaction; what is left past the cutoff (held months) goes to the row purge after."""
    plan = months_to_drop(session, cutoff_ms, parties, rooms)
    for month in plan:
        if month.gaps:
            record_checkpoint(session, month.gaps, key, actor=actor, reason=reason, cutoff_ms=cutoff_ms,
                              deleted=month.deleted, held=0, now=now)
            report.checkpoints += 1
        report.media_files += release_files(session, release_derived(session, month.month))
        report.due, report.deleted = report.due + month.deleted, report.deleted + month.deleted
        report.gaps += len(month.gaps)
        report.months.append(month.month.suffix[1:])
    drop_months(session, [m.month for m in plan])
