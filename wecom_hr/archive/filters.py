"""Search filters from request arguments or CLI options, shared so both read them the same way.

Times: epoch milliseconds, an ISO date (``2024-05-01``) or datetime; without a zone they are in
the server's timezone ([server] timezone). A date in ``to`` means the end of that day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from storage.archive_search import Filters


class FilterError(ValueError):
    """A filter value cannot be understood; the message names the parameter."""


def parse_time(value: str, tz: str, name: str, end: bool = False) -> int | None:
    value = value.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        if len(value) > 15:  # epoch milliseconds beyond the year 33000 are not a time
            raise FilterError(f"{name} must be epoch milliseconds of at most 15 digits")
        return int(value)
    try:
        if len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
            moment = datetime(day.year, day.month, day.day)
        else:
            moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        raise FilterError(f"{name} must be a date (2024-05-01), an ISO datetime or epoch milliseconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    try:
        return int(moment.timestamp() * 1000)
    except (OverflowError, OSError, ValueError):
        raise FilterError(f"{name} is out of range") from None


def from_args(args: Mapping[str, str], tz: str) -> Filters:
    def text(name: str) -> str:
        value = (args.get(name) or "").strip()
        if len(value) > 300:
            raise FilterError(f"{name} is too long")
        return value

    time_from = parse_time(args.get("from") or "", tz, "from")
    time_to = parse_time(args.get("to") or "", tz, "to", end=True)
    if time_from is not None and time_to is not None and time_from >= time_to:
        raise FilterError("from must be before to")
    return Filters(sender=text("sender"), customer=text("customer"), room=text("room"), msgtype=text("msgtype"),
                   time_from=time_from, time_to=time_to)


def describe(f: Filters) -> dict[str, object]:
    """The filters as recorded in the audit log (only those that were set)."""
    values = {"sender": f.sender, "customer": f.customer, "room": f.room, "msgtype": f.msgtype,
              "from": f.time_from, "to": f.time_to}
    return {k: v for k, v in values.items() if v not in ("", None)}
