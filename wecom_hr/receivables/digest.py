"""The digest: one Chinese markdown message per recipient per run — totals first, the worst items
listed, the rest counted. WeCom drops messages beyond 30 a minute to one member, and refuses markdown
content over 2048 bytes (wecom_hr.wecom.markdown.CONTENT_MAX_BYTES), so everything a recipient needs
fits in one message of bounded size. Customer names, order numbers, member names and follow-up
notes are escaped with md_escape: they cannot add links, quotes or headings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from wecom_hr.wecom import markdown as md
from wecom_hr.wecom.markdown import CONTENT_MAX_BYTES, md_escape, md_url

ROLE_TITLES = {
    "own": "您名下逾期 ≥{days} 天的账款",
    "team": "团队逾期 ≥{days} 天的账款（已升级给您）",
    "finance": "逾期 ≥{days} 天，已转催收",
}

NOTE_OVERDUE = "⚠ 跟进说明逾期未填写"


@dataclass(frozen=True)
class Line:
    order_no: str
    customer: str
    outstanding: Decimal
    currency: str
    days_overdue: int
    owner_name: str
    followup: str = ""      # latest 跟进说明, with its promised date
    link: str = ""          # where the owner records a follow-up
    note_overdue: bool = False  # no 跟进说明 [reminders] followup_due_days after the 30-day reminder (issue 17)


@dataclass
class Section:
    tier_days: int
    role: str  # own | team | finance
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)

    def add(self, currency: str, count: int, total: Decimal) -> None:
        self.count += count
        self.totals[currency] = self.totals.get(currency, Decimal("0.00")) + total


def fmt_money(amount: Decimal, currency: str) -> str:
    sign = "¥" if currency == "CNY" else f"{currency} "
    return f"{sign}{amount:,.2f}"


def fmt_totals(totals: Mapping[str, Decimal]) -> str:
    return "，".join(fmt_money(v, c) for c, v in sorted(totals.items(), key=lambda kv: (kv[0] != "CNY", kv[0])))


def _line_text(i: int, line: Line, role: str) -> str:
    text = (f"{i}. {md_escape(line.customer)} · {md_escape(line.order_no, 64)} · "
            f"**{fmt_money(line.outstanding, line.currency)}** · 逾期 {line.days_overdue} 天")
    if role != "own":
        text += f" · 销售 {md_escape(line.owner_name)}"
    if line.followup:
        text += f"\n   > 跟进：{md_escape(line.followup)}"
    elif line.note_overdue and role != "finance":
        text += f"\n   > 跟进：<font color=\"warning\">{NOTE_OVERDUE}</font>"
    elif role == "team":
        text += "\n   > 跟进：<font color=\"warning\">尚无跟进说明</font>"
    if line.link:
        text += f"  [填写跟进说明]({md_url(line.link)})"
    return text


def _rest(section: Section, shown: list[Line]) -> str:
    left = dict(section.totals)
    for line in shown:
        left[line.currency] = left.get(line.currency, Decimal("0.00")) - line.outstanding
    left = {c: v for c, v in left.items() if v > 0}
    return f"…另有 {section.count - len(shown)} 笔未列出，合计 {fmt_totals(left) or '¥0.00'}"


def render(today: date, sections: list[Section], footer: str = "", limit: int = CONTENT_MAX_BYTES) -> str:
    """Greedy within WeCom's limit: every section header always fits; items are added while they fit."""
    count = sum(s.count for s in sections)
    totals: dict[str, Decimal] = {}
    for s in sections:
        for c, v in s.totals.items():
            totals[c] = totals.get(c, Decimal("0.00")) + v
    head = [f"**逾期账款提醒**（{today.isoformat()}）", f"> 共 **{count}** 笔，合计 **{fmt_totals(totals)}**"]
    blocks = [[f"\n**{ROLE_TITLES[s.role].format(days=s.tier_days)}**：{s.count} 笔，{fmt_totals(s.totals)}"]
              for s in sections]
    tail = [footer] if footer else []
    budget = md.Budget(limit, [*head, *(b for block in blocks for b in block), *tail])
    for s in sections:
        if s.count:
            budget.reserve(md.utf8_len(_rest(s, [])) + 1)  # the count line, whatever is shown
    shown: list[list[Line]] = [[] for _ in sections]
    for k, s in enumerate(sections):
        for line in s.lines:
            if not budget.take(_line_text(len(shown[k]) + 1, line, s.role)):
                break
            blocks[k].append(_line_text(len(shown[k]) + 1, line, s.role))
            shown[k].append(line)
    for k, s in enumerate(sections):
        if s.count > len(shown[k]):
            blocks[k].append(_rest(s, shown[k]))
    return md.clamp("\n".join(head + [text for block in blocks for text in block] + tail), limit)
