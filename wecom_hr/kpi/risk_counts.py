"""Figures owned by the risk signals (storage/risk.py, issue 18 item 2-3), read defensively: the KPI
page works, with zeros, before that module exists or when it has no such figures.

The risk module may offer ``off_assignment_counts(session, userids, begins, ends) -> {userid: n}``
and ``open_alert_counts(session, userids) -> {userid: n}``; without them, a mapped alert model
with ``userid`` and ``status`` columns is counted for open alerts.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def _risk() -> Any:
    try:
        return importlib.import_module("storage.risk")
    except ImportError:
        return None


def _guarded(session: Session, read: Any) -> dict[str, int]:
    try:
        with session.begin_nested():  # a failed read must not spoil the caller's transaction
            return {str(k): int(v) for k, v in dict(read()).items()}
    except (SQLAlchemyError, TypeError, ValueError, AttributeError):
        log.warning("risk figures unavailable for KPIs", exc_info=True)
        return {}


def off_assignment(session: Session, userids: Sequence[str], begins: datetime, ends: datetime) -> dict[str, int]:
    risk = _risk()
    counts = getattr(risk, "off_assignment_counts", None)
    if counts is None:
        return {}
    return _guarded(session, lambda: counts(session, list(userids), begins, ends))


def open_alerts(session: Session, userids: Sequence[str]) -> dict[str, int]:
    risk = _risk()
    if risk is None:
        return {}
    counts = getattr(risk, "open_alert_counts", None)
    if counts is not None:
        return _guarded(session, lambda: counts(session, list(userids)))
    model = next((getattr(risk, n) for n in ("RiskAlert", "Alert") if hasattr(risk, n)), None)
    if model is None or not hasattr(model, "userid") or not hasattr(model, "status"):
        return {}
    query = (select(model.userid, func.count()).where(model.userid.in_(list(userids)), model.status == "open")
             .group_by(model.userid))
    return _guarded(session, lambda: session.execute(query).all())
