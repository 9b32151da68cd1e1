"""Who is looking, and which console areas their role opens.

Roles come from [roles] (compliance, hr, finance, admin); "manager" is derived from the directory
(a leader of a department); everyone else is a salesperson. Pages check here, on the server; the
JSON APIs they call check again for themselves, with their own scoping (team, own, all).

The menu lists an area only where the member has something in it (issue 20): a leader of a
department nobody else is in (say 财务部) gets no 离职交接, a finance member without customers no
客户池. Opening a page is still decided by AREAS alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import g, redirect, render_template, request, session
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import directory
from storage.customers import CustomerFollow
from storage.receivables import Receivable
from wecom_hr.api.auth import AccessDenied, ApiUser, api_user, runtime
from wecom_hr.web import texts
from wecom_hr.web.login import login_url

F = TypeVar("F", bound=Callable[..., Any])
EVERYONE = "*"
# area -> roles that may open it ("manager" derived; EVERYONE: any signed-in member).
AREAS: dict[str, frozenset[str]] = {
    "archive": frozenset({"compliance", "admin"}),
    "watch": frozenset({"compliance", "admin"}),
    "audit": frozenset({"compliance", "admin"}),  # as README and /api/v1/audit say
    "customers": frozenset({EVERYONE}),
    "departures": frozenset({"hr", "admin", "manager"}),
    "receivables": frozenset({EVERYONE}),
    "collections": frozenset({"finance", "admin"}),
    "kpis": frozenset({EVERYONE}),  # scoped inside: self, team, everyone (issue 18)
    "departure_analysis": frozenset({"hr", "admin"}),  # 离职分析报告 (issue 17)
    "exit_questionnaire": frozenset({EVERYONE}),  # 离职问卷: the page checks the member is the leaver
}
PATHS = {"archive": "/console/archive", "watch": "/console/archive/watch", "audit": "/console/archive/audit",
         "customers": "/console/customers", "departures": "/console/departures",
         "receivables": "/console/receivables", "departure_analysis": "/console/departures/analysis",
         "kpis": "/console/kpis"}
CONFIGURED = frozenset({"compliance", "hr", "finance", "admin"})
# area -> roles whose scope there is the whole company, so they always have content in it.
WHOLE_COMPANY = {"customers": frozenset({"compliance", "hr", "admin"}), "receivables": frozenset({"finance", "admin"}),
                 "kpis": frozenset({"compliance", "admin"}), "departures": frozenset({"hr", "admin"})}
# A team gives content in every one of those areas; customers of one's own in these.
OWN_AREAS = frozenset({"customers", "receivables", "kpis"})


@dataclass(frozen=True)
class Viewer:
    userid: str
    name: str
    roles: frozenset[str]  # configured roles plus "manager" when the directory says so
    team: frozenset[str] = frozenset()  # the members of the departments they lead, themselves excluded
    sells: bool = False  # a salesperson: no configured role, or customers / receivables of their own

    def may(self, area: str) -> bool:
        allowed = AREAS[area]
        return EVERYONE in allowed or bool(self.roles & allowed)

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def role_labels(self) -> list[str]:
        shown = ("admin", "compliance", "hr", "finance", *(("manager",) if self.team else ()))
        names = [texts.ROLE_NAMES[r] for r in shown if r in self.roles]
        return names or [texts.ROLE_NAMES["salesperson"]]

    def has_content(self, area: str) -> bool:
        """Whether the area shows this member anything: a whole-company role, a team, their own customers."""
        if area not in WHOLE_COMPANY:
            return True  # archive, watch, audit, analysis: opened only by roles they are made for
        return self.has(*WHOLE_COMPANY[area]) or bool(self.team) or (area in OWN_AREAS and self.sells)

    @property
    def menu(self) -> list[tuple[str, str, str]]:
        """(area, label, path) of each area this member may open and has content in, in menu order."""
        return [(area, label, PATHS[area]) for area, label in texts.AREA_LABELS.items()
                if self.may(area) and self.has_content(area)]


def _sells(session: Session, userid: str, roles: frozenset[str]) -> bool:
    if not roles & CONFIGURED:
        return True
    follows = session.scalar(select(CustomerFollow.id).where(CustomerFollow.userid == userid).limit(1))
    owns = session.scalar(select(Receivable.id).where(Receivable.salesperson == userid).limit(1))
    return follows is not None or owns is not None


def current_viewer() -> Viewer | None:
    """The signed-in member, None when nobody is; AccessDenied when their access was revoked."""
    cached = g.get("viewer")
    if isinstance(cached, Viewer):
        return cached
    if not isinstance(session.get("userid"), str):
        return None
    viewer = viewer_of(api_user())  # the same ACCESS_CHECKS as every API call
    g.viewer = viewer
    return viewer


def viewer_of(user: ApiUser) -> Viewer:
    with runtime().db.session_scope() as s:
        name = directory.display_name(s, user.userid)
        manager = directory.is_manager(s, user.userid)
        team = frozenset(directory.team_of(s, user.userid) - {user.userid}) if manager else frozenset()
        sells = _sells(s, user.userid, user.roles)
    return Viewer(user.userid, name, user.roles | ({"manager"} if manager else set()), team, sells)


def refused(status: int, message: str, viewer: Viewer | None = None) -> tuple[str, int]:
    return render_template("web/message.html", message=message, viewer=viewer), status


def page(area: str) -> Callable[[F], F]:
    """A console page: redirect to login without a session; 403 for a role that may not see it."""
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                viewer = current_viewer()
            except AccessDenied:
                session.clear()
                return refused(403, texts.ACCOUNT_REVOKED)
            if viewer is None:
                return redirect(login_url(request.full_path.rstrip("?")), 302)
            if not viewer.may(area):
                return refused(403, texts.FORBIDDEN, viewer)
            return view(viewer, *args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate


def api_viewer(area: str) -> Viewer:
    """For the console's own JSON endpoints: bearer tokens or the session, then the area check."""
    user = api_user()
    with runtime().db.session_scope() as s:
        manager = directory.is_manager(s, user.userid)
    viewer = Viewer(user.userid, user.userid, user.roles | ({"manager"} if manager else set()))
    if not viewer.may(area):
        raise AccessDenied(403, "your role does not allow this")
    return viewer
