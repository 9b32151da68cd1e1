"""create_app(settings): the Flask app. Wires blueprints and the runtime; starts nothing by itself
(the inbox worker and the scheduler are started by `serve`/`worker`/`scheduler`, never at import).
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

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

    @app.errorhandler(AccessDenied)
    def _denied(exc: AccessDenied) -> Any:
        return error_response(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            return jsonify(error=exc.description or exc.name), exc.code
        return exc

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        app.logger.exception("unhandled error on %s", request.path)
        return Response("internal error", status=500, mimetype="text/plain")

    return app
