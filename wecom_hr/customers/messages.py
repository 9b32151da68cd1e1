"""Every text the customer pool sends, in one place: Chinese, short, markdown message/send bodies.

WeCom caps markdown content at 4096 bytes; digests list names up to a budget and then count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

REASONS = {"member_deleted": "成员删除了客户", "customer_deleted": "客户删除了成员", "transferred": "已转接给其他成员",
           "missing_in_wecom": "全量同步时企业微信中已无此关系"}
MAX_BYTES = 3800  # below WeCom's 4096 with room for the closing line
MAX_NAMES_PER_LINE = 8


@dataclass(frozen=True)
class AlertLine:
    kind: str          # member_deleted | customer_deleted
    member: str        # display name of the member in the relation
    customer: str      # label of the customer
    at: datetime
    to_member: bool    # the recipient is that member (churn notice) rather than a manager


def markdown(content: str) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": content}}


def customer_label(name: str, corp_name: str = "", external_userid: str = "") -> str:
    base = name or external_userid or "未知客户"
    return f"{base}（{corp_name}）" if corp_name else base


def clock(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")


def member_deleted(line: AlertLine, tz: str) -> dict[str, Any]:
    return markdown(f"**删除客户提醒**\n> 成员：{line.member}\n> 客户：{line.customer}\n"
                    f"> 时间：{clock(line.at, tz)}\n客户资料和历史已保留在企业客户池。")


def customer_deleted(line: AlertLine, tz: str) -> dict[str, Any]:
    if line.to_member:
        return markdown(f"**客户流失提醒**\n> 客户 {line.customer} 已将你删除\n> 时间：{clock(line.at, tz)}\n"
                        "如需挽回，请及时联系主管。")
    return markdown(f"**客户流失提醒**\n> 成员：{line.member}\n> 客户：{line.customer}（客户已删除该成员）\n"
                    f"> 时间：{clock(line.at, tz)}")


def single(line: AlertLine, tz: str) -> dict[str, Any]:
    return member_deleted(line, tz) if line.kind == "member_deleted" else customer_deleted(line, tz)


def digest(lines: Sequence[AlertLine], tz: str) -> dict[str, Any]:
    """One message for one recipient: deletions grouped by member, churn listed after."""
    deleted = [x for x in lines if x.kind == "member_deleted"]
    churned = [x for x in lines if x.kind != "member_deleted"]
    parts = ["**客户变动汇总**"]
    if deleted:
        parts.append(f"成员删除客户 {len(deleted)} 位：")
        parts += _grouped(deleted)
    if churned:
        parts.append(f"客户删除成员 {len(churned)} 位：")
        parts += _grouped(churned, you=True)
    parts.append("客户资料和历史均已保留在企业客户池。")
    return markdown(_fit(parts))


def _grouped(lines: Sequence[AlertLine], you: bool = False) -> list[str]:
    by_member: dict[str, list[str]] = {}
    for x in lines:
        by_member.setdefault("你" if you and x.to_member else x.member, []).append(x.customer)
    out = []
    for member, customers in by_member.items():
        shown = "、".join(customers[:MAX_NAMES_PER_LINE])
        more = f" 等 {len(customers)} 位" if len(customers) > MAX_NAMES_PER_LINE else ""
        out.append(f"> {member}：{shown}{more}")
    return out


def _fit(parts: list[str]) -> str:
    head, body, tail = parts[0], parts[1:-1], parts[-1]
    size = len(f"{head}\n{tail}\n> …（更多请在客户池查看）".encode())
    kept: list[str] = []
    for line in body:
        size += len(line.encode()) + 1
        if size > MAX_BYTES:
            kept.append("> …（更多请在客户池查看）")
            break
        kept.append(line)
    return "\n".join([head, *kept, tail])


def risk(member: str, count: int, threshold: int, day: str) -> dict[str, Any]:
    return markdown(f"**风险提醒：成员频繁删除客户**\n> 成员：{member}\n> {day} 已删除客户：{count} 位"
                    f"（阈值 {threshold}）\n请关注是否存在带走客户的风险。")
