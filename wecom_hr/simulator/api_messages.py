"""App messages: message/send (with template cards) and message/update_template_card."""

from __future__ import annotations

import re
import secrets
from typing import Any

from wecom_hr.simulator.errors import ApiError
from wecom_hr.simulator.models import SentCard
from wecom_hr.simulator.routing import ApiContext, Payload, Route

MSG_TYPES = frozenset({"text", "image", "voice", "video", "file", "textcard", "news", "mpnews",
                       "markdown", "miniprogram_notice", "template_card"})
INTERACTIVE_CARDS = frozenset({"button_interaction", "vote_interaction", "multiple_interaction"})
CARD_TYPES = INTERACTIVE_CARDS | {"text_notice", "news_notice"}
TASK_ID = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")
CARD_LIST_LIMITS = (("button_list", 6), ("select_list", 3))
# WECOM.md §6 App-message size: text/markdown content at most 2048 bytes of UTF-8 (wechatpy
# work/client/api/message.py); over it 45002. The client fits every message (wecom/markdown.py).
CONTENT_MAX_BYTES = 2048


def send(ctx: ApiContext) -> Payload:
    msgtype = _check_message(ctx)
    state = ctx.state
    with state.lock:
        card = _check_card(ctx) if msgtype == "template_card" else None
        users, invalid = _recipients(ctx)
        if not users:
            raise ApiError(81013, **invalid)
        msgid = secrets.token_urlsafe(48)
        response_code = _register_card(ctx, card, users, msgid) if card else None
    record = {**ctx.body, "msgid": msgid, "response_code": response_code}
    with ctx.journal.lock:
        ctx.journal.sent_messages.append(record)
    for userid in users:
        ctx.journal.deliver_to_inbox(userid, record, state.clock())
    reply: Payload = {**invalid, "unlicenseduser": "", "msgid": msgid}
    if response_code:
        reply["response_code"] = response_code
    return reply


def _check_message(ctx: ApiContext) -> str:
    _check_agent(ctx)
    msgtype = ctx.body.get("msgtype")
    if msgtype not in MSG_TYPES:
        raise ApiError(40008)
    content = ctx.body.get(msgtype)
    if not isinstance(content, dict):
        raise ApiError(40058, f"missing {msgtype}")
    if msgtype in ("text", "markdown") and not str(content.get("content", "")).strip():
        raise ApiError(44004)
    if msgtype in ("text", "markdown") and len(str(content.get("content", "")).encode("utf-8")) > CONTENT_MAX_BYTES:
        raise ApiError(45002, f"{msgtype}.content is over {CONTENT_MAX_BYTES} bytes")
    return str(msgtype)


def _check_agent(ctx: ApiContext) -> None:
    if str(ctx.body.get("agentid", "")) != str(ctx.state.agent_id):
        raise ApiError(40056)


def _check_card(ctx: ApiContext) -> dict[str, Any]:
    card = ctx.body["template_card"]
    card_type = card.get("card_type")
    if card_type not in CARD_TYPES:
        raise ApiError(40058, "card_type")
    task_id = card.get("task_id")
    if task_id is None and card_type in INTERACTIVE_CARDS:
        raise ApiError(40058, "task_id is required for interactive cards")
    if task_id is not None and not TASK_ID.match(str(task_id)):
        raise ApiError(40058, "task_id must be 1..128 of [0-9A-Za-z_-@]")
    if task_id is not None and str(task_id) in ctx.state.cards:
        raise ApiError(40058, "task_id exists")
    for key, limit in CARD_LIST_LIMITS:
        if len(card.get(key) or []) > limit:
            raise ApiError(40058, f"{key} allows at most {limit} items")
    if any(len(q.get("option_list") or []) > 10 for q in card.get("select_list") or []):
        raise ApiError(40058, "option_list allows at most 10 items")
    return dict(card)


def _recipients(ctx: ApiContext) -> tuple[list[str], dict[str, str]]:
    """Valid member ids, and the invalid parts "|"-joined as qyapi reports them."""
    state, body = ctx.state, ctx.body
    wanted = [u for u in str(body.get("touser", "")).split("|") if u]
    if "@all" in wanted:
        wanted = [u.userid for u in state.active_users()]
    parties = [p for p in str(body.get("toparty", "")).split("|") if p]
    bad_parties = [p for p in parties if not p.isdigit() or int(p) not in state.departments]
    good_parties = {int(p) for p in parties if p not in bad_parties}
    wanted += [u.userid for u in state.active_users() if good_parties.intersection(u.department)]
    users = list(dict.fromkeys(u for u in wanted if state.active_user(u) is not None))
    invalid = {"invaliduser": "|".join(u for u in dict.fromkeys(wanted) if state.active_user(u) is None),
               "invalidparty": "|".join(bad_parties),
               "invalidtag": str(body.get("totag", ""))}  # the simulated corp has no tags
    return users, invalid


def _register_card(ctx: ApiContext, card: dict[str, Any], users: list[str], msgid: str) -> str | None:
    task_id = card.get("task_id")
    if task_id is not None:
        ctx.state.cards[str(task_id)] = SentCard(str(task_id), str(card["card_type"]), users, card, msgid)
    if card["card_type"] not in INTERACTIVE_CARDS:
        return None
    return ctx.state.grant_response_code(str(task_id), users)


def update_template_card(ctx: ApiContext) -> Payload:
    """A response_code updates the card once, within 72 hours of being issued."""
    _check_agent(ctx)
    code = str(ctx.field("response_code"))
    if "button" not in ctx.body and "template_card" not in ctx.body:
        raise ApiError(40058, "button or template_card is required")
    with ctx.state.lock:
        grant = ctx.state.response_codes.get(code)
        if grant is None or grant.used or grant.expires_at < ctx.state.clock():
            raise ApiError(60140, "invalid response_code")  # WECOM.md §6 Template cards (doc 94945)
        grant.used = True
    asked = [str(u) for u in ctx.body.get("userids") or []]
    with ctx.journal.lock:
        ctx.journal.card_updates.append({**ctx.body, "task_id": grant.task_id})
    return {"invaliduser": [u for u in asked if u not in grant.userids]}


ROUTES = [
    Route("message/send", "POST", send),
    Route("message/update_template_card", "POST", update_template_card),
]
