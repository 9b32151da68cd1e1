"""gettoken, departments, members and the OAuth code exchange.

Each token sees only its secret's visible range (WECOM.md §6 Directory (doc 96260)): department/list
returns the departments in range, user/list and user/simplelist answer 60011 for a department
outside it, user/get 60011 for a member outside it and 60111 for a userid that does not exist.
user/list lists the members directly in department_id: the current page has no fetch_child.
"""

from __future__ import annotations

from wecom_hr.simulator.errors import ApiError
from wecom_hr.simulator.models import User
from wecom_hr.simulator.routing import ApiContext, Payload, Route
from wecom_hr.simulator.tokens import TOKEN_TTL


def gettoken(ctx: ApiContext) -> Payload:
    if ctx.arg("corpid") != ctx.tokens.corp_id:
        raise ApiError(40013)
    secret = ctx.arg("corpsecret")
    if not secret:
        raise ApiError(41004)
    name = ctx.tokens.secret_name(secret)
    if name is None:
        raise ApiError(40001)
    return {"access_token": ctx.tokens.issue(name), "expires_in": TOKEN_TTL}


def department_list(ctx: ApiContext) -> Payload:
    state = ctx.state
    with state.lock:
        ids = list(state.departments)
        if ctx.arg("id"):
            root = _visible_department_id(ctx, "id")
            ids = state.subtree(root)
        in_range = _visible_departments(ctx)
        return {"department": [state.departments[i].to_api() for i in ids if in_range is None or i in in_range]}


def user_get(ctx: ApiContext) -> Payload:
    with ctx.state.lock:
        user = _member(ctx, ctx.arg("userid"))
        if not _user_visible(ctx, user):
            raise ApiError(60011)
        return user.to_api()


def user_list(ctx: ApiContext) -> Payload:
    with ctx.state.lock:
        return {"userlist": [u.to_api() for u in _members_in(ctx)]}


def user_simplelist(ctx: ApiContext) -> Payload:
    with ctx.state.lock:
        return {"userlist": [u.to_simple() for u in _members_in(ctx)]}


def auth_getuserinfo(ctx: ApiContext) -> Payload:
    return {"userid": _redeem(ctx), "user_ticket": ""}


def legacy_getuserinfo(ctx: ApiContext) -> Payload:
    """The pre-2022 path answers with capitalised keys, exactly as qyapi still does."""
    return {"UserId": _redeem(ctx), "DeviceId": ""}


def _redeem(ctx: ApiContext) -> str:
    """OAuth codes are single use and live five minutes."""
    state = ctx.state
    with state.lock:
        grant = state.oauth_codes.pop(ctx.arg("code"), None)
    if grant is None or grant.expires_at < state.clock():
        raise ApiError(40029)
    return grant.userid


def _member(ctx: ApiContext, userid: str) -> User:
    user = ctx.state.active_user(userid)
    if user is None:
        raise ApiError(60111)
    return user


def _department_id(ctx: ApiContext, name: str) -> int:
    try:
        dept_id = int(ctx.arg(name))
    except ValueError:
        raise ApiError(60123) from None
    if dept_id not in ctx.state.departments:
        raise ApiError(60123)
    return dept_id


def _visible_department_id(ctx: ApiContext, name: str) -> int:
    dept_id = _department_id(ctx, name)
    in_range = _visible_departments(ctx)
    if in_range is not None and dept_id not in in_range:
        raise ApiError(60011)
    return dept_id


def _visible_departments(ctx: ApiContext) -> set[int] | None:
    """The departments in the token's range (sub-departments included); None: no range set."""
    state, name = ctx.state, ctx.secret_name or ""
    if name not in state.visible_departments and name not in state.visible_users:
        return None
    roots = [d for d in state.visible_departments.get(name, []) if d in state.departments]
    return {d for root in roots for d in state.subtree(root)}


def _user_visible(ctx: ApiContext, user: User) -> bool:
    in_range = _visible_departments(ctx)
    if in_range is None or in_range.intersection(user.department):
        return True
    return user.userid in ctx.state.visible_users.get(ctx.secret_name or "", [])


def _members_in(ctx: ApiContext) -> list[User]:
    # fetch_child is ignored, as on the current user/list page (WECOM.md §6 Directory (doc 96260)).
    root = _visible_department_id(ctx, "department_id")
    return [u for u in ctx.state.active_users() if root in u.department]


ROUTES = [
    Route("gettoken", "GET", gettoken, needs_token=False),
    Route("department/list", "GET", department_list),
    Route("user/get", "GET", user_get),
    Route("user/list", "GET", user_list),
    Route("user/simplelist", "GET", user_simplelist),
    Route("auth/getuserinfo", "GET", auth_getuserinfo),
    Route("user/getuserinfo", "GET", legacy_getuserinfo),
]
