"""Retention: the daily `archive-retention` job and `wecom-hr archive purge`.

Messages older than ``[archive] retention_days`` are purged unless a legal hold covers them
(``[archive.legal_hold]`` in config, plus holds placed through the API). The purge shares the
archive lock with the puller, so the chain is never appended to and cut at the same time.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from storage import audit, outbox
from storage.archive_holds import held_userids
from storage.archive_partitions import create_ahead
from storage.archive_retention import ChainIntegrityError
from storage.archive_retention import purge as purge_archive
from wecom_hr.archive import metrics
from wecom_hr.archive.service import LOCK, LOCK_TTL, archive_settings
from wecom_hr.archive.settings import ArchiveSettings

# Outbox messages that quote archived chats (watch-list cards, the daily digest, 跑单 risk cards).
QUOTING_KINDS = ("archive_watch", "archive_digest", "risk_alert")

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

log = logging.getLogger("wecom_hr.archive")


def held_parties(runtime: Runtime, settings: ArchiveSettings) -> set[str]:
    with runtime.db.session_scope() as s:
        return {*settings.hold_members, *settings.hold_customers, *held_userids(s)}


def _unlink(paths: list[str]) -> int:
    """Remove purged media files (after the commit: a crash leaves a stray file, never a dangling row)."""
    removed = 0
    for path in paths:
        for candidate in (path, path + ".part"):
            try:
                os.unlink(candidate)
                removed += 1
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("archive retention: could not remove a media file (%s)", exc.strerror)
    return removed


def purge(runtime: Runtime, now: datetime, *, dry_run: bool = False, actor: str = "system",
          reason: str = "") -> dict[str, Any]:
    """Purge what retention allows; returns the figures (``refused`` when the chain is broken)."""
    settings = archive_settings(runtime)
    if not dry_run:  # PostgreSQL: next month's partitions before its first message arrives
        create_ahead(runtime.db, int(now.timestamp() * 1000))
    if settings.retention_days <= 0:
        return {"skipped": "archive.retention_days is 0 (keep forever)"}
    cutoff = now - timedelta(days=settings.retention_days)
    why = reason or f"retention: {settings.retention_days} days"
    with runtime.lock(LOCK, LOCK_TTL) as got:
        if not got:
            return {"skipped": "another process is pulling or purging the archive"}
        parties = held_parties(runtime, settings)
        try:
            report = purge_archive(runtime.db, int(cutoff.timestamp() * 1000), parties, settings.chain_key.encode(),
                                   actor=actor, reason=why, now=now, dry_run=dry_run)
        except ChainIntegrityError as exc:
            return {"refused": f"archive chain broken: {exc}", "dry_run": dry_run}
    figures: dict[str, Any] = {"dry_run": dry_run, "cutoff": cutoff.isoformat(), "due": report.due,
                               "held": report.held, "would_delete" if dry_run else "deleted": report.deleted,
                               "gaps": report.gaps,
                               "checkpoints": report.checkpoints, "held_parties": len(parties)}
    if report.months:
        figures["months_dropped"] = report.months
    if report.refused:
        figures["refused"] = report.refused
        log.error("archive retention refused: %s", report.refused)
        return figures
    with runtime.db.session_scope() as s:  # alert cards and digests quote the chats: they go too
        figures["alerts_to_forget" if dry_run else "alerts_forgotten"] = outbox.forget(
            s, QUOTING_KINDS, cutoff, count_only=dry_run)
    if not dry_run and report.deleted:
        figures["media_files_removed"] = _unlink(report.media_files)
        metrics.PURGED.inc(report.deleted)
        with runtime.db.session_scope() as s:
            audit.record(s, actor, "archive.purge", {k: v for k, v in figures.items() if k != "dry_run"} | {
                "reason": why})
    return figures
