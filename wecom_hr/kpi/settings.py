"""The [kpi] section, parsed once at start-up so a wrong key stops the process early.

    [kpi]
    work_hours = "09:00-18:00"   # working time of a day, local
    work_days = "mon-fri"        # "mon-fri", "mon-sat", or a list such as "mon,tue,thu"
    timezone = ""                # default: [server] timezone
    reply_sla_minutes = 30       # a reply within this much working time counts as on time
    coverage_days = 30           # coverage: owned active customers messaged in the last N days
    first_contact_hours = 24     # a new customer's first message from the owner within this many hours
    anomaly_threshold = 0.5      # |change| against the previous 4 weeks that counts as an anomaly

The digest's schedule is its job's own: [jobs.kpi-weekly-digest] (Monday 09:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wecom_hr.config import ConfigError, Settings, dataclass_from
from wecom_hr.kpi.worktime import DAY_NAMES, WorkCalendar


@dataclass(frozen=True)
class KpiSection:
    work_hours: str = "09:00-18:00"
    work_days: str = "mon-fri"
    timezone: str = ""
    reply_sla_minutes: int = 30
    coverage_days: int = 30
    first_contact_hours: int = 24
    anomaly_threshold: float = 0.5


@dataclass(frozen=True)
class KpiSettings:
    calendar: WorkCalendar
    reply_sla_seconds: int = 30 * 60
    coverage_days: int = 30
    first_contact_seconds: int = 24 * 3600
    anomaly_threshold: float = 0.5

    @property
    def tz(self) -> ZoneInfo:
        return self.calendar.tz


DEFAULT = KpiSettings(WorkCalendar(time(9), time(18), frozenset(range(5)), ZoneInfo("Asia/Shanghai")))


def from_settings(settings: Settings) -> KpiSettings:
    raw = dataclass_from(KpiSection, settings.section("kpi"), "kpi")
    if raw.reply_sla_minutes < 1:
        raise ConfigError("kpi.reply_sla_minutes", "must be at least 1")
    if not 1 <= raw.coverage_days <= 365:
        raise ConfigError("kpi.coverage_days", "must be 1..365")
    if not 1 <= raw.first_contact_hours <= 24 * 30:
        raise ConfigError("kpi.first_contact_hours", "must be 1..720")
    if raw.anomaly_threshold <= 0:
        raise ConfigError("kpi.anomaly_threshold", "must be more than 0")
    calendar = WorkCalendar(*_hours(raw.work_hours), _days(raw.work_days), _zone(raw.timezone or settings.timezone))
    return KpiSettings(calendar, raw.reply_sla_minutes * 60, raw.coverage_days, raw.first_contact_hours * 3600,
                       float(raw.anomaly_threshold))


def _hours(text: str) -> tuple[time, time]:
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ConfigError("kpi.work_hours", 'must look like "09:00-18:00"') from None
    if start >= end:
        raise ConfigError("kpi.work_hours", "must end after it starts")
    return start, end


def _days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in (p.strip().lower() for p in text.split(",")):
        ends = [e.strip() for e in part.split("-")]
        if not all(e in DAY_NAMES for e in ends) or len(ends) > 2:
            raise ConfigError("kpi.work_days", 'must name days like "mon-fri" or "mon,wed,fri"')
        first, last = DAY_NAMES.index(ends[0]), DAY_NAMES.index(ends[-1])
        days.update(range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)])
    return frozenset(days)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("kpi.timezone", f"unknown timezone {name!r}") from None
