"""The receivables page (aging charts drawn here, overdue list and collections filled by the page
script from /api/v1/receivables and /api/v1/collections) and the aging summary as JSON.

Finance and admin see everything; a manager sees the team, a salesperson their own (the same
scope as the receivables API). Collections and dunning letters are for finance and admin.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, jsonify
from markupsafe import Markup

from storage.db import utcnow
from wecom_hr.api.auth import runtime
from wecom_hr.receivables import queries
from wecom_hr.receivables.settings import from_settings
from wecom_hr.web import texts
from wecom_hr.web.aging import BUCKETS, Aging, CurrencyAging, aging, aging_json
from wecom_hr.web.charts import Bar, Stack, column_chart, stacked_rows
from wecom_hr.web.pages import render
from wecom_hr.web.roles import Viewer, api_viewer, page

bp = Blueprint("receivables", __name__, url_prefix="/console")


def shown(amount: Decimal, currency: str) -> str:
    return f"¥{amount:,.2f}" if currency == "CNY" else f"{currency} {amount:,.2f}"


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


@bp.get("/receivables")
@page("receivables")
def receivables(viewer: Viewer) -> str:
    result = _aging_for(viewer.userid, viewer.roles)
    sections = []
    for c in result.currencies:
        by_bucket, by_person = charts_for(result, c)
        counts = {b: c.overall.counts[b] for b in BUCKETS}
        sections.append({"currency": c.currency, "total": shown(c.overall.total, c.currency), "counts": counts,
                         "amounts": {b: shown(c.overall.amounts[b], c.currency) for b in BUCKETS},
                         "by_bucket": by_bucket, "by_person": by_person})
    return render("web/receivables.html", viewer, "receivables", as_of=result.as_of, sections=sections,
                  labels=texts.AGING_LABELS, buckets=BUCKETS, collections=viewer.may("collections"))


@bp.get("/api/aging")
def aging_summary() -> Any:
    """The aging buckets in the caller's scope: {as_of, buckets, currencies[{currency, total,
    buckets[{bucket, amount, count}], by_salesperson[...]}]} (amounts as decimal strings)."""
    viewer = api_viewer("receivables")
    return jsonify(aging_json(_aging_for(viewer.userid, viewer.roles - {"manager"})))
