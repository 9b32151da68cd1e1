"""Archive hits over time: the same search as the hit list, counted per day (or per month when the
hits span more than two months), in the server's timezone, drawn as an SVG column chart.

The count is itself a look into the archive, so it is written to the audit log like a search.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit
from storage.archive import ArchiveMessage
from storage.archive_query import parse
from storage.archive_search import Filters, search
from wecom_hr.archive.filters import describe
from wecom_hr.web.charts import Bar, count_chart

MAX_COUNTED = 10_000   # only the newest hits are placed on the chart (the title says so): a page load stays fast
DAILY_SPAN_DAYS = 62
MIN_SPAN_DAYS = 14     # a few hits on one day still read as a day, not as a wall
CHUNK = 1000


def _times(session: Session, ids: Sequence[int]) -> list[int]:
    out: list[int] = []
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start:start + CHUNK])
        out.extend(session.scalars(select(ArchiveMessage.msgtime).where(ArchiveMessage.id.in_(chunk))))
    return out


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _months(first: date, last: date) -> list[date]:
    out, cur = [], first.replace(day=1)
    while cur <= last:
        out.append(cur)
        cur = (cur + timedelta(days=32)).replace(day=1)
    return out


def buckets(times_ms: Sequence[int], tz: str) -> list[Bar]:
    zone = ZoneInfo(tz)
    days = [datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone).date() for ms in times_ms]
    if not days:
        return []
    last = max(days)
    first = min(min(days), last - timedelta(days=MIN_SPAN_DAYS - 1))
    if (last - first).days <= DAILY_SPAN_DAYS:
        counts = Counter(days)
        return [Bar(d.isoformat(), d.strftime("%m-%d"), counts[d], f"{counts[d]} 条") for d in _days(first, last)]
    months = Counter(d.replace(day=1) for d in days)
    return [Bar(m.strftime("%Y-%m"), m.strftime("%Y-%m"), months[m], f"{months[m]} 条") for m in _months(first, last)]


def hits_chart(session: Session, actor: str, q: str, filters: Filters, tz: str) -> Markup | None:
    result = search(session, parse(q), filters, limit=MAX_COUNTED)
    audit.record(session, actor, "archive.chart", {"query": q, "filters": describe(filters), "count": result.total,
                                                   "via": "console"})
    bars = buckets(_times(session, result.ids), tz)
    if not bars:
        return None
    ending = f"，图中为最新 {MAX_COUNTED} 条）" if result.total > MAX_COUNTED else "）"
    title = f"命中趋势（共 {result.total} 条{ending}"
    return count_chart("archive-hits", title, bars)
