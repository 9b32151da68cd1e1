"""Working time between two instants: only the working hours of working days count, local time.

A customer who writes at 17:50 on Friday and is answered at 09:10 on Monday waited 20 minutes of
working time (10 on Friday, 10 on Monday), however long the weekend was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class WorkCalendar:
    start: time
    end: time
    days: frozenset[int]  # 0 = Monday
    tz: ZoneInfo

    def local_day(self, ms: int) -> date:
        return _day_of(self.tz, ms // QUARTER_MS)

    def _window(self, day: date) -> tuple[float, float]:
        return _window_of(self, day)

    def seconds(self, start_ms: int, end_ms: int) -> int:
        """Working seconds in [start, end] (0 when end is not after start)."""
        if end_ms <= start_ms:
            return 0
        first, last = self.local_day(start_ms), self.local_day(end_ms)
        a, b = start_ms / 1000, end_ms / 1000
        if first == last:
            return int(round(self._overlap(first, a, b)))
        total = self._overlap(first, a, b) + self._overlap(last, a, b)
        middle = (last - first).days - 1  # whole days between: whole weeks at once, so a late reply stays cheap
        weeks, rest = divmod(middle, 7)
        total += weeks * self._week
        total += sum(self._full(first + timedelta(days=1 + weeks * 7 + d)) for d in range(rest))
        return int(round(total))

    def _overlap(self, day: date, a: float, b: float) -> float:
        if day.weekday() not in self.days:
            return 0.0
        opens, closes = self._window(day)
        return max(0.0, min(b, closes) - max(a, opens))

    @property
    def _week(self) -> float:
        return _week_of(self)

    def _full(self, day: date) -> float:
        if day.weekday() not in self.days:
            return 0.0
        opens, closes = self._window(day)
        return closes - opens


# Local days change on a quarter hour in every zone in use today: the instants of one quarter hour
# share a day, so the day is computed once per quarter hour (the listener asks for every message).
QUARTER_MS = 900_000


@lru_cache(maxsize=8192)
def _day_of(tz: ZoneInfo, quarter: int) -> date:
    return datetime.fromtimestamp(quarter * QUARTER_MS / 1000, tz).date()


@lru_cache(maxsize=8192)
def _window_of(cal: WorkCalendar, day: date) -> tuple[float, float]:
    opens = datetime.combine(day, cal.start, cal.tz).timestamp()
    return opens, datetime.combine(day, cal.end, cal.tz).timestamp()


@lru_cache(maxsize=64)
def _week_of(cal: WorkCalendar) -> float:
    """Working seconds of a whole week (any seven days in a row; DST shifts aside)."""
    monday = date(2001, 1, 1)
    return sum(cal._full(monday + timedelta(days=d)) for d in range(7))


def ms_of(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)
