"""Customer group chats: list, read, and hand over to a new owner (a resigned owner's chat: inherit)."""

from __future__ import annotations

from wecom_hr.simulator.errors import ApiError, errmsg
from wecom_hr.simulator.models import STATUS_LEFT
from wecom_hr.simulator.routing import ApiContext, Payload, Route, page
from wecom_hr.simulator.state import CorpState

CHAT_BATCH = 100
INHERITING, INHERITED = 90507, 90508  # WECOM.md §6 Members who left: being / already inherited


def groupchat_list(ctx: ApiContext) -> Payload:
    limit = ctx.int_field("limit", 0, 1, 1000)
    owners = (ctx.body.get("owner_filter") or {}).get("userid_list") or []
    status = ctx.body.get("status_filter", 0)
    with ctx.state.lock:
        chats = [{"chat_id": c.chat_id, "status": c.status} for c in ctx.state.group_chats.values()
                 if c.customer_group and (not owners or c.owner in owners)
                 and (status != 0 or c.status == 0)]
    chunk, next_cursor = page(chats, str(ctx.body.get("cursor", "")), limit)
    return {"group_chat_list": chunk, "next_cursor": next_cursor}


def groupchat_get(ctx: ApiContext) -> Payload:
    """WeCom doc 92122 (获取客户群详情), POST {chat_id, need_name}: the chat with its ``name`` (the
    console shows it instead of the wr… id, issue 20); need_name=1 asks for the members' names too."""
    with ctx.state.lock:
        chat = ctx.state.group_chats.get(str(ctx.field("chat_id")))
        if chat is None or not chat.customer_group:
            raise ApiError(40050)
        data = chat.to_api()
        if ctx.int_field("need_name", 0, 0, 1):
            for member in data["member_list"]:
                person = ctx.state.users.get(member["userid"]) or ctx.state.external_contacts.get(member["userid"])
                member["name"] = person.name if person is not None else ""
        return {"group_chat": data}


def transfer_resigned(ctx: ApiContext) -> Payload:
    return _transfer(ctx, owner_must_have_left=True)


def transfer_onjob(ctx: ApiContext) -> Payload:
    return _transfer(ctx, owner_must_have_left=False)


def _transfer(ctx: ApiContext, owner_must_have_left: bool) -> Payload:
    chat_ids = [str(c) for c in ctx.list_field("chat_id_list", CHAT_BATCH)]
    new_owner = str(ctx.field("new_owner"))
    failed = []
    with ctx.state.lock:
        if ctx.state.active_user(new_owner) is None:
            raise ApiError(60111, "new_owner")
        for chat_id in chat_ids:
            errcode = _hand_over(ctx.state, chat_id, new_owner, owner_must_have_left)
            if errcode:
                failed.append({"chat_id": chat_id, "errcode": errcode, "errmsg": errmsg(errcode)})
    return {"failed_chat_list": failed}


def _hand_over(state: CorpState, chat_id: str, new_owner: str, owner_must_have_left: bool) -> int:
    chat = state.group_chats.get(chat_id)
    if chat is None:
        return 40050
    if not chat.customer_group:
        return 90501
    owner = state.users.get(chat.owner)
    owner_left = owner is not None and owner.status == STATUS_LEFT
    if owner_must_have_left and chat.inheriting_to:
        return INHERITING
    if owner_must_have_left and not owner_left and chat.inherited_from:
        return INHERITED
    if owner_must_have_left and not owner_left:
        return 90500
    if not owner_must_have_left and owner_left:
        return 90502
    if chat.owner == new_owner:
        return 90504
    chat.inherited_from = chat.owner if owner_must_have_left else ""
    chat.owner = new_owner
    return 0


def begin_inheritance(state: CorpState, chat_id: str, new_owner: str) -> None:
    """A resigned owner's chat starts being inherited elsewhere (e.g. in the admin console): until
    finish_inheritances, groupchat/transfer answers 90507 for it."""
    with state.lock:
        state.group_chats[chat_id].inheriting_to = new_owner


def finish_inheritances(state: CorpState) -> list[str]:
    """Every chat being inherited gets its new owner; asking again then answers 90508."""
    done = []
    with state.lock:
        for chat in state.group_chats.values():
            if chat.inheriting_to:
                chat.inherited_from, chat.owner, chat.inheriting_to = chat.owner, chat.inheriting_to, ""
                done.append(chat.chat_id)
    return done


ROUTES = [
    Route("externalcontact/groupchat/list", "POST", groupchat_list),
    Route("externalcontact/groupchat/get", "POST", groupchat_get),
    Route("externalcontact/groupchat/transfer", "POST", transfer_resigned),
    Route("externalcontact/groupchat/onjob_transfer", "POST", transfer_onjob),
]
