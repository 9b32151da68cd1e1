"""The exit questionnaire (离职问卷, issue 17): on approval the leaver gets a WeCom message linking
/console/exit/<token>; there, signed in through WeCom as that member, they tick reasons from
``[departures] exit_reasons`` (several allowed) and may add free text. A new answer replaces the
previous one until the last day (from then on their access ends anyway). Only HR and admin read answers.

    [departures]
    exit_reasons = ["业绩压力", "薪酬", "职业发展", "管理", "家庭", "其他"]
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from storage import audit, departure_exit, outbox
from storage.db import iso
from storage.departures import HANDED_OVER, Departure, get
from wecom_hr.config import ConfigError, Settings
from wecom_hr.departures.settings import local_today
from wecom_hr.wecom.markdown import markdown, md_escape, md_link

if TYPE_CHECKING:
    from wecom_hr.dispatch import HandlerContext

DEFAULT_REASONS = ("业绩压力", "薪酬", "职业发展", "管理", "家庭", "其他")
NOTE_MAX = 2000
REASON_MAX = 20
MESSAGE_KIND = "departure_questionnaire"
INVITE_TITLE = "离职问卷"
INVITE_BODY = "感谢您在公司的付出。请花一分钟告诉我们您离开的原因（可多选），答案仅人事可见，可在最后工作日前修改。"
INVITE_LINK = "填写离职问卷"


class QuestionnaireError(Exception):
    """The questionnaire cannot be shown or answered; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def reasons(settings: Settings) -> tuple[str, ...]:
    raw = settings.section("departures").get("exit_reasons", list(DEFAULT_REASONS))
    if not isinstance(raw, list) or not raw or len(raw) > REASON_MAX or not all(
            isinstance(r, str) and 0 < len(r.strip()) <= 20 for r in raw):
        raise ConfigError("departures.exit_reasons", f"must be a list of 1..{REASON_MAX} names of 1..20 characters")
    return tuple(dict.fromkeys(r.strip() for r in raw))


def page_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/console/exit/{token}"


def on_departure_approved(ctx: HandlerContext, dep: Departure) -> None:
    invite(ctx.session, ctx.settings, dep, ctx.now)


def invite(session: Session, settings: Settings, dep: Departure, now: datetime) -> bool:
    """Queue the questionnaire to the leaver once per departure (a second approval sends nothing)."""
    if departure_exit.of_departure(session, dep.id) is not None:
        return False
    token = secrets.token_urlsafe(32)
    departure_exit.invite(session, dep.id, dep.userid, token, now)
    content = (f"**{INVITE_TITLE}：{md_escape(dep.member_name or dep.userid)}**\n> {INVITE_BODY}\n"
               f"{md_link(INVITE_LINK, page_url(settings, token))}")
    outbox.enqueue(session, f"departure:{dep.id}:exit-questionnaire", MESSAGE_KIND, [dep.userid],
                   markdown(content), now)
    audit.record(session, "system", "departure.questionnaire_sent", {"departure_id": dep.id}, at=now)
    return True


@dataclass(frozen=True)
class Opened:
    departure: Departure
    answer: departure_exit.ExitAnswer


def open_for(session: Session, settings: Settings, token: str, userid: str, now: datetime) -> Opened:
    """The questionnaire behind ``token`` when ``userid`` is its leaver and it is still open."""
    row = departure_exit.by_token(session, token) if 20 <= len(token) <= 100 else None
    if row is None or row.userid != userid:
        raise QuestionnaireError(404, "no such questionnaire")  # nobody else learns that it exists
    dep = get(session, row.departure_id)
    if dep is None or dep.state not in HANDED_OVER or local_today(settings, now) > dep.last_day:
        raise QuestionnaireError(410, "this questionnaire is closed")
    return Opened(dep, row)


def submit(session: Session, settings: Settings, token: str, userid: str, chosen: Sequence[str], note: str,
           now: datetime) -> Opened:
    opened = open_for(session, settings, token, userid, now)
    allowed = reasons(settings)
    picked = [r for r in allowed if r in set(chosen)]
    if not picked or len(picked) != len(set(chosen)):
        raise QuestionnaireError(400, "choose one or more of the listed reasons")
    if len(note) > NOTE_MAX:
        raise QuestionnaireError(400, f"the note may have at most {NOTE_MAX} characters")
    again = opened.answer.submitted_at is not None
    departure_exit.answer(opened.answer, picked, note.strip(), now)
    audit.record(session, userid, "departure.questionnaire_answered",
                 {"departure_id": opened.departure.id, "update": again}, at=now)
    return opened


def answer_json(row: departure_exit.ExitAnswer) -> dict[str, Any]:
    return {"departure_id": row.departure_id, "userid": row.userid, "answered": row.submitted_at is not None,
            "reasons": list(row.reasons or []), "note": row.note, "invited_at": iso(row.invited_at),
            "submitted_at": iso(row.submitted_at), "updated_at": iso(row.updated_at)}
