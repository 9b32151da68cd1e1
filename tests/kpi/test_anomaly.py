"""A member's metric against their own previous 4 weeks."""

from __future__ import annotations

import math
from datetime import date, timedelta

from storage.db import Database
from tests.kpi.conftest import add_order
from wecom_hr.kpi import anomaly

WEEK = date(2025, 3, 3)  # a Monday


def test_orders_doubled_against_the_baseline(db: Database) -> None:
    with db.session_scope() as s:
        for back, count in ((4, 3), (3, 5), (2, 4), (1, 4)):          # baseline: mean 4
            for i in range(count):
                add_order(s, f"B{back}-{i}", f"wmc{back}{i}", "s1", WEEK - timedelta(days=7 * back - i), "10.00")
        for i in range(8):
            add_order(s, f"W-{i}", f"wmw{i}", "s1", WEEK + timedelta(days=i % 7), "10.00")
        add_order(s, "old", "wmold", "s1", WEEK - timedelta(days=7 * 5), "10.00")  # before the baseline
    with db.session_scope() as s:
        assert anomaly.compare(s, "s1", "orders", WEEK) == (8.0, 4.0, 1.0)
        assert anomaly.compare(s, "s1", "order_amount", WEEK) == (80.0, 40.0, 1.0)
        assert anomaly.moved(s, "s1", "orders", WEEK)
        current, baseline, change = anomaly.compare(s, "s1", "orders", WEEK - timedelta(days=7))
        assert (current, baseline) == (4.0, (1 + 3 + 5 + 4) / 4) and math.isclose(change, 4 / 3.25 - 1)
        assert anomaly.compare(s, "nobody", "orders", WEEK) == (0.0, 0.0, 0.0)
        assert anomaly.compare(s, "s1", "orders", WEEK + timedelta(days=7)) == (0.0, 5.25, -1.0)  # none at all


def test_from_nothing_is_infinite_and_unknown_metrics_refused(db: Database) -> None:
    with db.session_scope() as s:
        add_order(s, "X", "wmx", "s1", WEEK, "10.00")
    with db.session_scope() as s:
        assert anomaly.compare(s, "s1", "orders", WEEK) == (1.0, 0.0, math.inf)
        try:
            anomaly.compare(s, "s1", "nonsense", WEEK)
        except anomaly.UnknownMetricError:
            pass
        else:
            raise AssertionError("unknown metric accepted")
