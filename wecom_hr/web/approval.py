"""Approving a departure from the console, as from the WeCom card (issue 5's decision rules).

Only the open card's approvers may decide, only while the departure waits for approval, and only
for a successor the card offered (or the fixed one). The decision is the departure workflow's own
(decision.decide: state, audit, HR's notice on rejection); the WeCom card of every approver is
then updated to show it, so a later click on the card finds the decision already taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy.orm import Session

from storage import directory, outbox
from storage.db import utcnow
from storage.departures import CARD_OPEN, PENDING_APPROVAL, Departure, DepartureCard, cards_of, get
from wecom_hr.api.auth import AccessDenied, runtime
from wecom_hr.departures import card as cards
from wecom_hr.departures import decision, texts
from wecom_hr.departures.settings import local_today
from wecom_hr.dispatch import HandlerContext
from wecom_hr.web.roles import api_viewer

bp = Blueprint("approval", __name__, url_prefix="/console/api/departures")
MAX_REASON = 500  # a rejection's reason, sent to HR
CONSOLE_EVENT = 0  # decide() records the inbox event that carried a click; a console decision has none


@dataclass(frozen=True)
class Open:
    departure: Departure
    card: DepartureCard


def _open_card(session: Session, departure_id: int, userid: str, lock: bool = False) -> Open | None:
    """The departure and its open card when ``userid`` may decide it now, else None."""
    dep = get(session, departure_id, lock=lock)
    if dep is None or dep.state != PENDING_APPROVAL:
        return None
    card = next((c for c in reversed(cards_of(session, dep.id)) if c.status == CARD_OPEN), None)
    if card is None or userid not in card.approvers:
        return None
    return Open(dep, card)


def _options(session: Session, found: Open) -> list[dict[str, str]]:
    ids = [found.departure.successor] if found.departure.successor else list(found.card.options)
    return [{"userid": u, "name": directory.display_name(session, u)} for u in ids if u]


@bp.get("/<int:departure_id>/approval")
def approval(departure_id: int) -> Any:
    """Whether the caller may decide this departure here, and the successors they may choose from."""
    viewer = api_viewer("departures")
    with runtime().db.session_scope() as s:
        found = _open_card(s, departure_id, viewer.userid)
        if found is None:
            return jsonify(may_decide=False, options=[])
        return jsonify(may_decide=True, fixed_successor=bool(found.departure.successor), options=_options(s, found))


def _choice(body: dict[str, Any], session: Session, found: Open, now: datetime) -> decision.Choice:
    verdict = body.get("decision")
    if verdict == "reject":
        reason = body.get("reason") or ""
        if not isinstance(reason, str) or len(reason) > MAX_REASON:
            raise AccessDenied(400, f"reason must be text of at most {MAX_REASON} characters")
        return decision.Choice(False, None, reason.strip())
    if verdict != "approve":
        raise AccessDenied(400, "decision must be approve or reject")
    successor = found.departure.successor or str(body.get("successor") or "")
    offered = [o["userid"] for o in _options(session, found)]
    available = cards.is_available(session, successor, local_today(runtime().settings, now))
    if successor not in offered or successor == found.departure.userid or not available:
        raise AccessDenied(400, "successor must be one of the members the approval offers")
    return decision.Choice(True, successor)


@bp.post("/<int:departure_id>/decision")
def decide(departure_id: int) -> Any:
    """{decision: approve|reject, successor?, reason?} from one of the card's approvers (CSRF: guard.py).
    A rejection's reason is kept with the departure, audited and sent to HR."""
    viewer = api_viewer("departures")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise AccessDenied(400, "send a JSON object")
    rt, now = runtime(), utcnow()
    with rt.db.session_scope() as s:
        found = _open_card(s, departure_id, viewer.userid, lock=True)
        if found is None:
            raise AccessDenied(409, "this departure is not waiting for your approval")
        choice = _choice(body, s, found, now)
        ctx = HandlerContext(rt, s, CONSOLE_EVENT, now)
        decision.decide(ctx, s, found.departure, found.card, viewer.userid, choice)
        sent = outbox.by_key(s, found.card.outbox_key)
        if sent is not None and sent.response_code:
            label = texts.decided(choice.approve, directory.display_name(s, viewer.userid), now, rt.settings.timezone)
            decision.update_card(rt, s, list(found.card.approvers), sent.response_code, label)
        state = found.departure.state
    rt.wakeup.set()  # an embedded worker starts the transfers now
    return jsonify(departure_id=departure_id, state=state)
