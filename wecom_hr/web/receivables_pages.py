"""The receivables page (aging charts drawn here, overdue list and collections filled by the page
script from /api/v1/receivables and /api/v1/collections) and the aging summary as JSON.

Finance and admin see everything; a manager sees the team, a salesperson their own (the same
scope as the receivables API). Collections and dunning letters are for finance and admin, and so is
the CSV import (POST /console/receivables/import: a form upload, answered with the page and the
import's line-by-line report; guard.py checks the CSRF field).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, jsonify, request
from markupsafe import Markup
from werkzeug.utils import secure_filename

from storage.db import utcnow
from wecom_hr.api.auth import runtime
from wecom_hr.receivables import queries
from wecom_hr.receivables.csv_import import CsvFileError, ImportReport, import_csv
from wecom_hr.receivables.digest import fmt_money
from wecom_hr.receivables.settings import from_settings
from wecom_hr.web import texts
from wecom_hr.web.aging import BUCKETS, Aging, CurrencyAging, aging, aging_json
from wecom_hr.web.charts import Bar, Stack, column_chart, stacked_rows
from wecom_hr.web.pages import render
from wecom_hr.web.roles import Viewer, api_viewer, page

bp = Blueprint("receivables", __name__, url_prefix="/console")
SHOWN_ERRORS = 200  # bad rows listed on the page; the rest are counted


shown = fmt_money  # ¥12,800.00, as every receivables text shows money

def _aging_for(userid: str, roles: frozenset[str]) -> Aging:
    settings = from_settings(runtime().settings)
    today = settings.policy.local_today(utcnow())
    with runtime().db.session_scope() as s:
        owners = queries.visible_owners(s, userid, roles)
        return aging(s, owners, today, settings.ledger.default_currency)


def charts_for(result: Aging, c: CurrencyAging) -> tuple[Markup, Markup]:
    labels = texts.AGING_LABELS
    bars = [Bar(b, labels[b], float(c.overall.amounts[b]), shown(c.overall.amounts[b], c.currency)) for b in BUCKETS]
    by_bucket = column_chart(f"aging-amount-{c.currency}", f"账龄分布（{c.currency}）", bars)
    stacks = [Stack(result.names.get(u, u), [float(line.amounts[b]) for b in BUCKETS], shown(line.total, c.currency))
              for u, line in c.salespeople()]
    by_person = stacked_rows(f"aging-people-{c.currency}", f"按销售的账龄（{c.currency}）",
                             [labels[b] for b in BUCKETS], stacks)
    return by_bucket, by_person


def _page(viewer: Viewer, status: int = 200, **extra: Any) -> tuple[str, int]:
    result = _aging_for(viewer.userid, viewer.roles)
    sections = []
    for c in result.currencies:
        by_bucket, by_person = charts_for(result, c)
        counts = {b: c.overall.counts[b] for b in BUCKETS}
        sections.append({"currency": c.currency, "total": shown(c.overall.total, c.currency), "counts": counts,
                         "amounts": {b: shown(c.overall.amounts[b], c.currency) for b in BUCKETS},
                         "by_bucket": by_bucket, "by_person": by_person})
    return render("web/receivables.html", viewer, "receivables", as_of=result.as_of, sections=sections,
                  labels=texts.AGING_LABELS, buckets=BUCKETS, collections=viewer.may("collections"),
                  shown_errors=SHOWN_ERRORS, **extra), status


@bp.get("/receivables")
@page("receivables")
def receivables(viewer: Viewer) -> tuple[str, int]:
    return _page(viewer)


def _import(upload: Any, actor: str) -> ImportReport:
    """The upload goes to a temporary file (import_csv streams from a path, batch by batch)."""
    with tempfile.TemporaryDirectory(prefix="wecom-hr-import-") as folder:
        path = Path(folder) / (secure_filename(upload.filename or "") or "upload.csv")
        upload.save(path)
        return import_csv(runtime().db, path, from_settings(runtime().settings).ledger, actor=actor)


@bp.post("/receivables/import")
@page("collections")  # finance and admin
def import_file(viewer: Viewer) -> tuple[str, int]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(viewer, 400, import_error=texts.IMPORT_NO_FILE)
    try:
        report = _import(upload, viewer.userid)
    except CsvFileError as exc:
        return _page(viewer, 400, import_error=f"{texts.IMPORT_FILE_REFUSED}{exc}")
    return _page(viewer, import_report=report)


@bp.get("/api/aging")
def aging_summary() -> Any:
    """The aging buckets in the caller's scope: {as_of, buckets, currencies[{currency, total,
    buckets[{bucket, amount, count}], by_salesperson[...]}]} (amounts as decimal strings)."""
    viewer = api_viewer("receivables")
    return jsonify(aging_json(_aging_for(viewer.userid, viewer.roles - {"manager"})))
