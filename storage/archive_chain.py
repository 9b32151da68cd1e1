"""The hash chain over archived messages, its retention checkpoints, and verification.

Each row's hash covers its own columns and the previous row's hash, so changing, removing or
slipping in a row breaks the chain at that point. With ``chain_key`` (a secret kept outside the
database) the link is an HMAC, so someone who can write to the database cannot re-forge the chain.
The head (last position and hash) is kept in archive_state so a cut-off tail is noticed too.

Retention removes rows, so the purge first records a checkpoint: for every run of consecutive
positions it removes, the hash the run linked from and the hash of its last row (a gap). The
verifier steps over a gap exactly as over the rows it replaces: the gap must link to the hash
before it, and the next row (kept, e.g. under legal hold, or another gap) must link to the gap's
last hash. Checkpoints are chained and signed the same way, and the last one is recorded in
archive_state, so a gap cannot be invented, widened, or dropped without the chain key. A row
removed any other way is still reported as missing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.archive import ArchiveCheckpoint, ArchiveGap, ArchiveMessage, ArchiveState

GENESIS = "0" * 64
HEAD = "chain_head"
CHECKPOINTS = "chain_checkpoints"  # seq: how many checkpoints, value: the last one's mac
HASHED_COLUMNS = ("id", "msgid", "seq", "action", "msgtype", "sender", "tolist", "roomid",
                  "customer", "msgtime", "text", "ref_msgid", "raw")


def link(prev_hash: str, values: Sequence[Any], key: bytes = b"") -> str:
    payload = prev_hash.encode() + b"\n" + json.dumps(list(values), ensure_ascii=False,
                                                      separators=(",", ":")).encode("utf-8")
    if key:
        return hmac.new(key, payload, hashlib.sha256).hexdigest()
    return hashlib.sha256(payload).hexdigest()


@dataclass(frozen=True)
class Gap:
    first: int
    last: int
    prev_hash: str      # the hash the first removed row linked from
    last_hash: str      # the hash of the last removed row: what the next position links from
    checkpoint: int = 0


def checkpoint_mac(cp: ArchiveCheckpoint, gaps: Sequence[Gap], key: bytes) -> str:
    at = cp.created_at.astimezone(UTC).isoformat()
    values = [cp.id, at, cp.actor, cp.reason, cp.cutoff_ms, cp.first_id, cp.last_id, cp.deleted, cp.held,
              [[g.first, g.last, g.prev_hash, g.last_hash] for g in gaps]]
    return link(cp.prev_mac, values, key)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    problem: str = ""          # "altered" | "missing" | "inserted" | "head" | "checkpoint" | ""
    position: int | None = None
    msgid: str = ""
    detail: str = ""
    purged: int = 0
    checkpoints: int = 0

    def line(self) -> str:
        if self.ok:
            extra = (f", {self.purged} purged under retention ({self.checkpoints} checkpoints)"
                     if self.checkpoints else "")
            return f"archive chain intact: {self.checked} messages{extra}"
        where = f" at position {self.position}" if self.position is not None else ""
        where += f" (msgid {self.msgid})" if self.msgid else ""
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


def _state(session: Session, name: str) -> tuple[int, str]:
    row = session.get(ArchiveState, name, populate_existing=True)
    return (row.seq, row.value or GENESIS) if row else (0, GENESIS)


def load_gaps(session: Session, key: bytes) -> tuple[dict[int, Gap], int, str]:
    """Every gap by first position, the checkpoint count, and a problem ("" when all sign off)."""
    gaps = [Gap(g.first_id, g.last_id, g.prev_hash, g.last_hash, g.checkpoint_id)
            for g in session.scalars(select(ArchiveGap).order_by(ArchiveGap.first_id))]
    by_cp: dict[int, list[Gap]] = defaultdict(list)
    for gap in gaps:
        by_cp[gap.checkpoint].append(gap)
    prev, count = GENESIS, 0
    for cp in session.scalars(select(ArchiveCheckpoint).order_by(ArchiveCheckpoint.id)):
        if cp.prev_mac != prev:
            return {}, count, f"checkpoint #{cp.id} does not follow the checkpoint before it (one was removed or added)"
        if checkpoint_mac(cp, by_cp.pop(cp.id, []), key) != cp.mac:
            return {}, count, f"checkpoint #{cp.id} or one of its purged ranges was altered"
        prev, count = cp.mac, count + 1
    if by_cp:
        return {}, count, f"purged ranges without a checkpoint (checkpoint #{min(by_cp)} is gone)"
    if (count, prev) != _state(session, CHECKPOINTS):
        return {}, count, "the last checkpoint is not the recorded one (a checkpoint was removed or added)"
    return {g.first: g for g in gaps}, count, ""


class _Walk:
    """Position and running hash of the walk, stepping over recorded gaps as over rows."""

    def __init__(self, gaps: dict[int, Gap]) -> None:
        self.gaps, self.expected, self.prev = gaps, 1, GENESIS
        self.checked = self.purged = self.used = 0

    def skip_gaps(self) -> ChainReport | None:
        while self.expected in self.gaps:
            gap = self.gaps[self.expected]
            if gap.prev_hash != self.prev:
                return ChainReport(False, self.checked, "inserted", gap.first, "",
                                   f"the purged range {gap.first}..{gap.last} (checkpoint #{gap.checkpoint}) "
                                   "does not link to the row before it")
            self.prev, self.expected = gap.last_hash, gap.last + 1
            self.purged, self.used = self.purged + gap.last - gap.first + 1, self.used + 1
        return None

    def row(self, values: Sequence[Any], stored_prev: str, stored_hash: str, key: bytes) -> ChainReport | None:
        pos, msgid = values[0], values[1]
        broken = self.skip_gaps()
        if broken:
            return broken
        if pos < self.expected:
            return ChainReport(False, self.checked, "inserted", pos, msgid,
                               "the row lies in a range a checkpoint records as purged")
        if pos != self.expected:
            return ChainReport(False, self.checked, "missing", self.expected, "",
                               f"rows {self.expected}..{pos - 1} are gone; the next row is {pos} ({msgid})")
        if stored_prev != self.prev:
            return ChainReport(False, self.checked, "inserted", pos, msgid,
                               "the row does not link to the row before it (inserted or replaced)")
        if link(stored_prev, values, key) != stored_hash:
            return ChainReport(False, self.checked, "altered", pos, msgid, "the row's content does not match its hash")
        self.prev, self.expected, self.checked = stored_hash, pos + 1, self.checked + 1
        return None


def _verify_once(session: Session, key: bytes, batch: int) -> ChainReport:
    gaps, checkpoints, problem = load_gaps(session, key)
    if problem:
        return ChainReport(False, 0, "checkpoint", None, "", problem)
    walk = _Walk(gaps)
    for row in _rows(session, batch):
        broken = walk.row(row[:-2], row[-2], row[-1], key)
        if broken:
            return broken
    broken = walk.skip_gaps()
    if broken:
        return broken
    head_pos, head_hash = _state(session, HEAD)
    end = walk.expected - 1
    if (end, walk.prev) != (head_pos, head_hash):
        if end == head_pos:
            return ChainReport(False, walk.checked, "head", end, "", "the last row's hash is not the recorded head")
        problem = "missing" if end < head_pos else "inserted"
        return ChainReport(False, walk.checked, problem, min(end, head_pos) + 1, "",
                           f"the chain ends at {end} but the recorded head is {head_pos}")
    if walk.used != len(gaps):
        return ChainReport(False, walk.checked, "checkpoint", None, "",
                           f"{len(gaps) - walk.used} recorded purged ranges are not part of the chain")
    return ChainReport(True, walk.checked, purged=walk.purged, checkpoints=checkpoints)


def verify(session: Session, key: bytes = b"", batch: int = 5000) -> ChainReport:
    """Walk the chain in position order and report the first break.

    The walk reads in batches, so a purge or an append that commits meanwhile can make a sound
    chain look broken; a break is only reported when the head and the checkpoints did not move
    during the walk (else the walk runs again).
    """
    report = ChainReport(True, 0)
    for _ in range(3):
        before = (_state(session, HEAD), _state(session, CHECKPOINTS))
        report = _verify_once(session, key, batch)
        if report.ok or (_state(session, HEAD), _state(session, CHECKPOINTS)) == before:
            return report
    return report
