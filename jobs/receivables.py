"""overdue-reminders: escalate overdue receivables at their tiers (owner → manager → finance)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from wecom_hr.receivables import email as letters
from wecom_hr.receivables import reminders
from wecom_hr.receivables.settings import from_settings

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

log = logging.getLogger(__name__)


def remind_overdue_payments(runtime: Runtime, now: datetime) -> dict[str, Any]:
    """Queue today's digests; run_job delivers them right after (and the worker retries failures).

    With ``[receivables] auto_send_letters`` the letters of newly opened collection tasks are emailed
    in the same run (not while the run is held: no dunning letter at night or on a weekend).
    """
    result = reminders.run(runtime.db, runtime.settings, now)
    if "held" not in result and from_settings(runtime.settings).ledger.auto_send_letters:
        result.update(letters.send_pending(runtime.db, runtime.settings, now))
        if result["letters_in_doubt"]:
            log.warning("dunning letter emails interrupted, not resent (set their status): tasks %s",
                        result["letters_in_doubt"])
    return result
