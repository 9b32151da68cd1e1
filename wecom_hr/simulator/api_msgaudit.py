"""Chat-archive (msgaudit) lookups: who is archived, who agreed, what a room is."""

from __future__ import annotations

from wecom_hr.simulator.errors import ApiError
from wecom_hr.simulator.routing import ApiContext, Payload, Route


def permit_user_list(ctx: ApiContext) -> Payload:
    with ctx.state.lock:
        permitted = ctx.state.permit_users
        ids = list(permitted) if permitted is not None else [u.userid for u in ctx.state.active_users()]
    return {"ids": ids}


def check_single_agree(ctx: ApiContext) -> Payload:
    """qyapi spells the customer key ``exteranalopenid``; we answer with the same spelling."""
    pairs = ctx.list_field("info", 100)
    answers = []
    with ctx.state.lock:
        for pair in pairs:
            if not isinstance(pair, dict):
                raise ApiError(40058, "info items are objects")
            userid, ext = str(pair.get("userid", "")), str(pair.get("exteranalopenid", ""))
            status, changed = ctx.state.agreements.get((userid, ext), ("Disagree", 0))
            answers.append({"status_change_time": changed, "userid": userid,
                            "exteranalopenid": ext, "agree_status": status})
    return {"agreeinfo": answers}


def room_get(ctx: ApiContext) -> Payload:
    with ctx.state.lock:
        chat = ctx.state.group_chats.get(str(ctx.field("roomid")))
        if chat is None:
            raise ApiError(40050)
        return {"roomname": chat.name, "creator": chat.owner, "room_create_time": chat.create_time,
                "notice": chat.notice,
                "members": [{"memberid": m.userid, "jointime": m.join_time} for m in chat.members]}


ROUTES = [
    Route("msgaudit/get_permit_user_list", "POST", permit_user_list),
    Route("msgaudit/check_single_agree", "POST", check_single_agree),
    Route("msgaudit/groupchat/get", "POST", room_get),
]
