"""create_app(settings): the Flask app. Wires blueprints and the runtime; starts nothing by itself
(the inbox worker and the scheduler are started by `serve`/`worker`/`scheduler`, never at import).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import traceback
from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from wecom_hr.api import messages
from wecom_hr.api.auth import AccessDenied, error_response
from wecom_hr.config import Settings, get
from wecom_hr.crypto import WXBizMsgCrypt
from wecom_hr.runtime import Runtime


def _blueprints() -> list[Any]:
    # Explicit list: every blueprint the app serves.
    from wecom_hr.api.archive import audit_bp  # chat archive + audit log (issue 4)
    from wecom_hr.api.archive import bp as archive_api_bp
    from wecom_hr.api.customers import bp as customers_api_bp
    from wecom_hr.api.departure_analysis import bp as departure_analysis_api_bp  # exit answers, analysis (17)
    from wecom_hr.api.departures import bp as departures_api_bp  # departure handover (issue 5)
    from wecom_hr.api.kpis import bp as kpis_api_bp  # salesperson KPIs (issue 18)
    from wecom_hr.api.receivables import bp as receivables_api_bp
    from wecom_hr.api.risk import bp as risk_api_bp  # 跑单 early warning: alerts, owners (issue 18)
    from wecom_hr.api.risk import owner_bp as risk_owner_bp
    from wecom_hr.callback import bp as callback_bp
    from wecom_hr.health import bp as health_bp
    from wecom_hr.receivables.followup import bp as receivables_page_bp
    from wecom_hr.web import bp as web_bp  # console: login, pages, charts (issue 7)

    return [callback_bp, health_bp, customers_api_bp, receivables_api_bp, receivables_page_bp,
            archive_api_bp, audit_bp, web_bp, departures_api_bp,
            risk_api_bp, risk_owner_bp, departure_analysis_api_bp, kpis_api_bp]


def derived_secret_key(settings: Settings) -> str:
    """Without [web] secret_key, a key derived from the WeCom secrets: the same in every worker and
    after restarts (a random one would log people out whenever another process answers)."""
    w = settings.wecom
    material = "\0".join(["wecom-hr session key v1", w.corp_id, w.secret, w.token, w.encoding_aes_key])
    return hashlib.sha256(material.encode()).hexdigest()


def create_app(settings: Settings, runtime: Runtime | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        SECRET_KEY=settings.section("web").get("secret_key") or derived_secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    rt = runtime or Runtime(settings)
    w = settings.wecom
    app.extensions["wecom_hr"] = rt
    app.extensions["wecom_hr.crypto"] = WXBizMsgCrypt(w.token, w.encoding_aes_key, w.corp_id)
    for bp in _blueprints():
        app.register_blueprint(bp)
    hops: int = get(settings.section("web"), "web", "proxy_hops", int, 0)
    if hops > 0:  # behind nginx: the client's address (login throttle, logs) from X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    _error_handlers(app)
    return app


API_PREFIXES = ("/api/", "/console/api/")


def _wants_json(default: bool) -> bool:
    """JSON for the APIs and for callers that ask for it; HTML for browsers; ``default`` when unsaid."""
    if request.path.startswith(API_PREFIXES):
        return True
    if not request.accept_mimetypes:
        return default
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "application/json"


def _error_page(status: int, detail: str = "", reference: str = "") -> tuple[str, int]:
    from wecom_hr.web import texts
    from wecom_hr.web.roles import current_viewer

    viewer = None
    if status < 500:  # the menu when someone is signed in; a failing database must not fail the error page
        try:
            viewer = current_viewer()
        except Exception:
            viewer = None
    heading, message = texts.ERROR_PAGES.get(status, texts.ERROR_PAGES[500 if status >= 500 else 400])
    page = render_template("web/error.html", viewer=viewer, heading=heading, message=message, detail=detail,
                           reference=reference, reference_label=texts.ERROR_REFERENCE, home_label=texts.ERROR_HOME)
    return page, status


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame: enough to find the bug, without a traceback in the log."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{os.path.basename(last.filename)}:{last.lineno}"


def _error_handlers(app: Flask) -> None:
    @app.after_request
    def _explain(response: Any) -> Any:
        """A JSON error made without error_json (e.g. the CSRF guard) still gets its code and message."""
        if response.status_code >= 400 and response.is_json and not response.direct_passthrough:
            body = response.get_json(silent=True)
            if isinstance(body, dict) and isinstance(body.get("error"), str) and "code" not in body:
                response.set_data(app.json.dumps(body | messages.error_body(response.status_code, body["error"])))
        return response

    @app.errorhandler(AccessDenied)
    def _denied(exc: AccessDenied) -> Any:
        if _wants_json(default=True):
            return error_response(exc)
        return _error_page(exc.status, messages.describe(exc.status, str(exc), exc.code)[1])

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        status = exc.code or 500
        if status < 400:  # routing redirects (a missing trailing slash) are not errors
            return exc
        if status >= 500:
            return _unexpected(exc)
        detail = exc.description or exc.name
        own_words = detail != type(exc).description  # werkzeug's stock English adds nothing to the Chinese
        if _wants_json(default=False):
            response: Any = (jsonify(messages.error_body(status, detail, with_detail=own_words)), status)
        else:
            response = _error_page(status)
        made = app.make_response(response)
        for name, value in exc.get_headers():
            if name.lower() not in ("content-type", "content-length"):
                made.headers[name] = value  # Allow on a 405, Retry-After on a 429
        return made

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        reference = secrets.token_hex(4)
        app.logger.error("unhandled error ref=%s on %s %s: %s at %s", reference, request.method, request.path,
                         type(exc).__name__, _where(exc))
        if _wants_json(default=False):
            body = messages.error_body(500, "internal error", "internal_error") | {"reference": reference}
            body["message"] += f"（错误编号 {reference}）"
            return jsonify(body), 500
        return _error_page(500, reference=reference)
