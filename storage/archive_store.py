"""Repository functions for the archive: envelopes, the cursor, and appending decrypted messages.

Writes happen in the caller's transaction. Appending is meant for one writer at a time (the
archive puller holds a lock across processes); the chain head row is also locked on PostgreSQL
so that a second writer waits instead of forking the chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.archive import (
    FAILED,
    NOKEY,
    PENDING,
    ArchiveDoc,
    ArchiveEnvelope,
    ArchiveMessage,
    ArchivePosting,
    ArchiveState,
)
from storage.archive_chain import GENESIS, HEAD, link
from storage.archive_partitions import ensure_for
from storage.archive_text import fold, posting_rows
from storage.bulk import insert_rows
from storage.db import table, utcnow

CURSOR = "cursor"


@dataclass(frozen=True)
class Envelope:
    seq: int
    msgid: str
    publickey_ver: int
    encrypt_random_key: str
    encrypt_chat_msg: str


@dataclass(frozen=True)
class NewMessage:
    msgid: str
    seq: int
    action: str
    msgtype: str
    sender: str
    tolist: str       # JSON array text
    roomid: str
    customer: str
    conv: str
    msgtime: int
    text: str
    ref_msgid: str
    raw: str


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def state_row(session: Session, name: str, lock: bool = False) -> ArchiveState:
    query = select(ArchiveState).where(ArchiveState.name == name)
    if lock and _dialect(session) == "postgresql":
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        insert = pg_insert if _dialect(session) == "postgresql" else sqlite_insert
        session.execute(insert(ArchiveState).values(name=name, seq=0, value="", updated_at=utcnow())
                        .on_conflict_do_nothing(index_elements=["name"]))
        row = session.scalar(query)
    assert row is not None
    return row


def touch_state(session: Session, name: str, seq: int, now: datetime) -> None:
    """Record a figure the metrics read back (the SDK's newest seq, the last completed pull)."""
    row = state_row(session, name, lock=True)
    row.seq, row.updated_at = seq, now


def cursor(session: Session) -> int:
    row = session.get(ArchiveState, CURSOR)
    return row.seq if row else 0


def save_envelopes(session: Session, items: Sequence[Envelope], now: datetime | None = None) -> int:
    """Store new envelopes (a msgid seen before is skipped) and move the cursor in the same
    transaction, so the cursor never passes an envelope that is not stored."""
    if not items:
        return 0
    now = now or utcnow()
    insert = pg_insert if _dialect(session) == "postgresql" else sqlite_insert
    rows = [{"seq": e.seq, "msgid": e.msgid, "publickey_ver": e.publickey_ver,
             "encrypt_random_key": e.encrypt_random_key, "encrypt_chat_msg": e.encrypt_chat_msg,
             "fetched_at": now, "status": PENDING, "attempts": 0} for e in items]
    added = session.execute(insert(ArchiveEnvelope).on_conflict_do_nothing(index_elements=["msgid"])
                            .returning(ArchiveEnvelope.id), rows).all()
    state = state_row(session, CURSOR, lock=True)
    state.seq = max(state.seq, max(e.seq for e in items))
    state.updated_at = now
    return len(added)


def envelopes_in(session: Session, statuses: Iterable[str], after_id: int, limit: int) -> list[ArchiveEnvelope]:
    return list(session.scalars(select(ArchiveEnvelope).where(ArchiveEnvelope.status.in_(list(statuses)),
                                                              ArchiveEnvelope.id > after_id)
                                .order_by(ArchiveEnvelope.id).limit(limit)))


def envelopes_due(session: Session, after_id: int, limit: int, key_versions: Iterable[int],
                  retry_failed: bool = False) -> list[ArchiveEnvelope]:
    """Envelopes to decrypt: new ones, ones waiting for a key we now have, and failures on request."""
    due = (ArchiveEnvelope.status == PENDING) | ((ArchiveEnvelope.status == NOKEY)
                                                 & ArchiveEnvelope.publickey_ver.in_(list(key_versions)))
    if retry_failed:
        due = due | (ArchiveEnvelope.status == FAILED)
    return list(session.scalars(select(ArchiveEnvelope).where(due, ArchiveEnvelope.id > after_id)
                                .order_by(ArchiveEnvelope.id).limit(limit)))


def mark_envelopes(session: Session, ids: Sequence[int], status: str, error: str | None = None) -> None:
    if ids:
        session.execute(update(ArchiveEnvelope).where(ArchiveEnvelope.id.in_(list(ids)))
                        .values(status=status, last_error=error, attempts=ArchiveEnvelope.attempts + 1))


def mark_envelope(session: Session, envelope_id: int, status: str, error: str | None = None) -> None:
    session.execute(update(ArchiveEnvelope).where(ArchiveEnvelope.id == envelope_id)
                    .values(status=status, last_error=error, attempts=ArchiveEnvelope.attempts + 1))


def envelope_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(ArchiveEnvelope.status, func.count()).group_by(ArchiveEnvelope.status)).all()
    return {status: int(n) for status, n in rows}


def existing_msgids(session: Session, msgids: Sequence[str]) -> set[str]:
    if not msgids:
        return set()
    if _dialect(session) == "postgresql":
        # A join from the list (an index probe per msgid and month partition): with ``IN (…)`` a
        # month partition created minutes ago, not analyzed yet, is read whole for every batch.
        return set(session.execute(text("SELECT m.msgid FROM unnest(CAST(:ids AS text[])) AS u(msgid) "
                                        "JOIN archive_messages m ON m.msgid = u.msgid"),
                                   {"ids": list(msgids)}).scalars())
    return set(session.scalars(select(ArchiveMessage.msgid).where(ArchiveMessage.msgid.in_(list(msgids)))))


def append_messages(session: Session, messages: Sequence[NewMessage],
                    chain_key: bytes = b"") -> list[tuple[int, NewMessage]]:
    """Append decrypted messages to the chain and the search index; returns (position, message).

    Messages already archived (same msgid) are skipped, so a repeated pass adds nothing.
    """
    fresh: dict[str, NewMessage] = {}
    for m in messages:
        fresh.setdefault(m.msgid, m)
    for msgid in existing_msgids(session, list(fresh)):
        del fresh[msgid]
    if not fresh:
        return []
    head = state_row(session, HEAD, lock=True)
    ensure_for(session, (m.msgtime for m in fresh.values()))  # PostgreSQL: each month's partitions
    position, prev = head.seq, head.value or GENESIS
    msg_rows: list[tuple[Any, ...]] = []
    doc_rows: list[tuple[Any, ...]] = []
    postings: list[tuple[int, int, int, int, int]] = []
    for m in fresh.values():
        position += 1
        values = (position, m.msgid, m.seq, m.action, m.msgtype, m.sender, m.tolist, m.roomid,
                  m.customer, m.msgtime, m.text, m.ref_msgid, m.raw)
        digest = link(prev, values, chain_key)
        msg_rows.append((*values, prev, digest))
        body = fold(m.text)
        doc_rows.append((position, m.msgtime, m.sender, m.customer, m.conv, m.msgtype, body))
        postings.extend((g, m.msgtime, position, nxt, marks) for g, nxt, marks in posting_rows(body))
        prev = digest
    # Through the driver: the ORM's per-row work would dominate at thousands of rows/s.
    insert_rows(session, table(ArchiveMessage), _MESSAGE_COLUMNS, msg_rows)
    insert_rows(session, table(ArchiveDoc), _DOC_COLUMNS, doc_rows)
    postings.sort()  # B-tree friendly order: fewer page splits, and COPY streams sequentially
    insert_rows(session, table(ArchivePosting), ("gram", "msgtime", "doc_id", "next2", "marks"), postings)
    head.seq, head.value, head.updated_at = position, prev, utcnow()
    return list(zip((r[0] for r in msg_rows), fresh.values(), strict=True))


_MESSAGE_COLUMNS = ("id", "msgid", "seq", "action", "msgtype", "sender", "tolist", "roomid", "customer",
                    "msgtime", "text", "ref_msgid", "raw", "prev_hash", "hash")
_DOC_COLUMNS = ("id", "msgtime", "sender", "customer", "conv", "msgtype", "body")


PULL_REQUESTS = "pull_requests"


def request_pull(session: Session) -> None:
    """Count a msgaudit_notify; the puller compares the count before and after a run, and runs
    again when it moved, so a notify that arrives mid-run is not lost."""
    state = state_row(session, PULL_REQUESTS, lock=True)
    state.seq += 1
    state.updated_at = utcnow()


def pull_requests(session: Session) -> int:
    row = session.get(ArchiveState, PULL_REQUESTS)
    return row.seq if row else 0


def waiting_for_keys(session: Session) -> dict[int, int]:
    """publickey_ver -> envelopes stored encrypted because that private key is not configured."""
    rows = session.execute(select(ArchiveEnvelope.publickey_ver, func.count()).where(ArchiveEnvelope.status == NOKEY)
                           .group_by(ArchiveEnvelope.publickey_ver))
    return {int(v): int(n) for v, n in rows}
