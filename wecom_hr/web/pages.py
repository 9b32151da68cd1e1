"""Console pages: home, the customer pool and departures, plus the members' names the scripts show.

Each page is checked here (roles.page) and then fills itself from the JSON APIs, which check the
caller again and scope the rows (team, own, all).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template
from sqlalchemy import select

from storage import directory
from storage.db import utcnow
from storage.departures import Departure, get
from wecom_hr.api.auth import api_user, runtime
from wecom_hr.departures import report, signoffs
from wecom_hr.web import texts, todo
from wecom_hr.web.roles import Viewer, api_viewer, page, refused, viewer_of

bp = Blueprint("pages", __name__, url_prefix="/console")
TEAM_DEPARTURES = 200


def render(template: str, viewer: Viewer, active: str, **context: Any) -> str:
    return render_template(template, viewer=viewer, active=active, ui_texts=texts.UI, **context)


@bp.get("/")
@page("customers")  # every signed-in member may open the console
def home(viewer: Viewer) -> str:
    """What waits for this member (approvals, sign-offs, cases, hits, overdue items, departures), then the areas."""
    areas = [(area, label, path, texts.AREA_HINTS[area]) for area, label, path in viewer.menu]
    return render("web/home.html", viewer, "", areas=areas, sections=_todos(viewer),
                  kpis=viewer.may("kpis") and viewer.has_content("kpis"), todo_empty=texts.TODO_EMPTY,
                  todo_kpis=texts.TODO_KPIS, todo_areas=texts.TODO_AREAS)


def _todos(viewer: Viewer) -> list[todo.Section]:
    rt = runtime()
    with rt.db.session_scope() as s:
        return todo.todos(s, rt.settings, viewer, utcnow())


@bp.get("/api/todo")
def todo_list() -> Any:
    """The home page's to-dos as JSON: {sections: [{key, title, count, link, summary, more, lines: [{text,
    detail, link}]}]}, scoped to the caller like the pages they link to."""
    viewer = viewer_of(api_user())  # the session or a bearer token; 401 without either
    return jsonify(sections=[section.as_json() for section in _todos(viewer)])


def _departments() -> list[tuple[int, str]]:
    with runtime().db.session_scope() as s:
        return [(d.id, d.name) for d in s.scalars(select(directory.Department).order_by(directory.Department.id))]


@bp.get("/customers")
@page("customers")
def customers(viewer: Viewer) -> str:
    sees_others = viewer.has("compliance", "hr", "admin", "manager")
    return render("web/customers.html", viewer, "customers", departments=_departments() if sees_others else [],
                  sees_others=sees_others, statuses=texts.UI["customer_status"])


@bp.get("/customers/<external_userid>")
@page("customers")
def customer(viewer: Viewer, external_userid: str) -> str:
    return render("web/customer.html", viewer, "customers", external_userid=external_userid)


@bp.get("/departures")
@page("departures")
def departures(viewer: Viewer) -> str:
    staff = viewer.has("hr", "admin")
    source = "/api/v1/departures" if staff else "/console/api/team-departures"
    return render("web/departures.html", viewer, "departures", may_start=staff, list_source=source)


@bp.get("/departures/<int:departure_id>")
@page("customers")  # every member signs in; then: the departures area, or a signer of its checklist
def departure(viewer: Viewer, departure_id: int) -> Any:
    if not viewer.may("departures"):
        rt = runtime()
        with rt.db.session_scope() as s:
            dep = get(s, departure_id)
            if dep is None or not signoffs.signer_of_any(s, rt.settings, dep, viewer.userid):
                return refused(403, texts.FORBIDDEN, viewer)
    return render("web/departure.html", viewer, "departures", departure_id=departure_id,
                  may_cancel=viewer.has("hr", "admin"), manages=viewer.may("departures"))


@bp.get("/api/team-departures")
def team_departures() -> Any:
    """A manager's view of the departures list (the API's list is HR's): their team's members only.
    Each row links to the departure's report, which the departures API shows to the member's managers."""
    viewer = api_viewer("departures")
    with runtime().db.session_scope() as s:
        team = directory.team_of(s, viewer.userid) - {viewer.userid}
        rows = s.scalars(select(Departure).where(Departure.userid.in_(sorted(team)))
                         .order_by(Departure.id.desc()).limit(TEAM_DEPARTURES))
        return jsonify(items=[report.summary_json(s, d) for d in rows])


@bp.get("/api/members")
def members() -> Any:
    """userid -> display name for everyone in the directory (the names WeCom shows anyway)."""
    api_viewer("customers")
    with runtime().db.session_scope() as s:
        names = {m.userid: m.name or m.userid for m in s.scalars(select(directory.Member))}
    response = jsonify(names)
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
