"""Signals computed from the pool on a schedule (job evaluate-risk-rules): deletions and
churn_after_handover; and the pruning of counted contacts and hits past ``[risk] keep_days``.

deletions: relations a member ended themselves (del_external_contact) within the window — the pool
already alerts each one; a rule here catches the pattern. churn_after_handover: customers a member
took over (the pool shows the leaver's relation ended "transferred" and theirs opened around then)
who were lost — the relation ended any other way — within 90 days of the transfer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, aliased

from storage.customers import MEMBER_DELETED, TRANSFERRED, CustomerFollow
from storage.db import rowcount
from storage.risk import RiskContact, RiskHit
from wecom_hr.config import Settings
from wecom_hr.risk import messages
from wecom_hr.risk.cases import Finding, raise_alert
from wecom_hr.risk.detectors import EVIDENCE_PER_ALERT, RuleScopes
from wecom_hr.risk.rules import CHURN_AFTER_HANDOVER, DELETIONS, RuleSpec, for_signal
from wecom_hr.risk.settings import RiskSettings, from_settings

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

HANDOVER_DAYS = 90
HANDOVER = timedelta(days=HANDOVER_DAYS)
TAKEOVER_SLACK = timedelta(days=1)  # the successor's relation opens around the transfer


def evaluate_risk_rules(runtime: Runtime, now: datetime) -> dict[str, Any]:
    cfg = from_settings(runtime.settings)
    with runtime.db.session_scope() as session:
        return evaluate_pool(session, runtime.settings, cfg, now)


def evaluate_pool(session: Session, settings: Settings, cfg: RiskSettings, now: datetime) -> dict[str, Any]:
    scopes = RuleScopes(session)
    fired = 0
    for rule in for_signal(cfg.rules, DELETIONS):
        fired += _fire(session, settings, rule, scopes, _deletions(session, now - timedelta(days=rule.window_days)),
                       now)
    for rule in for_signal(cfg.rules, CHURN_AFTER_HANDOVER):
        fired += _fire(session, settings, rule, scopes, _churn(session, now - timedelta(days=rule.window_days), now),
                       now)
    cutoff = now - timedelta(days=cfg.keep_days)
    pruned = rowcount(session.execute(delete(RiskContact).where(RiskContact.sent_at < cutoff)))
    pruned += rowcount(session.execute(delete(RiskHit).where(RiskHit.sent_at < cutoff)))
    return {"alerts": fired, "pruned": pruned}


Grouped = dict[str, list[tuple[str, datetime, str]]]  # member -> (customer, when, what)


def _fire(session: Session, settings: Settings, rule: RuleSpec, scopes: RuleScopes, grouped: Grouped,
          now: datetime) -> int:
    fired = 0
    for userid, rows in sorted(grouped.items()):
        value = float(len(rows))
        if not rule.fires(value) or not scopes.includes(rule, userid):
            continue
        rows.sort(key=lambda r: r[1], reverse=True)
        evidence = [{"external_userid": ext, "at": at.isoformat(), "what": what,
                     "customer_url": messages.customer_url(settings.public_url, ext)}
                    for ext, at, what in rows[:EVIDENCE_PER_ALERT]]
        fired += raise_alert(session, settings, Finding(rule, userid, rows[0][0], value, evidence), now) is not None
    return fired


def _deletions(session: Session, since: datetime) -> Grouped:
    out: Grouped = {}
    for userid, ext, at in session.execute(select(CustomerFollow.userid, CustomerFollow.external_userid,
                                                  CustomerFollow.ended_at)
                                           .where(CustomerFollow.end_reason == MEMBER_DELETED,
                                                  CustomerFollow.ended_at >= since)):
        if at is not None:
            out.setdefault(userid, []).append((ext, at, "成员删除客户"))
    return out


def _churn(session: Session, since: datetime, now: datetime) -> Grouped:
    left, took = aliased(CustomerFollow), aliased(CustomerFollow)
    query = (select(took.userid, took.external_userid, took.ended_at, took.end_reason, took.follow_created_at,
                    took.opened_at, left.ended_at)
             .join(left, (left.external_userid == took.external_userid) & (left.userid != took.userid))
             .where(left.end_reason == TRANSFERRED, left.ended_at >= since - timedelta(days=HANDOVER_DAYS),
                    took.ended_at >= since, took.ended_at <= now, took.end_reason != TRANSFERRED))
    out: Grouped = {}
    seen: set[tuple[str, str]] = set()
    for userid, ext, lost_at, reason, created, opened, moved in session.execute(query):
        took_over = created or opened
        if lost_at is None or moved is None or abs(took_over - moved) > TAKEOVER_SLACK:
            continue
        if not timedelta(0) <= lost_at - moved <= HANDOVER:
            continue
        if (userid, ext) not in seen:
            seen.add((userid, ext))
            out.setdefault(userid, []).append((ext, lost_at, f"交接后流失（{reason}）"))
    return out
