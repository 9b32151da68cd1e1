"""A member's metric this week against their own previous 4 weeks (the risk rules use this).

``compare(session, userid, "coverage_ratio", week_start)`` -> (current, baseline, change_ratio):
current is the metric over the 7 days from ``week_start``; baseline the mean over the 4 weeks
before; change_ratio = (current - baseline) / baseline (-0.5: halved, +0.3: up 30%). A baseline of
0 gives 0.0 when current is 0 too, else +inf. A metric without a value (no replies) counts as 0.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from sqlalchemy.orm import Session

from wecom_hr.kpi.period import Period
from wecom_hr.kpi.report import FIELDS, figures
from wecom_hr.kpi.settings import DEFAULT, KpiSettings

BASELINE_WEEKS = 4
METRICS = tuple(f for f in FIELDS if f not in ("userid", "name"))


class UnknownMetricError(ValueError):
    pass


def weekly(session: Session, userid: str, metric: str, week_start: date, weeks: int,
           settings: KpiSettings = DEFAULT) -> list[float]:
    """The metric for ``weeks`` consecutive weeks ending with the one from ``week_start``, oldest first."""
    if metric not in METRICS:
        raise UnknownMetricError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    out = []
    for back in range(weeks - 1, -1, -1):
        start = week_start - timedelta(days=7 * back)
        rows = figures(session, [userid], Period(start, start + timedelta(days=6), settings.tz), settings)
        value = rows[0].as_json(settings.reply_sla_seconds)[metric] if rows else None
        out.append(float(value) if value is not None else 0.0)
    return out


def compare(session: Session, userid: str, metric: str, week_start: date,
            settings: KpiSettings = DEFAULT) -> tuple[float, float, float]:
    *before, current = weekly(session, userid, metric, week_start, BASELINE_WEEKS + 1, settings)
    baseline = sum(before) / len(before)
    if baseline == 0:
        return current, baseline, 0.0 if current == 0 else math.inf
    return current, baseline, (current - baseline) / baseline


def moved(session: Session, userid: str, metric: str, week_start: date, settings: KpiSettings = DEFAULT) -> bool:
    """The metric moved beyond [kpi] anomaly_threshold (either way) against the baseline."""
    return abs(compare(session, userid, metric, week_start, settings)[2]) > settings.anomaly_threshold
