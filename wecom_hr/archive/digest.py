"""The daily watch-list digest: one markdown message per day to the compliance officers.

Real-time cards say "this just happened"; the digest says "this is what the day looked like" and
catches what a busy officer swiped away. Queued once per day (the outbox key is the date).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import outbox
from storage.archive import WatchHit, WatchRuleRow

RANK = {"high": 0, "medium": 1, "low": 2}
MAX_LINES = 10
MAX_BYTES = 2000  # WeCom markdown content is limited to 2048 bytes


def rule_label(session: Session, key: str) -> str:
    kind, _, name = key.partition(":")
    if kind == "api" and name.isdigit():
        row = session.get(WatchRuleRow, int(name))
        return row.name if row else key
    return name or key


def _content(session: Session, hits: list[WatchHit], since: datetime, now: datetime) -> str:
    per_rule = Counter(rule_label(session, h.rule) for h in hits)
    severe = sum(h.severity == "high" for h in hits)
    lines = [f"**会话存档预警日报** {since:%m-%d %H:%M} – {now:%m-%d %H:%M} UTC",
             f"命中 {len(hits)} 条，其中高风险 <font color=\"warning\">{severe}</font> 条", ""]
    lines += [f"- {name}: {count}" for name, count in per_rule.most_common()]
    lines.append("")
    for h in hits[:MAX_LINES]:
        lines.append(f"> {rule_label(session, h.rule)} · {h.sender} → {h.customer or '-'}: {h.snippet[:60]}")
    text = "\n".join(lines)
    while len(text.encode()) > MAX_BYTES:
        text = text[: len(text) - 50]
    return text


def send_digest(session: Session, recipients: list[str], now: datetime,
                window: timedelta = timedelta(days=1)) -> dict[str, Any]:
    since = now - window
    hits = list(session.scalars(select(WatchHit).where(WatchHit.hit_at >= since, WatchHit.hit_at < now)
                                .order_by(WatchHit.hit_at.desc())))
    hits.sort(key=lambda h: RANK.get(h.severity, 9))  # stable: newest first within a severity
    if not hits or not recipients:
        return {"hits": len(hits), "queued": False}
    payload = {"msgtype": "markdown", "markdown": {"content": _content(session, hits, since, now)}}
    key = f"archive-digest:{now:%Y-%m-%d}"
    if outbox.by_key(session, key) is not None:  # today's digest went out already
        return {"hits": len(hits), "queued": False}
    outbox.enqueue(session, key, "archive_digest", recipients, payload, now=now)
    return {"hits": len(hits), "queued": True}
