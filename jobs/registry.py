"""Every scheduled job, in one explicit table: name -> function and default cron schedule.

A job is a plain function ``(runtime, now) -> dict``. The schedule can be changed per job in
config: ``[jobs.overdue-reminders] cron = "0 9 * * 1-5"`` (minute hour day month day_of_week),
or disabled with ``enabled = false``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

JobFunc = Callable[["Runtime", datetime], dict[str, Any]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: JobFunc
    cron: str  # "minute hour day month day_of_week", in settings.timezone
    lock_ttl: float = 3600.0


def all_jobs() -> dict[str, JobSpec]:
    from jobs import (
        archive,  # chat archive (issue 4)
        customers,
        departures,  # departure handover (issue 5)
    )
    from jobs.receivables import remind_overdue_payments
    from wecom_hr.kpi.digest import send_kpi_weekly_digest  # salesperson KPIs (issue 18)
    from wecom_hr.risk.sweep import evaluate_risk_rules  # 跑单 early warning (issue 18)

    specs: list[JobSpec] = [
        JobSpec("overdue-reminders", remind_overdue_payments, "0 9 * * *"),
        JobSpec("sync-directory", customers.sync_directory_nightly, "30 1 * * *"),
        JobSpec("resync-customers", customers.resync_customers, "0 2 * * *", lock_ttl=6 * 3600),
        JobSpec("send-customer-alert-digest", customers.send_customer_alert_digest, "0 18 * * *"),
        JobSpec("transfer-departures", departures.transfer_departures, "* * * * *"),
        JobSpec("follow-up-departures", departures.follow_up_departures, "*/10 * * * *"),
        JobSpec("archive-pull", archive.pull_chat_archive, "* * * * *", lock_ttl=1800),
        JobSpec("archive-watch-digest", archive.send_archive_watch_digest, "0 9 * * *"),
        JobSpec("archive-media", archive.download_archive_media, "*/10 * * * *", lock_ttl=3600),
        JobSpec("archive-retention", archive.apply_archive_retention, "30 3 * * *", lock_ttl=6 * 3600),
        JobSpec("kpi-weekly-digest", send_kpi_weekly_digest, "0 9 * * 1"),  # salesperson KPIs (issue 18)
        JobSpec("evaluate-risk-rules", evaluate_risk_rules, "15 * * * *"),  # deletions, churn (issue 18)
    ]
    return {spec.name: spec for spec in specs}
