"""Every text the customer pool sends, in one place: Chinese, short, markdown message/send bodies.

WeCom refuses app-message content over 2048 bytes (wecom_hr.wecom.markdown.CONTENT_MAX_BYTES);
digests list names while they fit and then count. Every name, remark or label that came from WeCom
or a user is escaped with md_escape, so a nickname cannot add links, quotes or headings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from wecom_hr.wecom import markdown as md
from wecom_hr.wecom.markdown import md_escape

REASONS = {"member_deleted": "成员删除了客户", "customer_deleted": "客户删除了成员", "transferred": "已转接给其他成员",
           "missing_in_wecom": "全量同步时企业微信中已无此关系"}
MAX_NAMES_PER_LINE = 8
LINE_MAX_BYTES = 600  # one member's line of names; the rest of that member's names are counted
MORE_TEXT = "…另有 {n} 位客户未列出，请在企业客户池查看"


@dataclass(frozen=True)
class AlertLine:
    kind: str          # member_deleted | customer_deleted
    member: str        # display name of the member in the relation
    customer: str      # label of the customer
    at: datetime
    to_member: bool    # the recipient is that member (churn notice) rather than a manager


def markdown(content: str) -> dict[str, Any]:
    return md.markdown(content)


def customer_label(name: str, corp_name: str = "", external_userid: str = "") -> str:
    base = name or external_userid or "未知客户"
    return f"{base}（{corp_name}）" if corp_name else base


def clock(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")


def member_deleted(line: AlertLine, tz: str) -> dict[str, Any]:
    return markdown(f"**删除客户提醒**\n> 成员：{md_escape(line.member)}\n> 客户：{md_escape(line.customer)}\n"
                    f"> 时间：{clock(line.at, tz)}\n客户资料和历史已保留在企业客户池。")


def customer_deleted(line: AlertLine, tz: str) -> dict[str, Any]:
    member, customer = md_escape(line.member), md_escape(line.customer)
    if line.to_member:
        return markdown(f"**客户流失提醒**\n> 客户 {customer} 已将你删除\n> 时间：{clock(line.at, tz)}\n"
                        "如需挽回，请及时联系主管。")
    return markdown(f"**客户流失提醒**\n> 成员：{member}\n> 客户：{customer}（客户已删除该成员）\n"
                    f"> 时间：{clock(line.at, tz)}")


def single(line: AlertLine, tz: str) -> dict[str, Any]:
    return member_deleted(line, tz) if line.kind == "member_deleted" else customer_deleted(line, tz)


def digest(lines: Sequence[AlertLine], tz: str) -> dict[str, Any]:
    """One message for one recipient: deletions grouped by member, churn listed after."""
    deleted = [x for x in lines if x.kind == "member_deleted"]
    churned = [x for x in lines if x.kind != "member_deleted"]
    body: list[tuple[str, int]] = []  # (line, customers it stands for)
    if deleted:
        body.append((f"成员删除客户 {len(deleted)} 位：", 0))
        body += _grouped(deleted)
    if churned:
        body.append((f"客户删除成员 {len(churned)} 位：", 0))
        body += _grouped(churned, you=True)
    content = md.fit_lines(["**客户变动汇总**"], [t for t, _ in body], ["客户资料和历史均已保留在企业客户池。"],
                           lambda n: MORE_TEXT.format(n=n), weights=[w for _, w in body])
    return markdown(content)


def _grouped(lines: Sequence[AlertLine], you: bool = False) -> list[tuple[str, int]]:
    """One line per member: names while the line stays short (at most 8), then "等 N 位"."""
    by_member: dict[str, list[str]] = {}
    for x in lines:
        by_member.setdefault("你" if you and x.to_member else md_escape(x.member), []).append(md_escape(x.customer))
    out = []
    for member, customers in by_member.items():
        shown = [customers[0]]
        for name in customers[1:MAX_NAMES_PER_LINE]:
            if md.utf8_len(f"> {member}：{'、'.join([*shown, name])} 等 {len(customers)} 位") > LINE_MAX_BYTES:
                break
            shown.append(name)
        more = f" 等 {len(customers)} 位" if len(customers) > len(shown) else ""
        out.append((f"> {member}：{'、'.join(shown)}{more}", len(customers)))
    return out


def risk(member: str, count: int, threshold: int, day: str) -> dict[str, Any]:
    return markdown(f"**风险提醒：成员频繁删除客户**\n> 成员：{md_escape(member)}\n> {day} 已删除客户：{count} 位"
                    f"（阈值 {threshold}）\n请关注是否存在带走客户的风险。")
