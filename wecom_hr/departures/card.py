"""The approval card: who approves, which successors are offered, the template_card, and sending it.

The member's managers (directory leaders) approve; without one, HR (then admin). With a successor
fixed the card is a button_interaction (同意/驳回); otherwise a multiple_interaction whose selects are
the decision and up to ten successors from the approvers' teams, least-loaded first.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import audit, directory, outbox
from storage.customers import CustomerFollow
from storage.departures import (
    CARD_OPEN,
    CARD_SUPERSEDED,
    CLOSED,
    COMPLETED,
    CUSTOMER,
    PENDING_APPROVAL,
    Departure,
    DepartureCard,
    DepartureItem,
    cards_of,
    move,
)
from wecom_hr.departures import texts
from wecom_hr.departures.snapshot import totals_from_summary

if TYPE_CHECKING:
    from wecom_hr.config import Settings

TASK_PREFIX = "dep-"
MAX_OPTIONS = 10  # WeCom: option_list holds at most ten
APPROVE_KEY, REJECT_KEY, SUBMIT_KEY = "approve", "reject", "submit"
DECISION_Q, SUCCESSOR_Q = "decision", "successor"


def approvers_for(session: Session, settings: Settings, userid: str) -> list[str]:
    found = directory.managers_of(session, userid)
    for role in (settings.roles.hr, settings.roles.admin):
        if found:
            break
        gone = excluded(session, None)
        found = [u for u in role if u != userid and u not in gone]
    return found


def excluded(session: Session, today: date | None) -> set[str]:
    """Members never offered or accepted as successors: they left, or are leaving."""
    left = set(session.scalars(select(directory.Member.userid).where(directory.Member.status == directory.LEFT)))
    leaving = select(Departure.userid).where(Departure.state.not_in(CLOSED))
    if today is not None:
        leaving = select(Departure.userid).where(Departure.state.not_in(CLOSED) | (
            (Departure.state == COMPLETED) & (Departure.last_day >= today)))
    return left | set(session.scalars(leaving))


def is_available(session: Session, userid: str, today: date | None) -> bool:
    row = directory.member(session, userid)
    return row is not None and row.status != directory.LEFT and userid not in excluded(session, today)


def candidates(session: Session, userid: str, approvers: list[str], today: date) -> list[str]:
    """Up to ten possible successors: the approvers' teams, fewest open customers first, approvers last."""
    team: set[str] = set()
    for approver in approvers:
        if directory.is_manager(session, approver):
            team |= directory.team_of(session, approver)
    if not team:
        for link in directory.departments_of(session, userid):
            team |= set(session.scalars(select(directory.MemberDepartment.userid)
                                        .where(directory.MemberDepartment.department_id == link.department_id)))
    team = (team | set(approvers)) - {userid} - excluded(session, today)
    open_follows = (select(CustomerFollow.userid, func.count())
                    .where(CustomerFollow.userid.in_(sorted(team)), CustomerFollow.ended_at.is_(None))
                    .group_by(CustomerFollow.userid))
    load = dict(session.execute(open_follows).all())
    ranked = sorted(team, key=lambda u: (u in approvers, load.get(u, 0), directory.display_name(session, u), u))
    return ranked[:MAX_OPTIONS]


def new_task_id(departure_id: int) -> str:
    return f"{TASK_PREFIX}{departure_id}-{secrets.token_hex(6)}"  # ≤128 bytes of [0-9A-Za-z_-@]


def link(settings: Settings, departure_id: int) -> str:
    """The departure's page in the console (opened from WeCom, it signs the reader in by OAuth)."""
    return f"{settings.public_url}/console/departures/{departure_id}"


def _overrides(session: Session, departure_id: int) -> int:
    return int(session.scalar(select(func.count()).where(
        DepartureItem.departure_id == departure_id, DepartureItem.kind == CUSTOMER,
        DepartureItem.successor.is_not(None))) or 0)


def build(session: Session, settings: Settings, dep: Departure, task_id: str, options: list[str]) -> dict[str, Any]:
    totals = totals_from_summary(dep.summary)
    head = {"source": {"desc": texts.CARD_SOURCE}, "task_id": task_id,
            "main_title": {"title": texts.card_title(dep.member_name), "desc": texts.summary(totals)},
            "card_action": {"type": 1, "url": link(settings, dep.id)}}
    facts = [{"keyname": "最后工作日", "value": dep.last_day.isoformat()},
             {"keyname": "客户", "value": f"{totals.customers} 位"},
             {"keyname": "客户群", "value": f"{totals.chats} 个"},
             {"keyname": "未结账款", "value": f"{texts.money(totals.outstanding)} (逾期 {totals.overdue} 笔)"}]
    overrides = _overrides(session, dep.id)
    if overrides:
        facts.append({"keyname": "单独指定", "value": f"{overrides} 位客户另有接替人"})
    if dep.successor:
        facts.insert(0, {"keyname": texts.SUCCESSOR_TITLE, "value": directory.display_name(session, dep.successor)})
        return {**head, "card_type": "button_interaction", "sub_title_text": texts.card_line(dep.member_name, totals),
                "horizontal_content_list": facts[:6],
                "button_list": [{"text": texts.APPROVE, "style": 1, "key": APPROVE_KEY},
                                {"text": texts.REJECT, "style": 2, "key": REJECT_KEY}]}
    decision = {"question_key": DECISION_Q, "title": texts.DECISION_TITLE, "selected_id": APPROVE_KEY,
                "option_list": [{"id": APPROVE_KEY, "text": texts.APPROVE}, {"id": REJECT_KEY, "text": texts.REJECT}]}
    successor = {"question_key": SUCCESSOR_Q, "title": texts.SUCCESSOR_TITLE, "selected_id": options[0],
                 "option_list": [{"id": u, "text": directory.display_name(session, u)[:20]} for u in options]}
    return {**head, "card_type": "multiple_interaction", "select_list": [decision, successor],
            "submit_button": {"text": texts.SUBMIT, "key": SUBMIT_KEY}}


def submit(session: Session, settings: Settings, dep: Departure, actor: str, today: date,
           now: datetime) -> DepartureCard:
    """Send (or send again, after a rejection) the approval card; earlier open cards are superseded."""
    approvers = approvers_for(session, settings, dep.userid)
    options = [] if dep.successor else candidates(session, dep.userid, approvers, today)
    if not approvers or (not dep.successor and not options):
        raise NoApproverError("no approver or no successor candidate for this member; give a successor")
    move(dep, PENDING_APPROVAL, now)
    for old in cards_of(session, dep.id):
        if old.status == CARD_OPEN:
            old.status = CARD_SUPERSEDED
    task_id = new_task_id(dep.id)
    template = build(session, settings, dep, task_id, options)
    key = f"departure:{dep.id}:card:{task_id}"
    outbox.enqueue(session, key, "departure_card", approvers, {"msgtype": "template_card", "template_card": template},
                   now)
    card = DepartureCard(departure_id=dep.id, task_id=task_id, card_type=template["card_type"], approvers=approvers,
                         options=options, outbox_key=key, status=CARD_OPEN, created_at=now)
    session.add(card)
    audit.record(session, actor, "departure.submitted", {"departure_id": dep.id, "task_id": task_id,
                                                         "approvers": approvers, "card_type": card.card_type,
                                                         "options": options}, at=now)
    return card


class NoApproverError(ValueError):
    """Nobody can approve, or nobody could take over: HR must name a successor."""
