"""Media download through GetMediaData: chunked, binary-safe, resumable, checked against md5sum."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.archive import ArchiveMedia
from storage.db import Database, utcnow
from tests.archive.conftest import FakeArchive, message
from wecom_hr.archive import media
from wecom_hr.archive.messages import media_refs
from wecom_hr.archive.sdk import MediaChunk
from wecom_hr.archive.source import SdkSource

BLOB = (bytes(range(256)) * 9 + b"\x00" * 100) * 3  # 7,212 bytes with NULs


class CrashAfter:
    """A source that dies after ``n`` chunks, like a process killed mid-download."""

    def __init__(self, inner: SdkSource, n: int) -> None:
        self.inner, self.left = inner, n

    def media(self, sdkfileid: str, indexbuf: str) -> MediaChunk:
        if self.left == 0:
            raise OSError("killed")
        self.left -= 1
        return self.inner.media(sdkfileid, indexbuf)


def _register(db: Database, sdkfileid: str, md5sum: str) -> None:
    raw = json.dumps(message("img1", msgtype="image", image={"sdkfileid": sdkfileid, "md5sum": md5sum}))
    with db.session_scope() as s:
        assert media.register(s, [("img1", f, m) for f, m in media_refs(raw)], utcnow()) == 1
        assert media.register(s, [("img1", sdkfileid, md5sum)], utcnow()) == 0  # known: skipped


def _row(db: Database, sdkfileid: str) -> ArchiveMedia:
    with db.session_scope() as s:
        row = s.scalar(select(ArchiveMedia).where(ArchiveMedia.sdkfileid == sdkfileid))
        assert row is not None
        return row


def test_a_download_killed_midway_resumes_without_duplicating_bytes(
        db: Database, fake_archive: FakeArchive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (fake_archive.media_dir / "file-abc").write_bytes(BLOB)
    fake_archive.configure(chunk=1000)
    _register(db, "file-abc", hashlib.md5(BLOB).hexdigest())
    out = tmp_path / "downloads"
    source = fake_archive.source()
    try:
        first = media.download(db, CrashAfter(source, 3), str(out), 10**6, 10)  # type: ignore[arg-type]
        assert first == {"downloaded": 0, "failed": 1}
        row = _row(db, "file-abc")
        assert (row.received_bytes, row.indexbuf, row.complete) == (3000, "3000", False)
        part = media.target(str(out), "file-abc").with_name(media.target(str(out), "file-abc").name + ".part")
        with part.open("ab") as fh:
            fh.write(b"half-written chunk that was never committed")
        assert media.download(db, source, str(out), 10**6, 10, now=utcnow() + media.BACKOFF_MAX) == {
            "downloaded": 1, "failed": 0}  # due again after its backoff
    finally:
        source.close()
    row = _row(db, "file-abc")
    assert row.complete and Path(row.path).read_bytes() == BLOB and row.received_bytes == len(BLOB)


def test_a_wrong_md5_is_refused_and_a_too_large_file_stops(db: Database, fake_archive: FakeArchive,
                                                          tmp_path: Path) -> None:
    (fake_archive.media_dir / "f1").write_bytes(BLOB)
    (fake_archive.media_dir / "f2").write_bytes(BLOB)
    _register(db, "f1", "0" * 32)
    _register(db, "f2", "")
    source = fake_archive.source()
    try:
        assert media.download(db, source, str(tmp_path), 10**6, 10) == {"downloaded": 1, "failed": 1}
        assert "md5 mismatch" in (_row(db, "f1").last_error or "") and _row(db, "f1").received_bytes == 0
        later = utcnow() + media.BACKOFF_MAX  # f1 is due again after its backoff, now too large
        assert media.download(db, source, str(tmp_path), 100, 10, now=later)["failed"] == 1
    finally:
        source.close()
    assert "media_max_bytes" in (_row(db, "f1").last_error or "")
