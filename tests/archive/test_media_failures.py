"""Media failures: logged with their errcode and counted, bounded attempts with backoff, then a final
"failed" the status shows; partial files never left behind; an outage stops the run."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from storage.archive import MEDIA_DONE, MEDIA_FAILED, MEDIA_PENDING, MEDIA_RETRYING, ArchiveMedia
from storage.db import Database, utcnow
from tests.archive.conftest import FakeArchive
from wecom_hr.archive import media
from wecom_hr.archive.errors import SdkError
from wecom_hr.archive.sdk import MediaChunk
from wecom_hr.archive.source import MemorySource

CHUNK = 1000


class Flaky(MemorySource):
    """Serves files in 1,000-byte chunks; after ``ok_chunks`` chunks every call answers ``code``."""

    def __init__(self, code: int, ok_chunks: int = 0) -> None:
        super().__init__()
        self.code, self.left, self.calls = code, ok_chunks, 0

    def media(self, sdkfileid: str, indexbuf: str) -> MediaChunk:
        self.calls += 1
        if self.left <= 0:
            raise SdkError("GetMediaData", self.code)
        self.left -= 1
        start = int(indexbuf or 0)
        data = b"x" * 5000
        return MediaChunk(data[start:start + CHUNK], str(start + CHUNK), start + CHUNK >= len(data))


def _register(db: Database, *files: str, at: datetime | None = None) -> None:
    with db.session_scope() as s:
        media.register(s, [(f"msg-{f}", f, "") for f in files], at or utcnow())


def _row(db: Database, sdkfileid: str) -> ArchiveMedia:
    with db.session_scope() as s:
        row = s.scalar(select(ArchiveMedia).where(ArchiveMedia.sdkfileid == sdkfileid))
        assert row is not None
        return row


def _failures(code: str) -> float:
    return REGISTRY.get_sample_value("wecomhr_archive_media_failures_total", {"errcode": code}) or 0.0


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_attempts_are_bounded_with_backoff_then_failed(db: Database, fake_archive: FakeArchive, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    _register(db, "gone")  # the stand-in SDK answers 10005 (bad fileid) for a file it does not have
    out, before, now = tmp_path / "out", _failures("10005"), utcnow()
    source = fake_archive.source()
    waits = []
    try:
        with caplog.at_level(logging.WARNING, "wecom_hr.archive.media"):
            for attempt in range(1, media.MAX_ATTEMPTS + 1):
                figures = media.download(db, source, str(out), 10**6, 10, now=now)
                assert figures["failed"] == 1 and not media.succeeded(figures)
                row = _row(db, "gone")
                assert row.attempts == attempt and "[10005]" in (row.last_error or "")
                if row.state == MEDIA_RETRYING:
                    assert row.next_attempt_at is not None
                    waits.append(row.next_attempt_at - now)
                    assert media.download(db, source, str(out), 10**6, 10, now=now) == {"downloaded": 0, "failed": 0}
                    now = row.next_attempt_at
            assert figures["gave_up"] == 1 and row.state == MEDIA_FAILED and row.next_attempt_at is None
            later = media.download(db, source, str(out), 10**6, 10, now=now + timedelta(days=30))
            assert later == {"downloaded": 0, "failed": 0}  # failed is final
    finally:
        source.close()
    assert waits == [timedelta(minutes=m) for m in (1, 4, 16, 64)]
    assert _failures("10005") - before == media.MAX_ATTEMPTS
    assert sum("errcode 10005" in r.getMessage() for r in caplog.records) == media.MAX_ATTEMPTS
    assert "giving up" in caplog.records[-1].getMessage() and "msg-gone" in caplog.records[-1].getMessage()
    assert _leftovers(out) == []  # not even an empty .part
    with db.session_scope() as s:
        assert media.state_counts(s) == {MEDIA_PENDING: 0, MEDIA_RETRYING: 0, MEDIA_FAILED: 1, MEDIA_DONE: 0}
        assert media.failed_files(s) == [{"msgid": "msg-gone", "attempts": 5, "error": row.last_error}]
        assert media.retry_failed(s) == 1
    assert (_row(db, "gone").state, _row(db, "gone").attempts) == (MEDIA_PENDING, 0)


def test_a_partial_file_resumes_after_a_failure_and_is_removed_when_given_up(db: Database, tmp_path: Path) -> None:
    _register(db, "big")
    part = media.part_path(str(tmp_path), "big")
    source = Flaky(10003, ok_chunks=2)  # system error after 2,000 bytes
    assert media.download(db, source, str(tmp_path), 10**6, 10, max_attempts=2)["failed"] == 1
    row = _row(db, "big")
    assert (row.state, row.received_bytes, part.stat().st_size) == (MEDIA_RETRYING, 2000, 2000)  # resumable
    assert row.next_attempt_at is not None
    figures = media.download(db, source, str(tmp_path), 10**6, 10, now=row.next_attempt_at, max_attempts=2)
    assert figures == {"downloaded": 0, "failed": 1, "gave_up": 1}
    row = _row(db, "big")
    assert (row.state, row.received_bytes, row.indexbuf) == (MEDIA_FAILED, 0, "")
    assert not part.exists() and _leftovers(tmp_path) == []


def test_an_outage_stops_the_run_and_spends_one_attempt(db: Database, tmp_path: Path) -> None:
    start = utcnow() - timedelta(minutes=5)
    _register(db, "a", at=start)
    _register(db, "b", at=start + timedelta(seconds=1))
    source, before = Flaky(10001), _failures("10001")  # network error: every file would fail the same way
    figures = media.download(db, source, str(tmp_path), 10**6, 10)
    assert figures == {"downloaded": 0, "failed": 1, "stopped": "10001"} and source.calls == 1
    assert (_row(db, "a").attempts, _row(db, "b").attempts) == (1, 0)
    assert _failures("10001") - before == 1 and _leftovers(tmp_path) == []


def test_a_too_large_file_fails_at_once_and_a_good_one_is_done(db: Database, tmp_path: Path) -> None:
    _register(db, "huge")
    source = MemorySource()
    source.add_media("huge", b"y" * 3000)
    figures = media.download(db, source, str(tmp_path), 100, 10)
    assert figures == {"downloaded": 0, "failed": 1, "gave_up": 1}
    assert _row(db, "huge").state == MEDIA_FAILED and _leftovers(tmp_path) == []
    _register(db, "small")
    source.add_media("small", b"z" * 50)
    figures = media.download(db, source, str(tmp_path), 100, 10)
    assert figures == {"downloaded": 1, "failed": 0} and media.succeeded(figures)
    assert _row(db, "small").state == MEDIA_DONE and Path(_row(db, "small").path).read_bytes() == b"z" * 50
    with db.session_scope() as s:
        assert media.state_counts(s) == {MEDIA_PENDING: 0, MEDIA_RETRYING: 0, MEDIA_FAILED: 1, MEDIA_DONE: 1}
