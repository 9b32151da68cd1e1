"""From a run's pending reminders to one digest per recipient.

Buckets (owner, tier, currency → count, total) come from one GROUP BY; the Router turns each
(owner, tier) into recipients; the worst items per owner come from one window query per tier
(worst.py), and each recipient's sections merge those of their owners.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import directory
from storage.receivables import FollowUp
from wecom_hr.receivables.claims import Bucket
from wecom_hr.receivables.digest import Line, Section
from wecom_hr.receivables.queries import NOTE_OVERDUE_AFTER
from wecom_hr.receivables.recipients import Router
from wecom_hr.receivables.settings import ReminderPolicy, Tier
from wecom_hr.receivables.worst import Item, Worst, latest_notes, merged, worst_items

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


def _line(item: Item, role: str, today: date, names: dict[str, str], notes: dict[int, FollowUp],
          public_url: str, note_after: int = NOTE_OVERDUE_AFTER) -> Line:
    note = notes.get(item.id)
    followup = ""
    if note is not None:
        promised = f"（承诺 {note.promised_on.isoformat()} 付款）" if note.promised_on else ""
        followup = f"{note.note[:60]}{promised}"
    link = f"{public_url}{FOLLOWUP_PATH}?order={quote(item.order_no)}" if role == "own" else ""
    days = (today - item.due_on).days
    return Line(order_no=item.order_no, customer=item.customer, outstanding=item.outstanding,
                currency=item.currency, days_overdue=days,
                owner_name=names.get(item.owner, item.owner), followup=followup, link=link,
                note_overdue=note is None and days >= note_after)


@dataclass(frozen=True)
class Context:
    """What every recipient's sections are built from, fetched once per run."""

    buckets: dict[tuple[int, str], list[Bucket]]
    worst: Worst
    notes: dict[int, FollowUp]
    names: dict[str, str]
    today: date
    limit: int
    public_url: str
    note_after: int = NOTE_OVERDUE_AFTER  # days overdue: no 跟进说明 by then is marked (issue 17)


def context(session: Session, run_id: str, rows: list[Bucket], today: date, limit: int,
            public_url: str, note_after: int = NOTE_OVERDUE_AFTER) -> Context:
    worst = worst_items(session, run_id, sorted({b.tier_days for b in rows}), limit)
    ids = [i.id for items in worst.values() for i in items]
    names = {u: n for u, n in session.execute(select(directory.Member.userid, directory.Member.name))}
    return Context(index(rows), worst, latest_notes(session, ids), names, today, limit, public_url, note_after)


def index(rows: list[Bucket]) -> dict[tuple[int, str], list[Bucket]]:
    out: dict[tuple[int, str], list[Bucket]] = defaultdict(list)
    for b in rows:
        out[(b.tier_days, b.owner)].append(b)
    return out


def sections_for(ctx: Context, wanted: dict[tuple[int, str], set[str]]) -> list[Section]:
    """The recipient's sections, own items first, then by tier; totals from the buckets."""
    order = {"own": 0, "team": 1, "finance": 2}
    out = []
    for (days, role), owners in sorted(wanted.items(), key=lambda kv: (order[kv[0][1]], kv[0][0])):
        section = Section(tier_days=days, role=role)
        for owner in owners:
            for b in ctx.buckets.get((days, owner), ()):
                section.add(b.currency, b.count, b.total)
        if section.count:
            notes = ctx.notes if role != "finance" else {}
            section.lines = [_line(i, role, ctx.today, ctx.names, notes, ctx.public_url, ctx.note_after)
                             for i in merged(ctx.worst, days, owners, ctx.limit)]
            out.append(section)
    return out
