"""The handover checklist (标准化交接清单): one sign-off per [[departures.signoffs]] step.

The rows are written when the departure starts. A "manager" step is the approval itself: it is signed
when an approver approves (card or console). A card step sends a button_interaction card to the
role's members with the leaver's open receivables; a click (or the console) signs it. A checklist step
lists [departures] assets plus per-departure items; every item is ticked before it may be signed.
Only the step's signers may act: anyone else is refused and audited. Signing twice changes nothing.
The departure completes when its customers are final and all_done() says every step is signed.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from storage import audit, directory, outbox
from storage.db import iso
from storage.departures import (
    CANCELLED,
    RECEIVABLE,
    SIGNOFF_PENDING,
    SIGNOFF_SIGNED,
    Departure,
    DepartureSignoff,
    cards_of,
    get,
    items,
    signoff_by_task,
    signoffs_of,
    signoffs_pending,
)
from storage.receivables import money
from wecom_hr.departures import texts
from wecom_hr.departures.card import approvers_for, link
from wecom_hr.departures.settings import from_settings

if TYPE_CHECKING:
    from wecom_hr.config import Settings
    from wecom_hr.dispatch import HandlerContext
    from wecom_hr.events import Event
    from wecom_hr.runtime import Runtime

log = logging.getLogger(__name__)
TASK_PREFIX = "dso-"  # not "dep-": the approval card's handler leaves these alone
CONFIRM_KEY = "signoff_confirm"
MANAGER = "manager"
MAX_ITEMS, ITEM_CHARS = 50, 64


class SignoffError(ValueError):
    """A sign-off request refused; ``status`` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def all_done(session: Session, departure_id: int) -> bool:
    """Every sign-off of the departure is signed (a departure from before the checklist has none)."""
    return not signoffs_pending(session, departure_id)


def create(session: Session, settings: Settings, dep: Departure, now: datetime) -> list[DepartureSignoff]:
    """The departure's checklist, from [[departures.signoffs]]; card steps send their card now."""
    cfg = from_settings(settings)
    rows = []
    for step in cfg.signoffs:
        listed = [{"name": a, "done": False, "by": None, "at": None} for a in cfg.assets] if step.checklist else []
        row = DepartureSignoff(departure_id=dep.id, step=step.key, title=step.title, role=step.role,
                               status=SIGNOFF_PENDING, items=listed, note="", created_at=now, updated_at=now)
        session.add(row)
        rows.append(row)
    session.flush()
    for row, step in zip(rows, cfg.signoffs, strict=True):
        if step.card and step.role != MANAGER:
            _send_card(session, settings, dep, row, now)
    return rows


def signers(session: Session, settings: Settings, dep: Departure, row: DepartureSignoff) -> list[str]:
    """Who may sign: the approval card's approvers for "manager", else the role's members (admin if none)."""
    if row.role == MANAGER:
        cards = cards_of(session, dep.id)
        found = list(cards[-1].approvers) if cards else approvers_for(session, settings, dep.userid)
    else:
        found = list(getattr(settings.roles, row.role, ())) or list(settings.roles.admin)
    return [u for u in dict.fromkeys(found) if u != dep.userid]


def _receivables(session: Session, dep: Departure) -> tuple[list[dict[str, Any]], Decimal, int]:
    rows = [r.detail for r in items(session, dep.id, RECEIVABLE)]
    rows.sort(key=lambda d: -money(d.get("outstanding")))
    return rows, sum((money(d.get("outstanding")) for d in rows), Decimal("0.00")), sum(
        1 for d in rows if d.get("overdue"))


def build_card(session: Session, settings: Settings, dep: Departure, row: DepartureSignoff,
               task_id: str) -> dict[str, Any]:
    owed, total, overdue = _receivables(session, dep)
    facts = [dict(zip(("keyname", "value"), texts.signoff_receivable(
        str(d.get("customer_name") or ""), str(d.get("order_no") or ""), money(d.get("outstanding")),
        bool(d.get("overdue"))), strict=True)) for d in owed[:5]]
    if len(owed) > 5:
        facts.append({"keyname": "其余", "value": f"另有 {len(owed) - 5} 笔"})
    return {"card_type": "button_interaction", "source": {"desc": texts.SIGNOFF_SOURCE}, "task_id": task_id,
            "main_title": {"title": texts.signoff_title(dep.member_name, row.title),
                           "desc": f"最后工作日 {dep.last_day.isoformat()}"},
            "sub_title_text": texts.signoff_card_line(len(owed), total, overdue),
            "horizontal_content_list": facts, "card_action": {"type": 1, "url": link(settings, dep.id)},
            "button_list": [{"text": texts.SIGNOFF_CONFIRM, "style": 1, "key": CONFIRM_KEY}]}


def _send_card(session: Session, settings: Settings, dep: Departure, row: DepartureSignoff, now: datetime) -> None:
    to = signers(session, settings, dep, row)
    task_id = f"{TASK_PREFIX}{dep.id}-{secrets.token_hex(6)}"
    key = f"departure:{dep.id}:signoff:{row.step}:{task_id}"
    card = build_card(session, settings, dep, row, task_id)
    if to:
        outbox.enqueue(session, key, "departure_signoff_card", to, {"msgtype": "template_card",
                                                                    "template_card": card}, now)
    row.task_id, row.outbox_key = task_id, key
    audit.record(session, "system", "departure.signoff_card_sent",
                 {"departure_id": dep.id, "step": row.step, "task_id": task_id, "to": to}, at=now)


def _row(session: Session, dep: Departure, step: str) -> DepartureSignoff:
    found = next((r for r in signoffs_of(session, dep.id) if r.step == step), None)
    if found is None:
        raise SignoffError(404, f"the departure has no sign-off step {step!r}")
    return found


def _check(session: Session, settings: Settings, dep: Departure, row: DepartureSignoff, actor: str,
           action: str, now: datetime) -> None:
    """Refuse (403, audited) anyone who may not act on this step; 409 once the departure was cancelled."""
    allowed = signers(session, settings, dep, row)
    if actor not in allowed:
        audit.record(session, actor, "departure.signoff_refused", {"departure_id": dep.id, "step": row.step,
                                                                   "action": action, "signers": allowed}, at=now)
        log.warning("departure %s: %s may not %s the %s sign-off", dep.id, actor, action, row.step)
        raise SignoffError(403, f"only {', '.join(allowed) or 'nobody'} may sign off step {row.step!r}")
    if dep.state == CANCELLED:
        raise SignoffError(409, "the departure was cancelled")


def sign(session: Session, settings: Settings, dep: Departure, step: str, actor: str, now: datetime,
         note: str = "", via: str = "console") -> DepartureSignoff:
    row = _row(session, dep, step)
    _check(session, settings, dep, row, actor, "sign", now)
    if row.status == SIGNOFF_SIGNED:
        audit.record(session, actor, "departure.signoff_repeated", {"departure_id": dep.id, "step": step}, at=now)
        return row
    if row.role == MANAGER:
        raise SignoffError(409, "this step is signed by approving the handover")
    undone = [i["name"] for i in row.items if not i.get("done")]
    if undone:
        raise SignoffError(409, f"tick every item first: {', '.join(undone)}")
    _signed(session, dep, row, actor, now, note, via)
    return row


def _signed(session: Session, dep: Departure, row: DepartureSignoff, actor: str, now: datetime, note: str,
            via: str) -> None:
    row.status, row.signed_by, row.signed_at, row.note, row.updated_at = SIGNOFF_SIGNED, actor, now, note[:500], now
    audit.record(session, actor, "departure.signed_off", {"departure_id": dep.id, "step": row.step,
                                                          "via": via, "note": row.note}, at=now)


def on_approved(session: Session, dep: Departure, approver: str, now: datetime, via: str) -> None:
    """The approval signs the manager step(s)."""
    for row in signoffs_of(session, dep.id):
        if row.role == MANAGER and row.status != SIGNOFF_SIGNED:
            _signed(session, dep, row, approver, now, "", via)


def add_item(session: Session, settings: Settings, dep: Departure, step: str, name: str, actor: str,
             now: datetime) -> DepartureSignoff:
    row = _row(session, dep, step)
    _check(session, settings, dep, row, actor, "add_item", now)
    name = name.strip()
    if not 0 < len(name) <= ITEM_CHARS:
        raise SignoffError(400, f"name must be 1..{ITEM_CHARS} characters")
    if row.status == SIGNOFF_SIGNED or row.role == MANAGER:
        raise SignoffError(409, "items can be added only to an unsigned checklist step")
    if any(i["name"] == name for i in row.items) or len(row.items) >= MAX_ITEMS:
        raise SignoffError(409, "the item is listed already, or the list is full")
    row.items = [*row.items, {"name": name, "done": False, "by": None, "at": None, "added_by": actor}]
    row.updated_at = now
    audit.record(session, actor, "departure.signoff_item_added", {"departure_id": dep.id, "step": step,
                                                                  "item": name}, at=now)
    return row


def tick(session: Session, settings: Settings, dep: Departure, step: str, index: int, done: bool, actor: str,
         now: datetime) -> DepartureSignoff:
    row = _row(session, dep, step)
    _check(session, settings, dep, row, actor, "tick", now)
    if not 0 <= index < len(row.items):
        raise SignoffError(404, "no such item")
    if row.status == SIGNOFF_SIGNED:
        raise SignoffError(409, "the step is signed already")
    changed = [dict(i) for i in row.items]
    changed[index].update(done=done, by=actor if done else None, at=now.isoformat() if done else None)
    row.items, row.updated_at = changed, now
    audit.record(session, actor, "departure.signoff_item_ticked", {"departure_id": dep.id, "step": step,
                                                                   "item": changed[index]["name"], "done": done},
                 at=now)
    return row


def on_card_clicked(ctx: HandlerContext, event: Event) -> None:
    """A click on a sign-off card: its signers sign (again: harmless); anyone else is refused and audited."""
    s, clicker, task_id = ctx.session, str(event.get("from_user_name")), str(event.get("task_id"))
    row = signoff_by_task(s, task_id)
    dep = get(s, row.departure_id, lock=True) if row else None
    if row is None or dep is None or str(event.get("event_key")) != CONFIRM_KEY:
        audit.record(s, clicker, "departure.click_unknown_card", {"task_id": task_id, "event_id": ctx.event_id},
                     at=ctx.now)
        return
    try:
        sign(s, ctx.settings, dep, row.step, clicker, ctx.now, via="card")
    except SignoffError as exc:
        if exc.status == 403:
            return  # refused and audited
        audit.record(s, clicker, "departure.signoff_click_invalid", {"departure_id": dep.id, "step": row.step,
                                                                     "error": str(exc)}, at=ctx.now)
        return
    _show_signed(ctx.runtime, s, dep, row, [clicker], str(event.get("response_code")))


def _show_signed(runtime: Runtime, s: Session, dep: Departure, row: DepartureSignoff, userids: list[str],
                 code: str) -> None:
    from wecom_hr.departures.decision import update_card  # late: decision imports this module

    if row.signed_at is None:
        return
    label = texts.signed_card(directory.display_name(s, row.signed_by or ""), row.signed_at, runtime.settings.timezone)
    update_card(runtime, s, userids, code, label)
    sent = outbox.by_key(s, row.outbox_key) if row.outbox_key else None
    others = [u for u in signers(s, runtime.settings, dep, row) if u not in userids]
    if others and sent is not None and sent.response_code:
        update_card(runtime, s, others, sent.response_code, label)


def show_signed_from_console(runtime: Runtime, s: Session, dep: Departure, row: DepartureSignoff) -> None:
    """A step signed in the console: the card every signer got shows it too."""
    sent = outbox.by_key(s, row.outbox_key) if row.outbox_key else None
    if sent is not None and sent.response_code:
        _show_signed(runtime, s, dep, row, [], sent.response_code)


def status_json(session: Session, settings: Settings, dep: Departure, viewer: str) -> dict[str, Any]:
    """The checklist for the console: each step, who may sign it, and who still has to act."""
    steps, waiting = [], []
    checklists = {c.key for c in from_settings(settings).signoffs if c.checklist}
    for row in signoffs_of(session, dep.id):
        may = signers(session, settings, dep, row)
        if row.status != SIGNOFF_SIGNED:
            waiting += [u for u in may if u not in waiting]
        steps.append({"step": row.step, "title": row.title, "role": row.role, "status": row.status,
                      "signers": [{"userid": u, "name": directory.display_name(session, u)} for u in may],
                      "may_sign": viewer in may and row.status != SIGNOFF_SIGNED and dep.state != CANCELLED,
                      "by_approval": row.role == MANAGER, "checklist": row.step in checklists or bool(row.items),
                      "items": row.items, "signed_by": row.signed_by,
                      "signed_at": iso(row.signed_at), "note": row.note})
    return {"departure_id": dep.id, "all_done": all_done(session, dep.id), "steps": steps,
            "waiting_for": [{"userid": u, "name": directory.display_name(session, u)} for u in waiting]}


def signer_of_any(session: Session, settings: Settings, dep: Departure, userid: str) -> bool:
    return any(userid in signers(session, settings, dep, r) for r in signoffs_of(session, dep.id))

