"""The archive's entry points for jobs, handlers and the CLI: one writer at a time, figures back.

Pull, decrypt and decrypt-pending all append to the hash chain, so they share one cross-process
lock ("archive"); a caller that does not get it returns at once: the holder is already doing the
work, and the periodic job catches anything that arrived after the holder's last fetch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from storage import archive_state
from storage.archive_store import NewMessage, cursor, envelope_counts, pull_requests, waiting_for_keys
from storage.outbox import enqueue
from wecom_hr import signals
from wecom_hr.archive import media, metrics
from wecom_hr.archive.errors import ArchiveError, PullFailedError, diagnose, error_code
from wecom_hr.archive.keys import KeyRing
from wecom_hr.archive.messages import media_refs
from wecom_hr.archive.pull import BeforeAppend, OnAppended, PullReport, decrypt_pending, pull_envelopes
from wecom_hr.archive.settings import ArchiveSettings, from_settings
from wecom_hr.archive.source import ChatSource, SdkSource
from wecom_hr.archive.watch import find_matches, load_rules, record_hits
from wecom_hr.dispatch import HandlerContext
from wecom_hr.wecom.markdown import markdown, md_escape

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

log = logging.getLogger("wecom_hr.archive")
LOCK = "archive"
LOCK_TTL = 1800.0


def archive_settings(runtime: Runtime) -> ArchiveSettings:
    return from_settings(runtime.settings)


def open_source(runtime: Runtime, settings: ArchiveSettings) -> ChatSource | None:
    """The runtime's in-process source (demo, simulator) if it carries one, else the SDK."""
    override = getattr(runtime, "archive_source", None)
    if override is not None:
        return override  # type: ignore[no-any-return]
    if not settings.enabled:
        return None
    return SdkSource(settings, runtime.settings.wecom.corp_id, runtime.secret("archive"))


def recipients(runtime: Runtime, settings: ArchiveSettings) -> list[str]:
    return list(settings.alert_recipients or runtime.settings.roles.compliance)


def link_for(runtime: Runtime, msgid: str) -> str:
    from urllib.parse import quote

    return f"{runtime.settings.public_url}/api/v1/archive/messages/{quote(msgid, safe='')}/context"


def _watcher(runtime: Runtime, settings: ArchiveSettings, now: datetime) -> BeforeAppend:
    """Watch-list matching before the append transaction (rules read in their own short session);
    inside it, only the media registration and the hits of the messages actually appended."""
    to = recipients(runtime, settings)

    def before_append(batch: list[NewMessage]) -> OnAppended:
        with runtime.db.session_scope() as s:
            rules = load_rules(s, settings)
        matches = find_matches(rules, batch)

        def on_appended(session: Session, messages: list[NewMessage]) -> int:
            if settings.media_dir:
                media.register(session, [(m.msgid, f, md5) for m in messages for f, md5 in media_refs(m.raw)], now)
            appended = {m.msgid for m in messages}  # a message already archived is not matched again
            # KPIs and risk signals upkeep, in the same unit of work (wecom_hr/signals.py lists who listens)
            signals.emit(signals.MESSAGES_ARCHIVED, HandlerContext(runtime, session, 0, now), messages)
            return record_hits(session, [m for m in matches if m.message.msgid in appended], to,
                               lambda m: link_for(runtime, m), now)

        return on_appended

    return before_append


def _decrypt(runtime: Runtime, settings: ArchiveSettings, source: ChatSource, now: datetime,
             retry_failed: bool) -> dict[str, Any]:
    keys = getattr(runtime, "archive_keys", None) or KeyRing(settings.private_keys)  # demo: in-memory keys
    report = decrypt_pending(runtime.db, source, keys, settings.chain_key.encode(), settings.decrypt_batch,
                             retry_failed, before_append=_watcher(runtime, settings, now))
    return {"appended": report.appended, "nokey": report.nokey, "failed": report.failed, "hits": report.hits,
            "missing_key_versions": sorted(report.missing_versions), "errors": report.errors[:5]}


def _fetch_then_decrypt(runtime: Runtime, settings: ArchiveSettings, source: ChatSource, now: datetime,
                        max_calls: int) -> tuple[dict[str, Any], ArchiveError | None]:
    """One round; the envelopes already stored are decrypted even when fetching fails."""
    failure: ArchiveError | None = None
    try:
        fetched = pull_envelopes(runtime.db, source, settings.batch_size, max_calls)
    except ArchiveError as exc:
        failure, fetched = exc, PullReport()
        with runtime.db.session_scope() as s:
            fetched.cursor = cursor(s)
    try:
        decrypted = _decrypt(runtime, settings, source, now, retry_failed=False)
    except ArchiveError as exc:  # e.g. the SDK does not start: the fetch's error, if any, says more
        if failure is None:
            raise
        log.debug("archive decrypt pass skipped: %s", diagnose(exc))
        decrypted = {}
    return {"fetched": fetched.fetched, "stored": fetched.stored, "cursor": fetched.cursor, **decrypted}, failure


def _pull_until_quiet(runtime: Runtime, settings: ArchiveSettings, source: ChatSource, now: datetime,
                      max_calls: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for _ in range(5):  # a notify that came in while we pulled means: look once more
        with runtime.db.session_scope() as s:
            requests = pull_requests(s)
        round_figures, failure = _fetch_then_decrypt(runtime, settings, source, now, max_calls)
        for key, value in round_figures.items():
            figures[key] = figures.get(key, 0) + value if isinstance(value, int) and key != "cursor" else value
        if failure is not None:
            raise PullFailedError(failure, figures) from failure
        with runtime.db.session_scope() as s:
            if pull_requests(s) == requests:
                break
    return figures


def _with_source(runtime: Runtime, settings: ArchiveSettings, lock: str, busy: str,
                 work: Callable[[ChatSource], dict[str, Any]]) -> dict[str, Any] | None:
    """``work(source)`` while holding ``lock``; None when no source is configured. The SDK's child
    process starts only once the lock is held, and is closed whatever happens."""
    if getattr(runtime, "archive_source", None) is None and not settings.enabled:
        return None
    with runtime.lock(lock, LOCK_TTL) as got:
        if not got:
            return {"skipped": busy}
        source = open_source(runtime, settings)
        assert source is not None
        try:
            return work(source)
        finally:
            if source is not getattr(runtime, "archive_source", None):
                source.close()


def pull(runtime: Runtime, now: datetime, max_calls: int = 1000) -> dict[str, Any]:
    """Fetch new envelopes, then decrypt everything due. Safe to call at any time, from anywhere.

    Every attempt is recorded (archive_pull_state) and may tell compliance of an outage
    (record_attempt). A failure is raised as an ArchiveError (a PullFailedError once the fetch has
    failed): callers report ``diagnose(exc)``, one line, which is also its text."""
    settings = archive_settings(runtime)

    def work(source: ChatSource) -> dict[str, Any]:
        try:
            figures = _pull_until_quiet(runtime, settings, source, now, max_calls)
        except ArchiveError as exc:
            record_attempt(runtime, settings, now, exc)
            raise
        record_attempt(runtime, settings, now, None)
        return figures

    figures = _with_source(runtime, settings, LOCK, "another process is pulling the archive", work)
    return figures if figures is not None else {"skipped": "archive.sdk_path is not configured"}


def _outage(session: Session, to: list[str], since: datetime, now: datetime, failures: int, line: str) -> None:
    # Keyed by the last success (or first attempt): one outage, one alert, however many pulls fail.
    content = "\n".join([
        "**会话存档拉取中断**",
        f"已 {int((now - since).total_seconds() // 60)} 分钟没有成功拉取（自 {since:%Y-%m-%d %H:%M} UTC），"
        f"连续失败 {failures} 次",
        f"> {md_escape(line, 600)}",
        "恢复后会再通知一次。详情：`wecom-hr archive status`",
    ])
    enqueue(session, f"archive-outage:{since.isoformat()}", "archive_outage", to, markdown(content), now=now)


def _recovered(session: Session, to: list[str], since: datetime, now: datetime, failures: int) -> None:
    content = "\n".join([
        "**会话存档已恢复拉取**",
        f"中断约 {int((now - since).total_seconds() // 60)} 分钟"
        f"（{since:%Y-%m-%d %H:%M} – {now:%Y-%m-%d %H:%M} UTC），期间失败 {failures} 次",
    ])
    enqueue(session, f"archive-recovered:{since.isoformat()}", "archive_outage", to, markdown(content), now=now)


def record_attempt(runtime: Runtime, settings: ArchiveSettings, now: datetime, failure: ArchiveError | None) -> None:
    """Store the attempt; queue the outage alert (once per outage) or the recovery notice (once)."""
    with runtime.db.session_scope() as s:
        row = archive_state.attempt(s, now)
        row.seq = cursor(s)
        since, failures = archive_state.healthy_since(row), row.consecutive_failures or 0
        if failure is None:
            if row.outage_alerted_at is not None:
                _recovered(s, recipients(runtime, settings), since, now, failures)
            row.outage_alerted_at = None
            archive_state.succeeded(row, now, row.seq)
        else:
            line = diagnose(failure)
            archive_state.failed(row, now, error_code(failure), line)
            metrics.PULL_FAILURES.labels(errcode=metrics.errcode_label(failure)).inc()
            to = recipients(runtime, settings)
            if row.outage_alerted_at is None and to and now - since >= timedelta(minutes=settings.alert_after_minutes):
                _outage(s, to, since, now, row.consecutive_failures, line)
                row.outage_alerted_at = now
        metrics.set_pull_health(row, now)


def decrypt_again(runtime: Runtime, now: datetime) -> dict[str, Any]:
    """`archive decrypt-pending`: messages waiting for a key, and earlier failures, once more."""
    settings = archive_settings(runtime)

    def work(source: ChatSource) -> dict[str, Any]:
        figures = _decrypt(runtime, settings, source, now, retry_failed=True)
        with runtime.db.session_scope() as s:
            figures["waiting_for_keys"] = waiting_for_keys(s)
        return figures

    figures = _with_source(runtime, settings, LOCK, "another process is pulling the archive", work)
    return figures if figures is not None else {"skipped": "archive.sdk_path is not configured"}


def download_media(runtime: Runtime, now: datetime) -> dict[str, Any]:
    settings = archive_settings(runtime)
    figures = None
    if settings.media_dir:
        figures = _with_source(runtime, settings, LOCK + "-media", "another process is downloading media",
                               lambda source: media.download(runtime.db, source, settings.media_dir,
                                                             settings.media_max_bytes, settings.media_per_run))
    return figures if figures is not None else {"skipped": "archive.media_dir or archive.sdk_path is not configured"}


def status(runtime: Runtime) -> dict[str, Any]:
    settings = archive_settings(runtime)
    with runtime.db.session_scope() as s:
        counts = envelope_counts(s)
        waiting = waiting_for_keys(s)
        pull_state = archive_state.as_dict(archive_state.get(s))
        media_states = media.state_counts(s)
        media_failed = media.failed_files(s, 10)
    return {"envelopes": counts, "waiting_for_keys": waiting, "key_problems": KeyRing(settings.private_keys).check(),
            "sdk_configured": settings.enabled, "pull": pull_state, "media": media_states,
            "media_failed": media_failed}
