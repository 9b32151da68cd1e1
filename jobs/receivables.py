"""overdue-reminders: escalate overdue receivables at their tiers (owner → manager → finance)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from wecom_hr.receivables import reminders

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime


def remind_overdue_payments(runtime: Runtime, now: datetime) -> dict[str, Any]:
    """Queue today's digests; run_job delivers them right after (and the worker retries failures)."""
    return reminders.run(runtime.db, runtime.settings, now)
