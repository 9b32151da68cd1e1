"""`wecom-hr kpi rebuild [--from DAY]`: the aggregates again from the archive, in arrival order.

From a day: that day's and later aggregates are replaced (its week's row keeps the days before it);
replies still awaited are found again from a week before (LOOKBACK_DAYS), whose own replies are not
counted twice. Without --from, everything.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, select

from storage.archive import ArchiveMessage
from storage.db import Database
from storage.kpi import KpiAwaiting, KpiContact, KpiContactDay, KpiMemberDay, KpiMemberWeek
from wecom_hr.kpi.replies import apply, refold_week
from wecom_hr.kpi.settings import KpiSettings
from wecom_hr.kpi.worktime import ms_of

LOOKBACK_DAYS = 7
CHUNK = 20_000
COLUMNS = (ArchiveMessage.id, ArchiveMessage.action, ArchiveMessage.msgtype, ArchiveMessage.sender,
           ArchiveMessage.tolist, ArchiveMessage.roomid, ArchiveMessage.customer, ArchiveMessage.msgtime)


def _clear(db: Database, since: date | None, settings: KpiSettings) -> None:
    with db.session_scope() as s:
        s.execute(delete(KpiAwaiting))
        if since is None:
            for model in (KpiContact, KpiContactDay, KpiMemberDay, KpiMemberWeek):
                s.execute(delete(model))
            return
        s.execute(delete(KpiMemberDay).where(KpiMemberDay.day >= since))
        monday = since - timedelta(days=since.weekday())
        s.execute(delete(KpiMemberWeek).where(KpiMemberWeek.week > monday))
        refold_week(s, monday, since)  # its days before ``since`` stay; the rest is added back below
        s.execute(delete(KpiContactDay).where(KpiContactDay.day >= since))
        s.execute(delete(KpiContact).where(KpiContact.first_ms >= _start_ms(since, settings)))


def _start_ms(day: date, settings: KpiSettings) -> int:
    return ms_of(datetime.combine(day, time(0), settings.tz))


def rebuild(db: Database, settings: KpiSettings, since: date | None = None,
            progress: Callable[[int], None] | None = None) -> dict[str, int]:
    _clear(db, since, settings)
    low = _start_ms(since - timedelta(days=LOOKBACK_DAYS), settings) if since else 0
    after, messages, replies = 0, 0, 0
    while True:
        with db.session_scope() as s:
            rows = s.execute(select(*COLUMNS).where(ArchiveMessage.id > after, ArchiveMessage.msgtime >= low)
                             .order_by(ArchiveMessage.id).limit(CHUNK)).all()
            if not rows:
                break
            replies += apply(s, settings, rows, record_from=since)  # type: ignore[arg-type]
        after, messages = rows[-1].id, messages + len(rows)
        if progress:
            progress(messages)
    return {"messages": messages, "replies": replies}
