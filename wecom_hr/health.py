"""/healthz (200 when the database answers, else 503) and /metrics (Prometheus)."""

from __future__ import annotations

import os

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from storage import inbox
from wecom_hr import metrics

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    runtime = current_app.extensions["wecom_hr"]
    if not runtime.db.ping():
        return jsonify(status="unavailable", database="down"), 503
    return jsonify(status="ok", database="up"), 200


@bp.get("/metrics")
def prometheus() -> Response:
    runtime = current_app.extensions["wecom_hr"]
    try:
        with runtime.db.session_scope() as session:
            count, age = inbox.depth(session)
            dead = inbox.dead_count(session)
        metrics.INBOX_DEPTH.set(count)
        metrics.INBOX_OLDEST.set(age)
        metrics.DEAD_LETTERS.set(dead)
    except Exception:  # metrics must answer even when the database does not
        pass
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
