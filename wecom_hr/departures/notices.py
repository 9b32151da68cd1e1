"""Messages the handover sends (all through the outbox, keyed so a rerun sends nothing twice):
a rejection to HR, customers who could not be moved to HR and the managers, one briefing per
successor, and the final report to HR.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from storage import audit, directory, outbox
from storage.departures import (
    AT_LIMIT,
    CUSTOMER,
    DONE,
    FAILED,
    GROUP_CHAT,
    NO_RECORD,
    RECEIVABLE,
    REFUSED,
    Departure,
    DepartureItem,
    items,
    status_counts,
)
from storage.receivables import money
from wecom_hr.departures import texts
from wecom_hr.departures.card import link
from wecom_hr.departures.settings import from_settings
from wecom_hr.departures.snapshot import totals_from_summary
from wecom_hr.wecom.markdown import md_escape, md_url

if TYPE_CHECKING:
    from wecom_hr.config import Settings

UNMOVED = (REFUSED, AT_LIMIT, NO_RECORD, FAILED)


def hr_recipients(session: Session, settings: Settings, dep: Departure) -> list[str]:
    found = list(settings.roles.hr)
    starter = directory.member(session, dep.started_by)
    if starter is not None and starter.status != directory.LEFT:
        found.append(dep.started_by)
    found = [u for u in dict.fromkeys(found) if u != dep.userid]
    return found or [u for u in settings.roles.admin if u != dep.userid]


def _send(session: Session, key: str, kind: str, to: list[str], body: dict[str, Any], now: datetime) -> None:
    """Queue the message; with nobody configured to receive it, the audit entry is the record."""
    if to:
        outbox.enqueue(session, key, kind, to, body, now)


def _digest(values: Sequence[object]) -> str:
    return hashlib.sha1("|".join(map(str, values)).encode()).hexdigest()[:16]


def rejected(session: Session, settings: Settings, dep: Departure, by: str, now: datetime, reason: str = "") -> None:
    content = (f"**离职交接被驳回：{md_escape(dep.member_name)}**\n> {md_escape(directory.display_name(session, by))}"
               f" 驳回了交接方案。交接单仍然打开，可调整接替人后重新提交，或撤销。\n"
               f"{texts.rejection_reason_line(reason)}"
               f"[查看交接单]({md_url(link(settings, dep.id))})")
    _send(session, f"departure:{dep.id}:rejected:{now.isoformat()}", "departure_notice",
          hr_recipients(session, settings, dep), texts.markdown(content), now)


def refusals(session: Session, settings: Settings, dep: Departure, now: datetime) -> int:
    """Customers (and chats) that did not move and were not reported yet go to HR and the managers."""
    rows = [r for r in items(session, dep.id, statuses=UNMOVED) if r.notified_at is None and r.kind != RECEIVABLE]
    if not rows:
        return 0
    lines = [texts.refused_line(r.name, r.kind == GROUP_CHAT, r.status, r.errcode) for r in rows]
    to = list(dict.fromkeys([*hr_recipients(session, settings, dep), *directory.managers_of(session, dep.userid)]))
    key = f"departure:{dep.id}:unmoved:{_digest([r.id for r in rows])}"
    _send(session, key, "departure_notice", to, texts.refused_notice(dep.member_name, lines, link(settings, dep.id)),
          now)
    for r in rows:
        r.notified_at = now
    audit.record(session, "system", "departure.unmoved_reported",
                 {"departure_id": dep.id, "count": len(rows), "to": to}, at=now)
    return len(rows)


def _owed(session: Session, dep: Departure) -> dict[str, tuple[Decimal, int]]:
    """external_userid -> (outstanding, overdue count) from the snapshot's receivables."""
    out: dict[str, tuple[Decimal, int]] = {}
    for r in items(session, dep.id, RECEIVABLE):
        ext = str(r.detail.get("external_userid") or "")
        if ext:
            total, overdue = out.get(ext, (Decimal("0.00"), 0))
            out[ext] = (total + money(r.detail.get("outstanding")), overdue + int(bool(r.detail.get("overdue"))))
    return out


def briefings(session: Session, settings: Settings, dep: Departure, now: datetime) -> int:
    """One message per successor listing the customers they inherited (not briefed before)."""
    cfg = from_settings(settings)
    owed = _owed(session, dep)
    inherited: dict[str, list[DepartureItem]] = {}
    for r in items(session, dep.id, CUSTOMER, (DONE,)):
        if r.briefed_at is None and r.takeover:
            inherited.setdefault(r.takeover, []).append(r)
    for successor, rows in inherited.items():
        rows.sort(key=lambda r: r.detail.get("last_contact") or "", reverse=True)  # newest contact first,
        rows.sort(key=lambda r: -owed.get(r.ref, (Decimal(0), 0))[0])                # most owed before that
        shown = rows[:cfg.briefing_max_customers]
        lines = [texts.briefing_line(r.name, (r.detail.get("last_contact") or "")[:10] or None,
                                     *owed.get(r.ref, (Decimal("0.00"), 0))) for r in shown]
        url = f"{settings.public_url}/console/customers?owner={successor}"  # where the inherited customers are
        body = texts.briefing(dep.member_name, len(rows), lines, url, hidden=len(rows) - len(shown))
        key = f"departure:{dep.id}:briefing:{successor}:{_digest([r.id for r in rows])}"
        outbox.enqueue(session, key, "departure_briefing", [successor], body, now)
        for r in rows:
            r.briefed_at = now
        audit.record(session, "system", "departure.briefing_sent",
                     {"departure_id": dep.id, "successor": successor, "customers": len(rows)}, at=now)
    return len(inherited)


def report(session: Session, settings: Settings, dep: Departure, now: datetime) -> None:
    customers = status_counts(session, dep.id, CUSTOMER)
    chats = status_counts(session, dep.id, GROUP_CHAT)
    body = texts.report(dep.member_name, customers, chats, totals_from_summary(dep.summary), link(settings, dep.id))
    key = f"departure:{dep.id}:report:{now.isoformat()}"
    to = hr_recipients(session, settings, dep)
    _send(session, key, "departure_report", to, body, now)
    audit.record(session, "system", "departure.report_sent", {"departure_id": dep.id, "to": to,
                                                              "customers": customers, "chats": chats}, at=now)
