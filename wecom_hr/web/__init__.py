"""The web console: WeCom login, then compliance, HR, finance and managers' pages (issue 7).

    /login?next=  /oauth/callback  /logout            login.py (WeCom OAuth2 snsapi_base)
    /console/                                         home: the areas this member may open
    /console/archive  /console/archive/watch  /console/archive/audit      archive_pages.py
    /console/customers  /console/customers/<external_userid>              pages.py
    /console/departures  /console/departures/<id>                         pages.py
    /console/api/departures/<id>/approval|decision   a manager approves here  approval.py
    /console/receivables  /console/api/aging  /console/charts/aging.svg   receivables_pages.py
    /console/static/...                               CSS and JS, versioned in the package

Pages are rendered on the server (role-checked) and fill themselves from the JSON APIs with the
session cookie; charts are SVG drawn on the server. guard.py runs before every request of the app.
"""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

from wecom_hr.web import approval, archive_pages, departure_analysis_pages, guard, login, pages, receivables_pages
from wecom_hr.web.assets import asset_url
from wecom_hr.web.kpi_pages import bp as kpis_bp  # salesperson KPIs (issue 18)
from wecom_hr.web.texts import TITLE

bp = Blueprint("web", __name__, static_folder="static", static_url_path="/console/static",
               template_folder="templates")
bp.register_blueprint(login.bp)
bp.register_blueprint(pages.bp)
bp.register_blueprint(archive_pages.bp)
bp.register_blueprint(receivables_pages.bp)
bp.register_blueprint(approval.bp)
bp.register_blueprint(kpis_bp)
bp.register_blueprint(departure_analysis_pages.bp)  # exit questionnaire, departure analysis (issue 17)
bp.before_app_request(guard.check_request)

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'self'")


@bp.app_context_processor
def _globals() -> dict[str, object]:
    return {"csrf_token": guard.csrf_token, "asset_url": asset_url, "site_title": TITLE}


@bp.after_app_request
def _headers(response: Response) -> Response:
    """Every response of the app, whichever blueprint served it (console, /receivables, /api/v1)."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype in ("text/html", "application/json", "text/csv"):  # names, notes, chats: never cached
        response.headers.setdefault("Cache-Control", "no-store")
    return response
