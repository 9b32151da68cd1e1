"""Media download (optional): GetMediaData in 512 KB chunks, binary-safe and resumable.

Media files referenced by archived messages are registered when the message is appended. The
download writes ``<file>.part`` and commits (bytes received, next indexbuf) after every chunk; a
restart truncates the part file to the committed length and continues from the committed indexbuf,
so nothing is written twice. A finished file is checked against the message's md5sum, then renamed.

A failed attempt is logged with its errcode, counted (``wecomhr_archive_media_failures_total``) and
scheduled again after a growing pause; after ``MAX_ATTEMPTS`` the file is "failed" for good (until
``retry_failed``). A part file with nothing committed, or whose bytes cannot be trusted (md5
mismatch, too large, final failure), is removed. An outage (network, SDK missing, timeout) stops
the run after the file it hit, so one bad hour does not use up the attempts of every file.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.archive import MEDIA_DONE, MEDIA_FAILED, MEDIA_PENDING, MEDIA_RETRYING, ArchiveMedia, ArchiveMediaRef
from storage.db import Database, rowcount, utcnow
from wecom_hr.archive import metrics
from wecom_hr.archive.errors import ArchiveError, SdkCrashedError, SdkTimeoutError, SdkUnavailableError
from wecom_hr.archive.source import ChatSource

log = logging.getLogger("wecom_hr.archive.media")

MAX_ATTEMPTS = 5
BACKOFF = timedelta(minutes=1)   # after failure n the file waits BACKOFF * 4**(n-1): 1, 4, 16, 64 minutes
BACKOFF_MAX = timedelta(hours=6)
STATES = (MEDIA_PENDING, MEDIA_RETRYING, MEDIA_FAILED, MEDIA_DONE)
OUTAGE_CODES = frozenset({"10001", "10009", "10011", "timeout", "unavailable"})  # not the file's fault
FINAL_CODES = frozenset({"too_large", "10010"})  # retrying cannot help: too large, data expired

LOG_FAILED = "archive media %s (message %s) failed, errcode %s, attempt %d of %d: %s; next attempt %s"
LOG_GAVE_UP = "archive media %s (message %s) failed, errcode %s, attempt %d of %d: %s; giving up (state failed)"
LOG_STOPPED = "archive media download stopped after errcode %s: the next files would fail the same way"


class MediaTooLargeError(ArchiveError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"media larger than archive.media_max_bytes ({limit})")


class Md5MismatchError(ArchiveError):
    def __init__(self, got: str, want: str) -> None:
        super().__init__(f"md5 mismatch: got {got}, the message says {want}; will download again")


def register(session: Session, refs: Iterable[tuple[str, str, str]], now: datetime) -> int:
    """Record (msgid, sdkfileid, md5sum) triples: each message's reference, and each file not yet
    known to download (a file shared by several messages is downloaded once). Returns new files."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    triples = list(refs)
    if not triples:
        return 0
    session.execute(insert(ArchiveMediaRef).on_conflict_do_nothing(index_elements=["msgid", "sdkfileid"]),
                    [{"msgid": m, "sdkfileid": f} for m, f, _ in triples])
    rows = [{"sdkfileid": f, "msgid": m, "path": "", "indexbuf": "", "received_bytes": 0, "md5sum": md5,
             "complete": False, "updated_at": now, "state": MEDIA_PENDING, "attempts": 0} for m, f, md5 in triples]
    return len(session.execute(insert(ArchiveMedia).on_conflict_do_nothing(index_elements=["sdkfileid"])
                               .returning(ArchiveMedia.sdkfileid), rows).all())


def target(media_dir: str, sdkfileid: str) -> Path:
    name = hashlib.sha256(sdkfileid.encode()).hexdigest()  # sdkfileids are long and not path-safe
    return Path(media_dir) / name[:2] / name


def part_path(media_dir: str, sdkfileid: str) -> Path:
    final = target(media_dir, sdkfileid)
    return final.with_name(final.name + ".part")


def errcode(exc: BaseException) -> str:
    """The failure's errcode as a metric label: the SDK's or WeCom's code, else a short reason."""
    for attr in ("errcode", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    kinds: tuple[tuple[type[BaseException], str], ...] = (
        (MediaTooLargeError, "too_large"), (Md5MismatchError, "md5_mismatch"), (SdkTimeoutError, "timeout"),
        (SdkCrashedError, "crashed"), (SdkUnavailableError, "unavailable"), (OSError, "io"))
    return next((name for kind, name in kinds if isinstance(exc, kind)), "error")


def _update(db: Database, key: str, **values: Any) -> None:
    with db.session_scope() as s:
        s.execute(update(ArchiveMedia).where(ArchiveMedia.sdkfileid == key).values(updated_at=utcnow(), **values))


def _fetch_one(db: Database, source: ChatSource, row_key: str, media_dir: str, max_bytes: int) -> str:
    with db.session_scope() as s:
        row = s.get(ArchiveMedia, row_key)
        assert row is not None
        indexbuf, received, md5sum = row.indexbuf, row.received_bytes, row.md5sum
    final, part = target(media_dir, row_key), part_path(media_dir, row_key)
    part.parent.mkdir(parents=True, exist_ok=True)
    with open(part, "ab") as fh:
        fh.truncate(received)  # drop bytes written after the last committed chunk
        while True:
            chunk = source.media(row_key, indexbuf)
            if received + len(chunk.data) > max_bytes:
                raise MediaTooLargeError(max_bytes)
            fh.write(chunk.data)
            fh.flush()
            os.fsync(fh.fileno())
            received += len(chunk.data)
            indexbuf = chunk.next_index
            _update(db, row_key, indexbuf=indexbuf, received_bytes=received)
            if chunk.finished:
                break
    digest = hashlib.md5(part.read_bytes(), usedforsecurity=False).hexdigest()
    if md5sum and digest != md5sum:
        raise Md5MismatchError(digest, md5sum)
    os.replace(part, final)
    _update(db, row_key, complete=True, state=MEDIA_DONE, path=str(final), last_error=None, next_attempt_at=None)
    return str(final)


def _discard_part(db: Database, key: str, media_dir: str, keep_committed: bool) -> None:
    """Keep a part file only when it holds committed bytes to resume from; else remove it."""
    part = part_path(media_dir, key)
    with db.session_scope() as s:
        row = s.get(ArchiveMedia, key)
        committed = row.received_bytes if row is not None else 0
    if keep_committed and committed > 0 and part.exists():
        with open(part, "ab") as fh:
            fh.truncate(committed)
        return
    part.unlink(missing_ok=True)
    _update(db, key, indexbuf="", received_bytes=0)


def _record_failure(db: Database, key: str, exc: BaseException, media_dir: str, now: datetime,
                    max_attempts: int) -> bool:
    """Log, count and schedule the failed file; True when it reached its final "failed" state."""
    code = errcode(exc)
    metrics.MEDIA_FAILURES.labels(errcode=code).inc()
    with db.session_scope() as s:
        row = s.get(ArchiveMedia, key)
        if row is None:  # purged meanwhile
            return False
        attempts, msgid = row.attempts + 1, row.msgid
    final = attempts >= max_attempts or code in FINAL_CODES
    _discard_part(db, key, media_dir, keep_committed=not final and code not in ("md5_mismatch", "too_large"))
    label, detail = hashlib.sha256(key.encode()).hexdigest()[:12], str(exc)[:300]
    if final:
        log.warning(LOG_GAVE_UP, label, msgid, code, attempts, max_attempts, detail)
        _update(db, key, state=MEDIA_FAILED, attempts=attempts, last_error=f"[{code}] {detail}", next_attempt_at=None)
        return True
    due = now + min(BACKOFF * 4 ** (attempts - 1), BACKOFF_MAX)
    log.warning(LOG_FAILED, label, msgid, code, attempts, max_attempts, detail, due.isoformat())
    _update(db, key, state=MEDIA_RETRYING, attempts=attempts, last_error=f"[{code}] {detail}", next_attempt_at=due)
    return False


def due_files(session: Session, now: datetime, limit: int) -> list[str]:
    """Files to download now: never tried, or failed and past their next attempt time."""
    waiting = ArchiveMedia.state.in_([MEDIA_PENDING, MEDIA_RETRYING]) & ArchiveMedia.complete.is_(False)
    ready = or_(ArchiveMedia.next_attempt_at.is_(None), ArchiveMedia.next_attempt_at <= now)
    return list(session.scalars(select(ArchiveMedia.sdkfileid).where(waiting, ready)
                                .order_by(ArchiveMedia.updated_at).limit(limit)))


def download(db: Database, source: ChatSource, media_dir: str, max_bytes: int, limit: int, *,
             now: datetime | None = None, max_attempts: int = MAX_ATTEMPTS) -> dict[str, Any]:
    """Download the files due. ``failed`` counts this run's failed attempts, ``gave_up`` the files
    that reached "failed" in it; ``ok`` is False when either happened (the CLI exits non-zero)."""
    now = now or utcnow()
    with db.session_scope() as s:
        keys = due_files(s, now, limit)
    done = failed = gave_up = 0
    stopped = ""
    for key in keys:
        try:
            _fetch_one(db, source, key, media_dir, max_bytes)
            done += 1
        except (ArchiveError, OSError) as exc:
            failed += 1
            gave_up += _record_failure(db, key, exc, media_dir, now, max_attempts)
            if errcode(exc) in OUTAGE_CODES:
                stopped = errcode(exc)
                log.warning(LOG_STOPPED, stopped)
                break
    figures: dict[str, Any] = {"downloaded": done, "failed": failed}
    if gave_up:
        figures["gave_up"] = gave_up
    if stopped:
        figures["stopped"] = stopped
    return figures


def succeeded(figures: dict[str, Any]) -> bool:
    """False when a download run had failures: what `archive media` turns into its exit code."""
    return not figures.get("failed") and not figures.get("gave_up")


def state_counts(session: Session) -> dict[str, int]:
    """Media files by state (pending, retrying, failed, done): what `archive status` shows."""
    rows = session.execute(select(ArchiveMedia.state, func.count()).group_by(ArchiveMedia.state)).all()
    counts = dict.fromkeys(STATES, 0)
    counts.update({str(state): int(n) for state, n in rows})
    return counts


def failed_files(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    """The files given up, newest first, with their last error (for `archive status`)."""
    rows = session.scalars(select(ArchiveMedia).where(ArchiveMedia.state == MEDIA_FAILED)
                           .order_by(ArchiveMedia.updated_at.desc()).limit(limit))
    return [{"msgid": r.msgid, "attempts": r.attempts, "error": r.last_error or ""} for r in rows]


def retry_failed(session: Session) -> int:
    """Give every failed file a fresh set of attempts (after fixing what made them fail)."""
    return rowcount(session.execute(update(ArchiveMedia).where(ArchiveMedia.state == MEDIA_FAILED).values(
        state=MEDIA_PENDING, attempts=0, next_attempt_at=None, updated_at=utcnow())))
