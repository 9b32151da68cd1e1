"""Every text the departure handover shows in WeCom, in one place: Chinese, short.

Markdown bodies stay under WeCom's 2048-byte cap (wecom_hr.wecom.markdown.CONTENT_MAX_BYTES): lists
are cut at a budget and the rest is counted. Names and other values from WeCom or users are escaped
with md_escape before they go into markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from wecom_hr.wecom import markdown as md
from wecom_hr.wecom.markdown import md_escape, md_url

APPROVE, REJECT = "同意", "驳回"
SUBMIT = "提交"
CARD_SOURCE = "离职交接"
DECISION_TITLE, SUCCESSOR_TITLE = "审批", "接替人"
RESULT_TEXT = {"done": "已转接", "waiting": "等待客户确认", "refused": "客户拒绝", "at_limit": "接替人客户数已满",
               "no_record": "无转接记录", "failed": "转接失败", "skipped": "已不在其名下", "pending": "待转接",
               "sending": "转接中"}
ERRCODE_TEXT = {40128: "90天内已转接两次", 40129: "已有进行中的转接", 40099: "接替人客户数已满",
                40130: "接替人与原跟进人相同", 40131: "不是该成员的客户", 40096: "客户不存在",
                40097: "成员尚未离职", 60111: "成员不存在", 90500: "群主未离职", 90502: "群主已离职",
                90501: "不是客户群", 40050: "群不存在", 90507: "群正在继承中", 90508: "群已继承"}


@dataclass(frozen=True)
class Totals:
    customers: int
    chats: int
    outstanding: Decimal
    overdue: int


def money(amount: Decimal) -> str:
    """¥186,400 (whole yuan) or ¥186,400.50."""
    whole = amount == amount.to_integral_value()
    return f"¥{int(amount):,}" if whole else f"¥{amount:,.2f}"


def summary(totals: Totals) -> str:
    return (f"{totals.customers} 位客户, {totals.chats} 个客户群, 未结账款 {money(totals.outstanding)} "
            f"(逾期 {totals.overdue} 笔)")


def card_title(member_name: str) -> str:
    return f"{member_name} 离职交接"


def card_line(member_name: str, totals: Totals) -> str:
    """The card's one-line gist: 张三 离职交接: 132 位客户, 5 个客户群, 未结账款 ¥186,400 (逾期 3 笔)."""
    return f"{card_title(member_name)}: {summary(totals)}"


def decided(approved: bool, by_name: str, at: datetime, tz: str) -> str:
    """The card's button after a decision: 已同意 by 王经理 at 03-01 10:20."""
    word = "已同意" if approved else "已驳回"
    return f"{word} by {by_name} at {clock(at, tz)}"


CANCELLED_CARD = "已撤销"
SUPERSEDED_CARD = "已失效（已发新卡片）"


def clock(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")


def result_text(status: str, errcode: int | None) -> str:
    base = RESULT_TEXT.get(status, status)
    if errcode:
        return f"{base}（{ERRCODE_TEXT.get(errcode, f'错误码 {errcode}')}）"
    return base


def markdown(content: str) -> dict[str, Any]:
    return md.markdown(content)


def fit(head: Sequence[str], lines: Sequence[str], tail: Sequence[str], hidden: int = 0, unit: str = "位") -> str:
    """head + as many lines as fit + "…及其他 N 位" (N counts ``hidden`` too) + tail, within WeCom's limit."""
    return md.fit_lines(head, lines, tail, lambda n: f"…及其他 {n} {unit}", hidden=hidden)


def refused_notice(member_name: str, lines: Sequence[str], link: str) -> dict[str, Any]:
    """``lines`` are built with escaped values (see notices.refusals)."""
    head = [f"**离职交接：{len(lines)} 位客户未能转接**", f"> {md_escape(member_name)} 的以下客户需要重新安排接替人："]
    tail = [f"[查看交接单并指定新的接替人]({md_url(link)})"]
    return markdown(fit(head, lines, tail))


def refused_line(name: str, is_chat: bool, status: str, errcode: int | None) -> str:
    return f"- {md_escape(name)}{'（客户群）' if is_chat else ''} · {result_text(status, errcode)}"


def briefing(member_name: str, count: int, lines: Sequence[str], link: str, hidden: int = 0) -> dict[str, Any]:
    """``lines`` come from briefing_line (escaped)."""
    head = ["**客户交接简报**", f"> 你已接手 {md_escape(member_name)} 的 {count} 位客户："]
    tail = [f"[查看完整交接单与客户记录]({md_url(link)})"]
    return markdown(fit(head, lines, tail, hidden))


def briefing_line(name: str, last_contact: str | None, outstanding: Decimal, overdue: int) -> str:
    owed = ""
    if outstanding > 0:
        owed = f" · 未结 {money(outstanding)}" + (f"（逾期 {overdue} 笔）" if overdue else "")
    contact = f"最近联系 {md_escape(last_contact, 32)}" if last_contact else "无联系记录"
    return f"- {md_escape(name)} · {contact}{owed}"


def report(member_name: str, customers: dict[str, int], chats: dict[str, int], totals: Totals,
           link: str) -> dict[str, Any]:
    def parts(counts: dict[str, int]) -> str:
        return "，".join(f"{md_escape(RESULT_TEXT.get(k, k))} {v}" for k, v in sorted(counts.items())) or "无"

    lines = [f"**离职交接完成：{md_escape(member_name)}**",
             f"> 客户 {sum(customers.values())} 位：{parts(customers)}",
             f"> 客户群 {sum(chats.values())} 个：{parts(chats)}",
             f"> 未结账款 {money(totals.outstanding)}（逾期 {totals.overdue} 笔）已随客户交给接替人",
             f"[查看交接报告]({md_url(link)})"]
    return markdown("\n".join(lines))


# The handover checklist (标准化交接清单, issue 17).
SIGNOFF_CONFIRM = "确认无误"
SIGNOFF_SOURCE = "离职交接清单"
SIGNOFF_SIGNED_CARD = "已确认"


def signoff_title(member_name: str, step_title: str) -> str:
    return f"{member_name} 离职交接 · {step_title}"[:36]


def signoff_card_line(count: int, outstanding: Decimal, overdue: int) -> str:
    if not count:
        return "该成员名下没有未结账款，请确认。"
    return f"未结账款 {count} 笔，共 {money(outstanding)}（逾期 {overdue} 笔），请核对后确认。"


def signoff_receivable(name: str, order_no: str, outstanding: Decimal, overdue: bool) -> tuple[str, str]:
    """One horizontal_content_list row: keyname ≤ 5 characters, value ≤ 26."""
    return (name or order_no)[:5], f"{order_no} {money(outstanding)}{' 逾期' if overdue else ''}"[:26]


def signed_card(by_name: str, at: datetime, tz: str) -> str:
    return f"{SIGNOFF_SIGNED_CARD} by {by_name} at {clock(at, tz)}"


def rejection_reason_line(reason: str) -> str:
    return f"> 驳回原因：{md_escape(reason, 300)}\n" if reason.strip() else ""
