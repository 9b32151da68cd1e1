"""Scheduled jobs' health: every run's outcome stored (storage/job_runs), failures counted in
/metrics, and the admins told in WeCom when a job keeps failing — once per failure spell, and once
when it works again. `wecom-hr jobs status` shows the rows; `[jobs] alert_after_failures` (default 3)
is how many failures in a row make a spell worth a message.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from storage import job_runs, outbox
from storage.db import utcnow
from wecom_hr import metrics
from wecom_hr.wecom import markdown as md

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

log = logging.getLogger(__name__)
DEFAULT_ALERT_AFTER = 3


def one_line(exc: BaseException) -> str:
    """What went wrong, for a log line, `jobs status` and the alert: never a traceback."""
    from wecom_hr.archive.errors import ArchiveError, diagnose

    if isinstance(exc, ArchiveError):
        return diagnose(exc)[:500]
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


def alert_after(runtime: Runtime) -> int:
    value = runtime.settings.section("jobs").get("alert_after_failures", DEFAULT_ALERT_AFTER)
    return value if isinstance(value, int) and value >= 1 else DEFAULT_ALERT_AFTER


def recipients(runtime: Runtime) -> list[str]:
    roles = runtime.settings.roles
    return list(roles.admin or roles.compliance)


def started(runtime: Runtime, name: str, now: datetime | None = None) -> None:
    with runtime.db.session_scope() as s:
        job_runs.get(s, name).last_started_at = now or utcnow()


def succeeded(runtime: Runtime, name: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    with runtime.db.session_scope() as s:
        row = job_runs.get(s, name)
        if row.alerted and recipients(runtime):
            body = md.markdown(f"**定时任务已恢复**\n> 任务：{md.md_escape(name)}\n"
                               f"> 此前连续失败 {row.failures_in_row} 次，现已成功运行")
            outbox.enqueue(s, f"job-recovered:{name}:{row.failing_since}", "job_health", recipients(runtime), body,
                           now=now)
        row.last_finished_at = row.last_success_at = now
        row.failures_in_row, row.failing_since, row.alerted = 0, None, False
    metrics.JOB_FAILING.labels(job=name).set(0)


def failed(runtime: Runtime, name: str, exc: BaseException, now: datetime | None = None) -> None:
    now, reason = now or utcnow(), one_line(exc)
    metrics.JOB_FAILURES.labels(job=name).inc()
    with runtime.db.session_scope() as s:
        row = job_runs.get(s, name)
        row.last_finished_at = row.last_error_at = now
        row.last_error, row.failures_in_row = reason, row.failures_in_row + 1
        row.failing_since = row.failing_since or now
        metrics.JOB_FAILING.labels(job=name).set(row.failures_in_row)
        if row.failures_in_row >= alert_after(runtime) and not row.alerted and recipients(runtime):
            body = md.markdown(f"**定时任务连续失败**\n> 任务：{md.md_escape(name)}\n"
                               f"> 连续失败：{row.failures_in_row} 次（自 {row.failing_since:%Y-%m-%d %H:%M} UTC）\n"
                               f"> 原因：{md.md_escape(reason, 300)}\n"
                               "> 处理：`wecom-hr jobs status` 查看，`wecom-hr doctor` 检查配置")
            outbox.enqueue(s, f"job-failing:{name}:{row.failing_since}", "job_health", recipients(runtime), body,
                           now=now)
            row.alerted = True


def record_safely(step: str, action: object, *args: object) -> None:
    """Health bookkeeping must never hide the job's own outcome (e.g. when the database is down)."""
    try:
        action(*args)  # type: ignore[operator]
    except Exception as exc:
        log.error("job health: could not record %s (%s)", step, one_line(exc))
