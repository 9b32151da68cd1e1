"""Customer-contact reads: one customer, a member's customers, batch pages, unassigned ones.

A half-added pair (add_half_external_contact, the member has not added back) is not a relation to
the API yet: externalcontact/get answers 84061 when it is the customer's only one, and every list
leaves it out (WECOM.md §6).
"""

from __future__ import annotations

from typing import Any

from wecom_hr.simulator.errors import ApiError
from wecom_hr.simulator.models import STATUS_LEFT, Follow
from wecom_hr.simulator.routing import ApiContext, Payload, Route, decode_cursor, encode_cursor, page

BATCH_USERS, BATCH_LIMIT = 100, 100


def get(ctx: ApiContext) -> Payload:
    state = ctx.state
    with state.lock:
        contact = state.external_contacts.get(ctx.arg("external_userid"))
        if contact is None:
            raise ApiError(40096)
        follows = [f for f in state.followers_of(contact.external_userid) if not f.half]
        if not follows:
            raise ApiError(84061)
        chunk, next_cursor = page(follows, ctx.arg("cursor"), state.follow_page_size)
        return {"external_contact": contact.to_api(),
                "follow_user": [f.to_follow_user() for f in chunk], "next_cursor": next_cursor}


def list_by_user(ctx: ApiContext) -> Payload:
    """A member without customers gets 84061, not an empty list (a known qyapi trap)."""
    with ctx.state.lock:
        _known_user(ctx, ctx.arg("userid"))
        ids = [f.external_userid for f in _confirmed(ctx, ctx.arg("userid"))]
    if not ids:
        raise ApiError(84061)
    return {"external_userid": ids}


def follow_user_list(ctx: ApiContext) -> Payload:
    with ctx.state.lock:
        return {"follow_user": [u.userid for u in ctx.state.active_users()]}


def batch_get_by_user(ctx: ApiContext) -> Payload:
    if "userid" in ctx.body:
        raise ApiError(40058, "userid is retired, use userid_list")
    userids = [str(u) for u in ctx.list_field("userid_list", BATCH_USERS)]
    limit = ctx.int_field("limit", 50, 1, BATCH_LIMIT)
    user_pos, follow_pos = decode_cursor(str(ctx.body.get("cursor", "")), 2)
    with ctx.state.lock:
        for userid in userids:
            if ctx.state.active_user(userid) is None:  # WECOM.md §6 Members who left: a leaver may answer 60111
                raise ApiError(60111)
        items, next_cursor = _batch_page(ctx, userids, user_pos, follow_pos, limit)
    return {"external_contact_list": items, "next_cursor": next_cursor}


def _batch_page(ctx: ApiContext, userids: list[str], user_pos: int, follow_pos: int,
                limit: int) -> tuple[list[dict[str, Any]], str]:
    """Walk members in the listed order, each member's customers in the order they were added."""
    items: list[dict[str, Any]] = []
    while user_pos < len(userids) and len(items) < limit:
        follows = _confirmed(ctx, userids[user_pos])
        taken = follows[follow_pos:follow_pos + limit - len(items)]
        items += [_batch_item(ctx, f) for f in taken]
        follow_pos += len(taken)
        if follow_pos >= len(follows):
            user_pos, follow_pos = user_pos + 1, 0
    more = any(_confirmed(ctx, u) for u in userids[user_pos:]) if follow_pos == 0 else True
    return items, encode_cursor(user_pos, follow_pos) if more and user_pos < len(userids) else ""


def _confirmed(ctx: ApiContext, userid: str) -> list[Follow]:
    return [f for f in ctx.state.follows_of_user(userid) if not f.half]


def _batch_item(ctx: ApiContext, follow: Follow) -> dict[str, Any]:
    contact = ctx.state.external_contacts[follow.external_userid]
    return {"external_contact": contact.to_api(), "follow_info": follow.to_follow_info()}


def unassigned_list(ctx: ApiContext) -> Payload:
    """Customers of members who left and whose transfer has not started yet."""
    size = ctx.int_field("page_size", 1000, 1, 1000)
    state = ctx.state
    with state.lock:
        rows = [{"handover_userid": u.userid, "external_userid": f.external_userid,
                 "dimission_time": u.dimission_time}
                for u in state.users.values() if u.status == STATUS_LEFT
                for f in state.follows_of_user(u.userid)
                if not f.half and state.waiting_transfer(f.external_userid) is None]
    chunk, next_cursor = page(rows, str(ctx.body.get("cursor", "")), size)
    return {"info": chunk, "is_last": not next_cursor, "next_cursor": next_cursor}


def _known_user(ctx: ApiContext, userid: str) -> None:
    """Members who left still have customers (until transferred), so they are known here."""
    if userid not in ctx.state.users:
        raise ApiError(60111)


ROUTES = [
    Route("externalcontact/get", "GET", get),
    Route("externalcontact/list", "GET", list_by_user),
    Route("externalcontact/get_follow_user_list", "GET", follow_user_list),
    Route("externalcontact/batch/get_by_user", "POST", batch_get_by_user),
    Route("externalcontact/get_unassigned_list", "POST", unassigned_list),
]
