"""删人/流失提醒: deletion alerts to managers and members, daily digests, and the compliance risk alert.

An alert is one row per recipient, keyed by (kind, member, customer, time, recipient): a replayed
event finds its rows and sends nothing new. Immediate alerts are capped per recipient per hour
because WeCom silently drops a member's 31st message in a minute; what is over the cap (and every
alert in "digest" mode) waits for the digest job, which sends one message per recipient.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import directory, outbox
from storage.customers import MEMBER_DELETED, Customer, CustomerAlert, CustomerFollow
from wecom_hr.customers import messages
from wecom_hr.customers.settings import CustomerSettings, from_settings

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

IMMEDIATE = "immediate"


def raise_alerts(session: Session, runtime: Runtime, kind: str, userid: str, external_userid: str,
                 occurred_at: datetime, now: datetime) -> list[CustomerAlert]:
    """Record (and, when immediate, queue) the alerts for one ended relation."""
    cfg = from_settings(runtime.settings)
    mode = cfg.deletion_alerts if kind == MEMBER_DELETED else cfg.churn_alerts
    created = [a for r in recipients_for(session, kind, userid)
               if (a := _record(session, kind, userid, external_userid, occurred_at, r, mode, now))]
    tz = runtime.settings.timezone
    for alert in created:
        if mode == IMMEDIATE and _sent_within_hour(session, alert.recipient, now) < cfg.immediate_limit_per_hour:
            body = messages.single(line_for(session, alert), tz)
            outbox.enqueue(session, f"custalert:{alert.recipient}:{alert.id}", "customer_alert",
                           [alert.recipient], body, now)
            alert.sent_at = now
    if kind == MEMBER_DELETED:
        check_risk(session, runtime, cfg, userid, occurred_at, now)
    return created


def recipients_for(session: Session, kind: str, userid: str) -> list[str]:
    managers = directory.managers_of(session, userid)
    if kind == MEMBER_DELETED:
        return managers
    member = directory.member(session, userid)
    still_here = member is None or member.status != directory.LEFT
    return list(dict.fromkeys(([userid] if still_here else []) + managers))


def _record(session: Session, kind: str, userid: str, external_userid: str, occurred_at: datetime,
            recipient: str, mode: str, now: datetime) -> CustomerAlert | None:
    key = f"{kind}:{userid}:{external_userid}:{int(occurred_at.timestamp())}:{recipient}"[:200]
    if session.scalar(select(CustomerAlert.id).where(CustomerAlert.key == key)) is not None:
        return None
    alert = CustomerAlert(key=key, kind=kind, userid=userid, external_userid=external_userid,
                          occurred_at=occurred_at, recipient=recipient, mode=mode, created_at=now)
    session.add(alert)
    session.flush()
    return alert


def _sent_within_hour(session: Session, recipient: str, now: datetime) -> int:
    return int(session.scalar(select(func.count()).where(
        CustomerAlert.recipient == recipient, CustomerAlert.mode == IMMEDIATE,
        CustomerAlert.sent_at >= now - timedelta(hours=1))) or 0)


def line_for(session: Session, alert: CustomerAlert) -> messages.AlertLine:
    customer = session.get(Customer, alert.external_userid)
    label = messages.customer_label(customer.name, customer.corp_name, alert.external_userid) if customer \
        else messages.customer_label("", "", alert.external_userid)
    return messages.AlertLine(kind=alert.kind, member=directory.display_name(session, alert.userid),
                              customer=label, at=alert.occurred_at, to_member=alert.recipient == alert.userid)


def deletions_on_day(session: Session, userid: str, day_start: datetime) -> int:
    """Relations the member deleted in the local day starting at ``day_start`` (transfers excluded)."""
    return int(session.scalar(select(func.count()).where(
        CustomerFollow.userid == userid, CustomerFollow.end_reason == MEMBER_DELETED,
        CustomerFollow.ended_at >= day_start, CustomerFollow.ended_at < day_start + timedelta(days=1))) or 0)


def check_risk(session: Session, runtime: Runtime, cfg: CustomerSettings, userid: str,
               occurred_at: datetime, now: datetime) -> bool:
    """≥ threshold deletions by one member in one local day: one risk alert to compliance per day."""
    compliance = list(runtime.settings.roles.compliance)
    if cfg.risk_threshold_per_day <= 0 or not compliance:
        return False
    local = occurred_at.astimezone(ZoneInfo(runtime.settings.timezone))
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    count = deletions_on_day(session, userid, day_start)
    if count < cfg.risk_threshold_per_day:
        return False
    body = messages.risk(directory.display_name(session, userid), count, cfg.risk_threshold_per_day,
                         day_start.strftime("%m月%d日"))
    return outbox.enqueue(session, f"custrisk:{userid}:{day_start.date().isoformat()}", "customer_risk",
                          compliance, body, now)


def send_digests(runtime: Runtime, now: datetime) -> dict[str, Any]:
    """Queue one digest per recipient with every alert still unsent; safe to run twice."""
    sent, alerts = 0, 0
    with runtime.db.session_scope() as session:
        pending = list(session.scalars(select(CustomerAlert).where(CustomerAlert.sent_at.is_(None))
                                       .order_by(CustomerAlert.id)))
        by_recipient: dict[str, list[CustomerAlert]] = {}
        for alert in pending:
            by_recipient.setdefault(alert.recipient, []).append(alert)
        for recipient, rows in by_recipient.items():
            _send_digest(session, runtime, recipient, rows, now)
            sent, alerts = sent + 1, alerts + len(rows)
    return {"digests": sent, "alerts": alerts}


def _send_digest(session: Session, runtime: Runtime, recipient: str, rows: Sequence[CustomerAlert],
                 now: datetime) -> None:
    body = messages.digest([line_for(session, a) for a in rows], runtime.settings.timezone)
    outbox.enqueue(session, f"custdigest:{recipient}:{rows[-1].id}", "customer_digest", [recipient], body, now)
    for alert in rows:
        alert.sent_at = now
