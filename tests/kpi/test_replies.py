"""Reply times on a hand-made conversation with a known answer: working time skips the night and
the weekend; message time does not. Fed through the MESSAGES_ARCHIVED listener in two batches."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from storage.archive_store import append_messages
from storage.db import Database, utcnow
from storage.kpi import KpiAwaiting, KpiMemberDay, KpiMemberWeek
from tests.helpers import base_config
from tests.kpi.conftest import SH, at, message
from wecom_hr.config import settings_from_mapping
from wecom_hr.dispatch import HandlerContext
from wecom_hr.kpi.period import Period
from wecom_hr.kpi.rebuild import rebuild
from wecom_hr.kpi.replies import apply
from wecom_hr.kpi.report import kpis
from wecom_hr.kpi.settings import from_settings
from wecom_hr.runtime import Runtime
from wecom_hr.signals import MESSAGES_ARCHIVED, emit

S, C1, C2 = "seller1", "wmcustomer1", "wmcustomer2"
PERIOD = Period(date(2025, 1, 6), date(2025, 1, 19), SH)


def conversation() -> tuple[list, list]:  # type: ignore[type-arg]
    first = [
        message(C1, S, at(2025, 1, 8, 10, 0)),                  # Wed 10:00 asks
        message(C1, S, at(2025, 1, 8, 10, 1)),                  # ... and again: still waiting since 10:00
        message(S, C1, at(2025, 1, 8, 10, 5)),                  # reply: 300 s, 300 s
        message(S, C1, at(2025, 1, 8, 10, 6)),                  # a follow-up, not a reply
        message(C1, S, at(2025, 1, 8, 17, 50)),                 # Wed 17:50 asks
        message(C1, "other1", at(2025, 1, 8, 17, 55), roomid="room1"),  # a group: not counted
    ]
    second = [
        message(S, C1, at(2025, 1, 9, 9, 10)),                  # Thu 09:10: 1200 s working, 55200 s message time
        message(C1, S, at(2025, 1, 10, 17, 30)),                # Fri 17:30 asks
        message(C2, S, at(2025, 1, 11, 12, 0)),                 # Sat 12:00 another customer asks
        message(S, C2, at(2025, 1, 13, 9, 20)),                 # Mon 09:20: 1200 s working, 163200 s
        message(S, C1, at(2025, 1, 13, 9, 30)),                 # Mon 09:30: 3600 s working, 230400 s
    ]
    return first, second


def _values(hist: list[list[int]]) -> list[int]:
    """The seconds of a histogram whose buckets hold one reply each: [[bound, count, sum], ...]."""
    assert all(n == 1 for _, n, _ in hist)
    return [s for _, _, s in hist]


def _runtime(db: Database) -> Runtime:
    return Runtime(settings_from_mapping(base_config("http://127.0.0.1:9", db.url), environ={}), db=db)


def test_reply_time_across_night_and_weekend(db: Database) -> None:
    runtime = _runtime(db)
    settings = from_settings(runtime.settings)
    for batch in conversation():
        with db.session_scope() as s:
            emit(MESSAGES_ARCHIVED, HandlerContext(runtime, s, 0, utcnow()), batch)
    with db.session_scope() as s:
        row = kpis(s, [S], PERIOD, settings)["members"][0]
        days = {d.day: (_values(d.work_hist), _values(d.wall_hist)) for d in s.scalars(select(KpiMemberDay))}
        weeks = {w.week: (w.reply_count, _values(w.work_hist)) for w in s.scalars(select(KpiMemberWeek))}
        assert s.scalars(select(KpiAwaiting)).all() == []
    assert days == {date(2025, 1, 8): ([300], [300]), date(2025, 1, 9): ([1200], [55200]),
                    date(2025, 1, 13): ([1200, 3600], [163200, 230400])}
    assert weeks == {date(2025, 1, 6): (2, [300, 1200]), date(2025, 1, 13): (2, [1200, 3600])}
    # working seconds [300, 1200, 1200, 3600]: median 1200, p90 1200 + 0.7 * 2400, 3 of 4 within 30 min
    assert (row["reply_count"], row["reply_median_seconds"], row["reply_p90_seconds"]) == (4, 1200, 2880)
    assert row["reply_within_sla_ratio"] == 0.75


def test_a_period_reads_whole_weeks_and_the_days_at_its_ends(db: Database) -> None:
    settings = from_settings(_runtime(db).settings)
    first, second = conversation()
    with db.session_scope() as s:
        apply(s, settings, [*first, *second])
        thu_to_mon = kpis(s, [S], Period(date(2025, 1, 9), date(2025, 1, 13), SH), settings)["members"][0]
        tue_to_sun = kpis(s, [S], Period(date(2025, 1, 7), date(2025, 1, 19), SH), settings)["members"][0]
    assert (thu_to_mon["reply_count"], thu_to_mon["reply_median_seconds"]) == (3, 1200)  # 1200, 1200, 3600
    assert (tue_to_sun["reply_count"], tue_to_sun["reply_p90_seconds"]) == (4, 2880)     # days, then a week


def test_sla_and_hours_come_from_config(db: Database) -> None:
    raw = base_config("http://127.0.0.1:9", db.url, kpi={"reply_sla_minutes": 10, "work_hours": "09:00-17:00",
                                                        "work_days": "mon-sat"})
    settings = from_settings(settings_from_mapping(raw, environ={}))
    first, second = conversation()
    with db.session_scope() as s:
        apply(s, settings, [*first, *second])
        row = kpis(s, [S], PERIOD, settings)["members"][0]
    # Thu reply 600 s (17:50 is after hours); Sat 12:00 -> Mon 09:20: 5 h on Saturday + 1200 s;
    # Fri 17:30 -> Mon 09:30: nothing on Friday, 8 h on Saturday, 1800 s on Monday.
    assert row["reply_count"] == 4
    assert row["reply_median_seconds"] == (600 + 19200) / 2
    assert row["reply_within_sla_ratio"] == 0.5  # 300 s and 600 s are within 10 minutes


def test_rebuild_from_the_archive_gives_the_same_figures(db: Database) -> None:
    settings = from_settings(_runtime(db).settings)
    first, second = conversation()
    with db.session_scope() as s:
        append_messages(s, [*first, *second])
    assert rebuild(db, settings)["replies"] == 4
    with db.session_scope() as s:
        full = kpis(s, [S], PERIOD, settings)
    assert full["members"][0]["reply_median_seconds"] == 1200
    rebuild(db, settings, since=date(2025, 1, 9))  # replaces from Thursday; Wednesday's reply is not counted twice
    with db.session_scope() as s:
        assert kpis(s, [S], PERIOD, settings) == full
