"""Alerts as cases: a firing opens one (and sends one card), later evidence in the same window joins
it; a reviewer confirms or dismisses it with a note. Every status change is audited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from storage import audit, directory, outbox
from storage.customers import Customer
from storage.risk import CONFIRMED, DISMISSED, OPEN, AlertKey, RiskAlert, RiskAlertNote, latest_alerts
from wecom_hr.config import Settings
from wecom_hr.risk import messages
from wecom_hr.risk.rules import OFF_ASSIGNMENT, RuleSpec

EVIDENCE_MAX = 20
OUTBOX_KIND = "risk_alert"
NOTE_CHARS = 2000


class CaseError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Finding:
    rule: RuleSpec
    userid: str
    external_userid: str
    value: float
    evidence: list[dict[str, Any]]


def _subject(finding: Finding) -> str | None:
    # off_assignment is counted per (member, customer): one case per pair; other signals one per member.
    return finding.external_userid if finding.rule.signal == OFF_ASSIGNMENT else None


def _key(finding: Finding, now: datetime) -> str:
    who = f"{finding.rule.name}\0{finding.userid}\0{_subject(finding) or ''}"
    window = int(now.timestamp()) // (finding.rule.window_days * 86400)
    return f"risk:{hashlib.sha256(who.encode()).hexdigest()[:32]}:{window}"


def raise_alert(session: Session, settings: Settings, finding: Finding, now: datetime) -> RiskAlert | None:
    """Open a case and queue its card; None when this rule already alerted for the member (and
    customer) within the window — the new evidence joins that case instead."""
    return raise_alerts(session, settings, [finding], now)[0]


def raise_alerts(session: Session, settings: Settings, findings: Sequence[Finding],
                 now: datetime) -> list[RiskAlert | None]:
    """raise_alert for each finding in order, with one read of the cases they may join: a later
    finding of the same rule, member (and customer) joins the case an earlier one opened."""
    keys = [(f.rule.name, f.userid, _subject(f)) for f in findings]
    wanted: dict[AlertKey, datetime] = {}
    for key, finding in zip(keys, findings, strict=True):
        since = now - timedelta(days=finding.rule.window_days)
        wanted[key] = min(since, wanted.get(key, since))
    latest = latest_alerts(session, wanted)
    out: list[RiskAlert | None] = []
    for key, finding in zip(keys, findings, strict=True):
        existing = latest.get(key)
        if existing is not None and existing.created_at >= now - timedelta(days=finding.rule.window_days):
            _join(existing, finding, now)
            out.append(None)
            continue
        latest[key] = _open(session, settings, finding, now)
        out.append(latest[key])
    return out


def _open(session: Session, settings: Settings, finding: Finding, now: datetime) -> RiskAlert:
    rule = finding.rule
    alert = RiskAlert(key=_key(finding, now), rule=rule.name, kind=rule.signal, severity=rule.severity,
                      userid=finding.userid, external_userid=finding.external_userid, value=finding.value,
                      threshold=rule.threshold, window_days=rule.window_days,
                      evidence=finding.evidence[:EVIDENCE_MAX], status=OPEN, created_at=now, updated_at=now)
    session.add(alert)
    session.flush()
    _notify(session, settings, alert, rule, now)
    return alert


def _join(alert: RiskAlert, finding: Finding, now: datetime) -> None:
    seen = {_evidence_id(e) for e in alert.evidence}
    fresh = [e for e in finding.evidence if _evidence_id(e) not in seen]
    if fresh or finding.value > alert.value:
        alert.evidence = (fresh + list(alert.evidence))[:EVIDENCE_MAX]  # a new list: JSON columns track assignment
        alert.value = max(alert.value, finding.value)
        alert.updated_at = now


def _evidence_id(item: dict[str, Any]) -> str:
    return f"{item.get('msgid', '')}|{item.get('shape', '')}|{item.get('external_userid', '')}|{item.get('at', '')}"


def recipients(session: Session, settings: Settings, rule: RuleSpec, userid: str) -> list[str]:
    found: list[str] = []
    for who in rule.notify:
        if who == "manager":
            found += directory.managers_of(session, userid)
        else:
            found += list(getattr(settings.roles, who))
    return [u for u in dict.fromkeys(found) if u != userid]


def _notify(session: Session, settings: Settings, alert: RiskAlert, rule: RuleSpec, now: datetime) -> None:
    to = recipients(session, settings, rule, alert.userid)
    if not to:
        return
    customer = session.get(Customer, alert.external_userid) if alert.external_userid else None
    base = settings.public_url
    first_msg = next((str(e["msgid"]) for e in alert.evidence if e.get("msgid")), "")
    links = [("聊天上下文", messages.context_url(base, first_msg))] if first_msg else []
    if alert.external_userid:
        links.append(("客户页", messages.customer_url(base, alert.external_userid)))
    link = links[0][1] if links else f"{base}/api/v1/risk/alerts/{alert.id}"
    card = messages.alert_card(
        rule=rule.name, kind=rule.signal, severity=rule.severity,
        member=directory.display_name(session, alert.userid),
        customer=(customer.name if customer and customer.name else alert.external_userid), value=alert.value,
        op=rule.op, threshold=rule.threshold, window_days=rule.window_days, evidence=list(alert.evidence),
        link=link, links=links)
    outbox.enqueue(session, f"risk:{alert.id}", OUTBOX_KIND, to, card, now)


def change_status(session: Session, alert: RiskAlert, status: str, note: str, actor: str,
                  now: datetime) -> RiskAlertNote:
    """open → confirmed | dismissed; "open" again with a note adds a note to an open case."""
    allowed = (OPEN, CONFIRMED, DISMISSED)
    if status not in allowed:
        raise CaseError(400, messages.BAD_STATUS.format(allowed=", ".join(allowed)))
    if len(note) > NOTE_CHARS:
        raise CaseError(400, messages.BAD_NOTE)
    if alert.status != OPEN:
        raise CaseError(409, messages.FINAL_STATUS.format(status=alert.status))
    row = RiskAlertNote(alert_id=alert.id, actor=actor, status_before=alert.status, status_after=status,
                        note=note, at=now)
    session.add(row)
    audit.record(session, actor, "risk_alert_status", {"alert_id": alert.id, "rule": alert.rule,
                                                       "from": alert.status, "to": status, "note": note}, at=now)
    alert.status, alert.updated_at = status, now
    return row
