"""The hash chain over archived messages, and its verification.

Each row's hash covers its own columns and the previous row's hash, so changing, removing or
slipping in a row breaks the chain at that point. With ``chain_key`` (a secret kept outside the
database) the link is an HMAC, so someone who can write to the database cannot re-forge the chain.
The head (last position and hash) is kept in archive_state so a cut-off tail is noticed too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.archive import ArchiveMessage, ArchiveState

GENESIS = "0" * 64
HEAD = "chain_head"
HASHED_COLUMNS = ("id", "msgid", "seq", "action", "msgtype", "sender", "tolist", "roomid",
                  "customer", "msgtime", "text", "ref_msgid", "raw")


def link(prev_hash: str, values: Sequence[Any], key: bytes = b"") -> str:
    payload = prev_hash.encode() + b"\n" + json.dumps(list(values), ensure_ascii=False,
                                                      separators=(",", ":")).encode("utf-8")
    if key:
        return hmac.new(key, payload, hashlib.sha256).hexdigest()
    return hashlib.sha256(payload).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    problem: str = ""          # "altered" | "missing" | "inserted" | "head" | ""
    position: int | None = None
    msgid: str = ""
    detail: str = ""

    def line(self) -> str:
        if self.ok:
            return f"archive chain intact: {self.checked} messages"
        where = f" at position {self.position}" + (f" (msgid {self.msgid})" if self.msgid else "")
        return f"archive chain broken: {self.problem}{where}: {self.detail}"


def _rows(session: Session, batch: int) -> Iterator[tuple[Any, ...]]:
    cols = [getattr(ArchiveMessage, c) for c in HASHED_COLUMNS]
    last = 0
    while True:
        rows = session.execute(select(*cols, ArchiveMessage.prev_hash, ArchiveMessage.hash)
                               .where(ArchiveMessage.id > last).order_by(ArchiveMessage.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def verify(session: Session, key: bytes = b"", batch: int = 5000) -> ChainReport:
    """Walk the chain in position order and report the first break."""
    expected_pos, prev = 1, GENESIS
    checked = 0
    for row in _rows(session, batch):
        values, stored_prev, stored_hash = row[:-2], row[-2], row[-1]
        pos, msgid = values[0], values[1]
        if pos != expected_pos:
            return ChainReport(False, checked, "missing", expected_pos, "",
                               f"rows {expected_pos}..{pos - 1} are gone; the next row is {pos} ({msgid})")
        if stored_prev != prev:
            return ChainReport(False, checked, "inserted", pos, msgid,
                               "the row does not link to the row before it (inserted or replaced)")
        if link(stored_prev, values, key) != stored_hash:
            return ChainReport(False, checked, "altered", pos, msgid, "the row's content does not match its hash")
        prev, expected_pos, checked = stored_hash, pos + 1, checked + 1
    head = session.get(ArchiveState, HEAD)
    head_pos, head_hash = (head.seq, head.value) if head else (0, GENESIS)
    if (checked, prev) != (head_pos, head_hash):
        if checked == head_pos:
            return ChainReport(False, checked, "head", checked, "", "the last row's hash is not the recorded head")
        problem = "missing" if checked < head_pos else "inserted"
        return ChainReport(False, checked, problem, min(checked, head_pos) + 1, "",
                           f"the chain ends at {checked} but the recorded head is {head_pos}")
    return ChainReport(True, checked)
