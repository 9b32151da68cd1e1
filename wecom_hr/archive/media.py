"""Media download (optional): GetMediaData in 512 KB chunks, binary-safe and resumable.

Media files referenced by archived messages are registered when the message is appended. The
download writes ``<file>.part`` and commits (bytes received, next indexbuf) after every chunk; a
restart truncates the part file to the committed length and continues from the committed indexbuf,
so nothing is written twice. A finished file is checked against the message's md5sum, then renamed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.archive import ArchiveMedia, ArchiveMediaRef
from storage.db import Database, utcnow
from wecom_hr.archive.errors import ArchiveError
from wecom_hr.archive.source import ChatSource


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
             "complete": False, "updated_at": now} for m, f, md5 in triples]
    return len(session.execute(insert(ArchiveMedia).on_conflict_do_nothing(index_elements=["sdkfileid"])
                               .returning(ArchiveMedia.sdkfileid), rows).all())


def target(media_dir: str, sdkfileid: str) -> Path:
    name = hashlib.sha256(sdkfileid.encode()).hexdigest()  # sdkfileids are long and not path-safe
    return Path(media_dir) / name[:2] / name


def _fetch_one(db: Database, source: ChatSource, row_key: str, media_dir: str, max_bytes: int) -> str:
    with db.session_scope() as s:
        row = s.get(ArchiveMedia, row_key)
        assert row is not None
        indexbuf, received, md5sum = row.indexbuf, row.received_bytes, row.md5sum
    final = target(media_dir, row_key)
    part = final.with_name(final.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    with open(part, "ab") as fh:
        fh.truncate(received)  # drop bytes written after the last committed chunk
        while True:
            chunk = source.media(row_key, indexbuf)
            fh.write(chunk.data)
            fh.flush()
            os.fsync(fh.fileno())
            received += len(chunk.data)
            indexbuf = chunk.next_index
            if received > max_bytes:
                raise ArchiveError(f"media larger than archive.media_max_bytes ({max_bytes})")
            with db.session_scope() as s:
                row = s.get(ArchiveMedia, row_key)
                assert row is not None
                row.indexbuf, row.received_bytes, row.updated_at = indexbuf, received, utcnow()
            if chunk.finished:
                break
    digest = hashlib.md5(part.read_bytes(), usedforsecurity=False).hexdigest()
    if md5sum and digest != md5sum:
        part.unlink()
        with db.session_scope() as s:
            row = s.get(ArchiveMedia, row_key)
            assert row is not None
            row.indexbuf, row.received_bytes = "", 0
        raise ArchiveError(f"md5 mismatch: got {digest}, the message says {md5sum}; will download again")
    os.replace(part, final)
    with db.session_scope() as s:
        row = s.get(ArchiveMedia, row_key)
        assert row is not None
        row.complete, row.path, row.last_error, row.updated_at = True, str(final), None, utcnow()
    return str(final)


def download(db: Database, source: ChatSource, media_dir: str, max_bytes: int, limit: int) -> dict[str, Any]:
    with db.session_scope() as s:
        keys = list(s.scalars(select(ArchiveMedia.sdkfileid).where(ArchiveMedia.complete.is_(False))
                              .order_by(ArchiveMedia.updated_at).limit(limit)))
    done = failed = 0
    for key in keys:
        try:
            _fetch_one(db, source, key, media_dir, max_bytes)
            done += 1
        except (ArchiveError, OSError) as exc:
            failed += 1
            with db.session_scope() as s:
                row = s.get(ArchiveMedia, key)
                if row is not None:
                    row.last_error, row.updated_at = str(exc)[:500], utcnow()
    return {"downloaded": done, "failed": failed}
