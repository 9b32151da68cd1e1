"""Revocation: once a departure is approved and its last day has come, the member's API tokens and
console session stop working.

Registered in wecom_hr.api.auth.ACCESS_CHECKS, so every authenticated request asks. A member the
directory shows as left is refused too. A draft, a pending or a rejected departure revokes nothing
(HR alone cannot lock anyone out); only an explicit, audited "revoke now" with a reason does, and a
rejection or cancellation undoes that too. Successor choices exclude leavers (card.excluded).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage import directory
from storage.db import utcnow
from storage.departures import HANDED_OVER, REJECTED, REVOKED_NOW, latest_of
from wecom_hr.departures.settings import local_today

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime


def departed_access(runtime: Runtime, userid: str) -> str | None:
    """Why ``userid`` may no longer act, or None."""
    with runtime.db.session_scope() as s:
        member = directory.member(s, userid)
        if member is not None and member.status == directory.LEFT:
            return "this member has left the company; access is revoked"
        dep = latest_of(s, userid)
        if dep is None or dep.state == REJECTED:
            return None
        if dep.state in HANDED_OVER and dep.last_day <= local_today(runtime.settings, utcnow()):
            return f"access ended on the member's last day ({dep.last_day.isoformat()})"
        if (dep.summary or {}).get(REVOKED_NOW):
            return "HR revoked this member's access for the departure"
    return None

