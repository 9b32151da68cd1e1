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
from wecom_hr.wecom import markdown as md
from wecom_hr.wecom.markdown import md_escape

RANK = {"high": 0, "medium": 1, "low": 2}
MAX_LINES = 10
SNIPPET_CHARS = 60
MORE_TEXT = "…另有 {n} 条命中未列出，见会话存档控制台"


def rule_label(session: Session, key: str) -> str:
    kind, _, name = key.partition(":")
    if kind == "api" and name.isdigit():
        row = session.get(WatchRuleRow, int(name))
        return row.name if row else key
    return name or key


def _content(session: Session, hits: list[WatchHit], since: datetime, now: datetime) -> str:
    """Totals, hits per rule, then the first hits; rule names and chat text are escaped (they are
    user input), and the whole fits WeCom's limit with the left-out hits counted."""
    per_rule = Counter(rule_label(session, h.rule) for h in hits)
    severe = sum(h.severity == "high" for h in hits)
    head = [f"**会话存档预警日报** {since:%m-%d %H:%M} – {now:%m-%d %H:%M} UTC",
            f"命中 {len(hits)} 条，其中高风险 <font color=\"warning\">{severe}</font> 条", ""]
    lines = [f"- {md_escape(name)}: {count}" for name, count in per_rule.most_common()]
    lines.append("")
    weights = [0] * len(lines)
    for h in hits[:MAX_LINES]:
        lines.append(f"> {md_escape(rule_label(session, h.rule))} · {md_escape(h.sender)} → "
                     f"{md_escape(h.customer) or '-'}: {md_escape(h.snippet, SNIPPET_CHARS)}")
        weights.append(1)
    return md.fit_lines(head, lines, (), lambda n: MORE_TEXT.format(n=n),
                        hidden=max(len(hits) - MAX_LINES, 0), weights=weights)


def send_digest(session: Session, recipients: list[str], now: datetime,
                window: timedelta = timedelta(days=1)) -> dict[str, Any]:
    since = now - window
    hits = list(session.scalars(select(WatchHit).where(WatchHit.hit_at >= since, WatchHit.hit_at < now)
                                .order_by(WatchHit.hit_at.desc())))
    hits.sort(key=lambda h: RANK.get(h.severity, 9))  # stable: newest first within a severity
    if not hits or not recipients:
        return {"hits": len(hits), "queued": False}
    payload = md.markdown(_content(session, hits, since, now))
    key = f"archive-digest:{now:%Y-%m-%d}"
    if outbox.by_key(session, key) is not None:  # today's digest went out already
        return {"hits": len(hits), "queued": False}
    outbox.enqueue(session, key, "archive_digest", recipients, payload, now=now)
    return {"hits": len(hits), "queued": True}
