"""From a run's pending reminders to one digest per recipient.

Buckets (owner, tier, currency → count, total) come from one GROUP BY; the Router turns each
(owner, tier) into recipients; each recipient's sections then fetch only their worst few items.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import directory
from storage.receivables import PENDING, UNPAID, Receivable, ReminderLog, latest_followups, money
from wecom_hr.receivables.claims import Bucket
from wecom_hr.receivables.digest import Line, Section
from wecom_hr.receivables.recipients import Router
from wecom_hr.receivables.settings import ReminderPolicy, Tier

FOLLOWUP_PATH = "/receivables/followup"


@dataclass
class Plan:
    """Recipient -> (tier days, role) -> the owners whose items that section carries."""

    sections: dict[str, dict[tuple[int, str], set[str]]] = field(default_factory=lambda: defaultdict(dict))
    unroutable: list[tuple[str, int]] = field(default_factory=list)


def _tier(policy: ReminderPolicy, days: int) -> Tier:
    # A tier removed from config while its rows were pending still reaches the owner.
    return next((t for t in policy.tiers if t.days == days), Tier(days, ("owner",), False))


def plan(router: Router, policy: ReminderPolicy, rows: list[Bucket]) -> Plan:
    out = Plan()
    for owner, days in sorted({(b.owner, b.tier_days) for b in rows}):
        reached = False
        for audience in _tier(policy, days).notify:
            for recipient in router.recipients(owner, audience):
                role = "own" if audience == "owner" and recipient == owner else (
                    "finance" if audience == "finance" else "team")
                out.sections[recipient].setdefault((days, role), set()).add(owner)
                reached = True
        if not reached:
            out.unroutable.append((owner, days))
    return out


def _lines(session: Session, run_id: str, days: int, owners: set[str], role: str, today: date, limit: int,
           public_url: str) -> list[Line]:
    outstanding = Receivable.amount - Receivable.paid_amount
    q = (select(Receivable.id, Receivable.order_no, Receivable.customer_name, Receivable.external_userid,
                outstanding, Receivable.currency, Receivable.due_on, Receivable.salesperson)
         .join(ReminderLog, ReminderLog.receivable_id == Receivable.id)
         .where(ReminderLog.run_id == run_id, ReminderLog.status == PENDING, ReminderLog.tier_days == days,
                Receivable.salesperson.in_(sorted(owners)), Receivable.status.in_(UNPAID))
         .order_by(Receivable.due_on, outstanding.desc(), Receivable.order_no).limit(limit))
    rows = session.execute(q).all()
    notes = latest_followups(session, [r[0] for r in rows]) if role != "finance" else {}
    lines = []
    for rid, order_no, name, external, amount, currency, due_on, owner in rows:
        note = notes.get(rid)
        followup = ""
        if note is not None:
            promised = f"（承诺 {note.promised_on.isoformat()} 付款）" if note.promised_on else ""
            followup = f"{note.note[:60]}{promised}"
        link = f"{public_url}{FOLLOWUP_PATH}?order={quote(order_no)}" if role == "own" else ""
        lines.append(Line(order_no=order_no, customer=name or external, outstanding=money(amount), currency=currency,
                          days_overdue=(today - due_on).days, owner_name=directory.display_name(session, owner),
                          followup=followup, link=link))
    return lines


def index(rows: list[Bucket]) -> dict[tuple[int, str], list[Bucket]]:
    out: dict[tuple[int, str], list[Bucket]] = defaultdict(list)
    for b in rows:
        out[(b.tier_days, b.owner)].append(b)
    return out


def sections_for(session: Session, run_id: str, wanted: dict[tuple[int, str], set[str]],
                 buckets: dict[tuple[int, str], list[Bucket]], today: date, limit: int,
                 public_url: str) -> list[Section]:
    """The recipient's sections, own items first, then by tier; totals from the buckets."""
    order = {"own": 0, "team": 1, "finance": 2}
    out = []
    for (days, role), owners in sorted(wanted.items(), key=lambda kv: (order[kv[0][1]], kv[0][0])):
        section = Section(tier_days=days, role=role)
        for owner in owners:
            for b in buckets.get((days, owner), ()):
                section.add(b.currency, b.count, b.total)
        if section.count:
            section.lines = _lines(session, run_id, days, owners, role, today, limit, public_url)
            out.append(section)
    return out
