"""The reminder run without the network: tiers, time zones, exactly once, payments, routing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from storage import directory
from storage.db import Database
from storage.receivables import PAID, QUEUED, ReminderLog, add_payment, by_order
from tests.receivables.conftest import NOW, TODAY, by_user, item, load, make_settings, queued
from wecom_hr.receivables import recipients, reminders


def run(db: Database, settings: Any, now: datetime = NOW, **kw: Any) -> dict[str, Any]:
    return reminders.run(db, settings, now, **kw)


def tiers_logged(db: Database) -> dict[str, list[int]]:
    from storage.receivables import Receivable

    with db.session_scope() as s:
        rows = s.execute(select(Receivable.order_no, ReminderLog.tier_days)
                         .join(ReminderLog, ReminderLog.receivable_id == Receivable.id)
                         .order_by(Receivable.order_no, ReminderLog.tier_days)).all()
    out: dict[str, list[int]] = {}
    for order_no, days in rows:
        out.setdefault(order_no, []).append(days)
    return out


def test_tier_boundaries(rdb: Database, settings: Any) -> None:
    load(rdb, *(item(f"D{d}", d) for d in (0, 29, 30, 59, 60, 89, 90)))
    run(rdb, settings)
    assert tiers_logged(rdb) == {"D30": [30], "D59": [30], "D60": [30, 60], "D89": [30, 60], "D90": [30, 60, 90]}
    got = by_user(rdb)
    assert set(got) == {"alice", "mgr", "fin1"}
    assert "D29" not in got["alice"][0] and "D30" in got["alice"][0] and "D90" in got["alice"][0]
    assert "D59" not in got["mgr"][0] and "D60" in got["mgr"][0]
    assert "D89" not in got["fin1"][0] and "D90" in got["fin1"][0]


def test_days_count_in_the_configured_time_zone_around_midnight(rdb: Database, db_url: str) -> None:
    # Due 2026-03-02: 30 days overdue from 2026-04-01 local. 23:59 Shanghai on 03-31 is still day 29.
    load(rdb, item("Z1", 0, today=TODAY - timedelta(days=30)))
    late = make_settings(db_url, {"reminders": {"send_time": "00:00"}})
    before = datetime(2026, 3, 31, 23, 59, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert run(rdb, late, before)["claimed"] == 0
    # 00:00 Shanghai is still 03-31 in UTC: the local date counts, not the UTC one.
    assert run(rdb, late, datetime(2026, 3, 31, 16, 0, tzinfo=ZoneInfo("UTC")))["claimed"] == 1
    # The same instant in New York is 03-31 12:00: with that time zone the tier is not reached yet.
    load(rdb, item("Z2", 0, today=TODAY - timedelta(days=30)))
    ny = make_settings(db_url, {"reminders": {"send_time": "00:00", "timezone": "America/New_York"}})
    assert run(rdb, ny, datetime(2026, 3, 31, 16, 0, tzinfo=ZoneInfo("UTC")))["claimed"] == 0


def test_a_second_run_the_same_day_sends_nothing_new(rdb: Database, settings: Any) -> None:
    load(rdb, item("A1", 45), item("A2", 70, owner="bob"))
    first = run(rdb, settings)
    assert first["messages"] == 3 and first["claimed"] == 3  # alice, bob, and mgr for A2 at 60
    second = run(rdb, settings, NOW + timedelta(hours=3))
    assert second["claimed"] == 0 and second["messages"] == 0
    assert len(queued(rdb)) == 3


def test_crash_in_the_middle_then_rerun_sends_only_what_is_missing(rdb: Database, settings: Any) -> None:
    with rdb.session_scope() as s:
        for i in range(60):  # 60 salespeople: more than one commit batch of digests
            directory.upsert_member(s, f"s{i:02d}", name=f"销售{i}", departments=[2], leader_in=[0])
    load(rdb, *(item(f"C{i:02d}", 35, owner=f"s{i:02d}") for i in range(60)))

    def crash_after(n: int) -> None:
        if n == 55:
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        run(rdb, settings, after_enqueue=crash_after)
    survived = {m.touser for m in queued(rdb)}
    assert len(survived) == reminders.COMMIT_EVERY  # the batch being written died with the process
    again = run(rdb, settings, NOW + timedelta(minutes=5))
    assert again["claimed"] == 0 and again["messages"] == 60 - reminders.COMMIT_EVERY
    users = [m.touser for m in queued(rdb)]
    assert sorted(users) == sorted(f"s{i:02d}" for i in range(60))  # each exactly once
    with rdb.session_scope() as s:
        assert set(s.scalars(select(ReminderLog.status))) == {QUEUED}
    assert run(rdb, settings, NOW + timedelta(hours=1))["messages"] == 0


def test_payment_stops_escalation(rdb: Database, settings: Any) -> None:
    load(rdb, item("P1", 40), item("P2", 40))
    run(rdb, settings)
    load(rdb, item("P1", 40, paid="1000.00"))  # paid in full through a re-import
    later = NOW + timedelta(days=25)
    result = run(rdb, settings, later)
    assert tiers_logged(rdb) == {"P1": [30], "P2": [30, 60]}
    assert result["messages"] == 1
    assert "P1" not in by_user(rdb)["mgr"][0]


def test_payment_between_claim_and_send_cancels_the_reminder(rdb: Database, settings: Any) -> None:
    load(rdb, item("Q1", 40), item("Q2", 40))

    def pay_q1(n: int) -> None:
        raise RuntimeError("stop after claiming")

    with pytest.raises(RuntimeError):
        run(rdb, settings, after_enqueue=pay_q1)
    with rdb.session_scope() as s:
        row = by_order(s, "Q1")
        assert row is not None
        add_payment(s, row, row.outstanding, TODAY, source="api")
    result = run(rdb, settings)
    assert result["cancelled"] == 1
    content = by_user(rdb)["alice"][0]
    assert "Q2" in content and "Q1" not in content


def test_partial_payments_show_what_is_still_owed(rdb: Database, settings: Any) -> None:
    load(rdb, item("R1", 31, amount="12000.00", paid="2000.00"))
    with rdb.session_scope() as s:
        row = by_order(s, "R1")
        assert row is not None
        add_payment(s, row, row.outstanding - 500, TODAY, source="api", reference="bank-1")
        assert not add_payment(s, row, row.outstanding, TODAY, source="api", reference="bank-1")
        assert row.status != PAID and str(row.outstanding) == "500.00"
    run(rdb, settings)
    content = by_user(rdb)["alice"][0]
    assert "¥500.00" in content and "¥12,000.00" not in content


def test_departed_owner_items_go_to_manager_and_successor(rdb: Database, settings: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with rdb.session_scope() as s:
        directory.upsert_member(s, "bob", status=directory.LEFT)
    # A lookup of our own beside the departures module's (restored afterwards, not emptied).
    monkeypatch.setattr(recipients, "SUCCESSOR_LOOKUP", [*recipients.SUCCESSOR_LOOKUP,
                                                         lambda session, userid: "carol" if userid == "bob" else None])
    load(rdb, item("L1", 35, owner="bob"))
    run(rdb, settings)
    got = by_user(rdb)
    assert set(got) == {"mgr", "carol"}
    assert "L1" in got["mgr"][0] and "已升级给您" in got["carol"][0]


def test_owner_without_manager_escalates_to_finance(rdb: Database, settings: Any) -> None:
    load(rdb, item("N1", 65, owner="ghost"))  # not in the directory at all
    run(rdb, settings)
    got = by_user(rdb)
    assert set(got) == {"ghost", "fin1"}


def test_hold_on_weekends_quiet_hours_and_before_send_time(rdb: Database, db_url: str) -> None:
    load(rdb, item("W1", 40))
    s = make_settings(db_url, {"reminders": {"skip_weekends": True, "quiet_hours": "12:00-14:00"}})
    saturday = datetime(2026, 4, 4, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert run(rdb, s, saturday) == {"held": "weekend"}
    assert run(rdb, s, NOW.replace(hour=13)) == {"held": "quiet hours"}
    assert run(rdb, s, NOW.replace(hour=8))["held"].startswith("before send time")
    assert run(rdb, s, saturday + timedelta(days=2))["claimed"] == 1  # Monday picks it up


def test_one_digest_per_recipient_with_the_rest_counted(rdb: Database, settings: Any) -> None:
    load(rdb, *(item(f"M{i:03d}", 30 + i, amount=f"{1000 + i}.00") for i in range(120)))
    result = run(rdb, settings)
    got = by_user(rdb)
    assert result["messages"] == 3 and all(len(v) == 1 for v in got.values())
    for content in (v[0] for v in got.values()):
        assert len(content.encode()) <= 2048
        assert "未列出" in content
    assert "共 **120** 笔" in got["alice"][0]
    with rdb.session_scope() as s:
        # days 30..149: all at 30, 90 at 60, 60 at 90
        assert s.scalar(select(func.count()).select_from(ReminderLog)) == 120 + 90 + 60
