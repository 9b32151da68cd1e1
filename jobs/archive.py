"""Chat archive jobs: the periodic pull (the safety net behind msgaudit_notify), the daily
watch-list digest, the optional media download and the daily retention purge."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from wecom_hr.archive import retention, service
from wecom_hr.archive.digest import send_digest

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime


def pull_chat_archive(runtime: Runtime, now: datetime) -> dict[str, Any]:
    """Records every attempt (`archive status`, /metrics, the outage alert); an SDK failure is raised
    as an ArchiveError whose text is the one-line diagnosis (`jobs run` prints it and exits 1)."""
    return service.pull(runtime, now)


def send_archive_watch_digest(runtime: Runtime, now: datetime) -> dict[str, Any]:
    settings = service.archive_settings(runtime)
    with runtime.db.session_scope() as session:
        return send_digest(session, service.recipients(runtime, settings), now)


def download_archive_media(runtime: Runtime, now: datetime) -> dict[str, Any]:
    return service.download_media(runtime, now)


def apply_archive_retention(runtime: Runtime, now: datetime) -> dict[str, Any]:
    return retention.purge(runtime, now, actor="job:archive-retention")
