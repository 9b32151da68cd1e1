"""Periods of local days and the instants that bound them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Period:
    start: date  # first day, inclusive
    end: date    # last day, inclusive
    tz: ZoneInfo

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def begins(self) -> datetime:
        return datetime.combine(self.start, time(0), self.tz)

    @property
    def ends(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.end + timedelta(days=1), time(0), self.tz)

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1), self.tz)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def week_of(day: date, tz: ZoneInfo) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6), tz)
