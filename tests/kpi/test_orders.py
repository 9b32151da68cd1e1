"""Conversion and repeat from a seeded ledger; coverage and first contact from a seeded pool."""

from __future__ import annotations

from datetime import date, timedelta

from storage.customers import LOST
from storage.db import Database
from tests.kpi.conftest import SH, add_customer, add_order, at, message
from wecom_hr.kpi.period import Period
from wecom_hr.kpi.replies import apply
from wecom_hr.kpi.report import kpis
from wecom_hr.kpi.settings import DEFAULT

JAN = Period(date(2025, 1, 1), date(2025, 1, 31), SH)


def seed(db: Database) -> None:
    with db.session_scope() as s:
        for ext in ("wmn1", "wmn2", "wmn3", "wmn4"):
            add_customer(s, ext, "s1", at(2025, 1, 5, 10))
        for ext in ("wmo1", "wmo2", "wmo3"):
            add_customer(s, ext, "s1", at(2024, 6, 1, 10))
        add_customer(s, "wmgone", "s1", at(2024, 6, 1, 10), status=LOST)
        add_order(s, "N1", "wmn1", "s1", date(2025, 1, 10), "100.00")
        add_order(s, "N2a", "wmn2", "s1", date(2025, 1, 20), "200.00")
        add_order(s, "N2b", "wmn2", "s1", date(2025, 1, 25), "50.00")
        add_order(s, "N3", "wmn3", "s1", date(2025, 2, 3), "70.00")    # after the period: not converted in it
        add_order(s, "N4", "wmn4", "s2", date(2025, 1, 15), "80.00")   # sold by someone else: still converted
        for i, ext in enumerate(("wmo1", "wmo2", "wmo3")):
            add_order(s, f"D{i}", ext, "s1", date(2024, 12, 10 + i), "10.00")
        add_order(s, "O1", "wmo1", "s1", date(2025, 1, 12), "300.00")  # the one who bought again


def test_conversion_repeat_orders(db: Database) -> None:
    seed(db)
    with db.session_scope() as s:
        result = kpis(s, ["s1", "s2"], JAN, DEFAULT)
    s1, s2 = result["members"]
    assert (s1["customers_owned"], s1["customers_new"]) == (7, 4)
    assert (s1["orders"], s1["order_amount"]) == (4, "650.00")
    assert s1["conversion_ratio"] == 0.75            # wmn1, wmn2, wmn4 of four new customers
    assert s1["repeat_ratio"] == round(1 / 3, 4)     # wmo1 of the three December buyers
    assert (s2["orders"], s2["order_amount"], s2["conversion_ratio"], s2["repeat_ratio"]) == (1, "80.00", None, None)
    team = result["team"]
    assert (team["orders"], team["order_amount"], team["customers_new"]) == (5, "730.00", 4)
    assert team["conversion_ratio"] == 0.75 and team["repeat_ratio"] == round(1 / 3, 4)


def test_coverage_and_first_contact(db: Database) -> None:
    seed(db)
    end = at(2025, 1, 31, 12)
    messages = [message("s1", "wmn1", at(2025, 1, 5, 15)),          # first contact within 24 h
                message("s1", "wmn2", at(2025, 1, 7, 9)),           # two days later: late
                message("s1", "wmo1", end - timedelta(days=10)),    # covered
                message("s1", "wmo2", end - timedelta(days=45)),    # too long ago for 30 days
                message("s2", "wmo3", end - timedelta(days=1))]     # someone else: not the owner's coverage
    with db.session_scope() as s:
        apply(s, DEFAULT, messages)
        row = kpis(s, ["s1"], JAN, DEFAULT)["members"][0]
    # wmn1, wmn2, wmo1 of 7 active customers were messaged by their owner in the last 30 days (Jan 2-31)
    assert row["coverage_ratio"] == round(3 / 7, 4)
    assert row["first_contact_24h_ratio"] == 0.25     # wmn1 of four new customers
