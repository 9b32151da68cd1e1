"""template_card_event: the manager approves or rejects on the card.

Only the card's approvers may decide; anyone else is refused and audited. A second click (or a
replay) changes nothing and shows the decision already taken. The card is updated with the click's
response_code (the clicker) and the send's response_code (the other approvers). A card update that
fails is audited, never fatal: the decision is the record, the card only shows it. Once the approval
is committed, the transfers are requested at once ([departures] transfer_on_approval), not a minute
later by the job — which stays as the safety net.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from storage import audit, directory, outbox
from storage.departures import (
    APPROVED,
    CANCELLED,
    CARD_DECIDED,
    CARD_OPEN,
    PENDING_APPROVAL,
    REJECTED,
    REJECTION,
    REVOKED_NOW,
    Departure,
    DepartureCard,
    card_by_task,
    get,
    move,
)
from wecom_hr import signals
from wecom_hr.departures import card as cards
from wecom_hr.departures import notices, signoffs, texts
from wecom_hr.departures.settings import from_settings, local_today
from wecom_hr.dispatch import HandlerContext
from wecom_hr.events import Event
from wecom_hr.runtime import Runtime
from wecom_hr.scheduler import run_job
from wecom_hr.wecom.errors import WeComError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Choice:
    approve: bool
    successor: str | None
    reason: str = ""  # a rejection's reason (the console asks for one; a card click has none)


def selections(event: Event) -> dict[str, list[str]]:
    """SelectedItems → {question_key: [option ids]} (one item or several, one option or several)."""
    raw = event.fields.get("selected_items")
    found = raw.get("selected_item") if isinstance(raw, dict) else None
    out: dict[str, list[str]] = {}
    for entry in found if isinstance(found, list) else [found] if found else []:
        if not isinstance(entry, dict):
            continue
        ids = entry.get("option_ids")
        ids = ids.get("option_id") if isinstance(ids, dict) else None
        out[str(entry.get("question_key") or "")] = [str(i) for i in (ids if isinstance(ids, list) else [ids]) if i]
    return out


def read_choice(event: Event, card: DepartureCard, dep: Departure) -> Choice | None:
    if card.card_type == "button_interaction":
        key = str(event.get("event_key"))
        return Choice(key == cards.APPROVE_KEY, dep.successor) if key in (cards.APPROVE_KEY, cards.REJECT_KEY) else None
    chosen = selections(event)
    decision = (chosen.get(cards.DECISION_Q) or [cards.APPROVE_KEY])[0]
    successor = (chosen.get(cards.SUCCESSOR_Q) or [""])[0]
    if decision == cards.REJECT_KEY:
        return Choice(False, None)
    if decision != cards.APPROVE_KEY or successor not in card.options:
        return None
    return Choice(True, successor)


def on_card_clicked(ctx: HandlerContext, event: Event) -> None:
    task_id = str(event.get("task_id"))
    if not task_id.startswith(cards.TASK_PREFIX):
        return  # another feature's card
    s, clicker = ctx.session, str(event.get("from_user_name"))
    detail = {"task_id": task_id, "event_key": str(event.get("event_key")), "event_id": ctx.event_id}
    card = card_by_task(s, task_id)
    dep = get(s, card.departure_id, lock=True) if card else None
    if card is None or dep is None:
        audit.record(s, clicker, "departure.click_unknown_card", detail, at=ctx.now)
        return
    detail["departure_id"] = dep.id
    if clicker not in card.approvers:
        audit.record(s, clicker, "departure.click_refused", {**detail, "approvers": card.approvers}, at=ctx.now)
        log.warning("departure %s: %s clicked a card they may not decide", dep.id, clicker)
        return
    code = str(event.get("response_code"))
    if card.status != CARD_OPEN or dep.state != PENDING_APPROVAL:
        audit.record(s, clicker, "departure.click_repeated", {**detail, "state": dep.state}, at=ctx.now)
        update_card(ctx.runtime, s, [clicker], code, _outcome_label(ctx, s, card, dep))
        return
    choice = read_choice(event, card, dep)
    if choice is None or (choice.approve and not _successor_ok(ctx, s, dep, choice.successor)):
        audit.record(s, clicker, "departure.click_invalid", {**detail, "selected": selections(event)}, at=ctx.now)
        return
    decide(ctx, s, dep, card, clicker, choice)
    label = _outcome_label(ctx, s, card, dep)
    update_card(ctx.runtime, s, [clicker], code, label)
    others = [u for u in card.approvers if u != clicker]
    sent = outbox.by_key(s, card.outbox_key)
    if others and sent is not None and sent.response_code:
        update_card(ctx.runtime, s, others, sent.response_code, label)


def _successor_ok(ctx: HandlerContext, s: Session, dep: Departure, successor: str | None) -> bool:
    return bool(successor) and successor != dep.userid and cards.is_available(
        s, str(successor), local_today(ctx.settings, ctx.now))


def decide(ctx: HandlerContext, s: Session, dep: Departure, card: DepartureCard, clicker: str, choice: Choice) -> None:
    move(dep, APPROVED if choice.approve else REJECTED, ctx.now)
    if choice.approve:
        dep.successor = choice.successor
    else:  # a rejection restores access HR ended early, and keeps why it was rejected
        kept = {k: v for k, v in (dep.summary or {}).items() if k != REVOKED_NOW}
        dep.summary = {**kept, REJECTION: {"by": clicker, "at": ctx.now.isoformat(), "reason": choice.reason}}
    dep.decided_by, dep.decided_at = clicker, ctx.now
    card.status, card.decision = CARD_DECIDED, "approve" if choice.approve else "reject"
    card.decided_by, card.decided_at = clicker, ctx.now
    action = "departure.approved" if choice.approve else "departure.rejected"
    # A click on the card arrives as an inbox event; a decision in the console has none.
    via = {"via": "card", "event_id": ctx.event_id} if ctx.event_id else {"via": "console"}
    reason = {} if choice.approve else {"reason": choice.reason}
    audit.record(s, clicker, action, {"departure_id": dep.id, "task_id": card.task_id,
                                      "successor": dep.successor, **via, **reason}, at=ctx.now)
    if not choice.approve:
        notices.rejected(s, ctx.runtime.settings, dep, clicker, ctx.now, choice.reason)
        return
    signoffs.on_approved(s, dep, clicker, ctx.now, str(via["via"]))
    signals.emit(signals.DEPARTURE_APPROVED, ctx, dep)  # e.g. the leaver's 离职问卷 (wecom_hr/signals.py)
    if from_settings(ctx.settings).transfer_on_approval:
        runtime = ctx.runtime
        sa_event.listen(s, "after_commit", lambda _session: transfer_now(runtime), once=True)


def transfer_now(runtime: Runtime) -> None:
    """Right after the approval is committed, request the transfers (the job is the safety net)."""
    try:
        log.info("departure approved: transfers requested now: %s", run_job(runtime, "transfer-departures"))
    except Exception:  # the every-minute job will try again
        log.exception("requesting transfers right after the approval failed")


def _outcome_label(ctx: HandlerContext, s: Session, card: DepartureCard, dep: Departure) -> str:
    if card.decision is None or card.decided_at is None:
        return texts.CANCELLED_CARD if dep.state == CANCELLED else texts.SUPERSEDED_CARD
    by = directory.display_name(s, card.decided_by or "")
    return texts.decided(card.decision == "approve", by, card.decided_at, ctx.settings.timezone)


def update_card(runtime: Runtime, session: Session, userids: list[str], response_code: str, label: str) -> bool:
    """Replace the card's button with ``label``; False (audited) when WeCom refused."""
    if not response_code:
        return False
    try:
        runtime.wecom("app").extra.update_template_card(userids, runtime.settings.wecom.agent_id, response_code,
                                                        replace_name=label)
        return True
    except WeComError as exc:
        log.warning("departure card update failed: %s", exc)
        detail: dict[str, Any] = {"userids": userids, "label": label, "errcode": exc.errcode}
        audit.record(session, "system", "departure.card_update_failed", detail)
        return False
