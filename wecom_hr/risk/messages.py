"""Every text the risk feature shows (cards, API errors) and the WeCom card of an alert.

Template cards are plain text: customer words go in as they are, with control characters removed,
whitespace collapsed and each field cut to WeCom's length.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

KIND_LABELS = {"off_assignment": "非分配客户跟进", "contact_diversion": "联系方式外泄", "deletions": "删除客户",
               "churn_after_handover": "交接后流失"}
SHAPE_LABELS = {"mobile": "手机号", "wechat": "微信号", "bank_card": "银行卡号", "alipay": "支付宝", "email": "邮箱",
                "shop": "其他店铺", "qr_code": "二维码图片"}
CARD_SOURCE = "跑单预警"
NO_SUCH_ALERT = "no such alert"
NO_SUCH_CUSTOMER = "no such customer"
NOT_YOUR_TEAM = "you may change owners only within your team"
OWNER_ROLE = "only managers (their team) and admins change owners"
UNKNOWN_MEMBER = "owner must be an active member in the directory"
SEND_OBJECT = "send a JSON object"
BAD_NOTE = "note must be text of at most 2000 characters"
FINAL_STATUS = "the case is closed ({status}); it cannot change"
BAD_STATUS = "status must be one of {allowed}"
ALERTS_ROLE = "your role does not allow this"


def plain(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters, without control characters."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text[:limit * 4]).split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def context_url(public_url: str, msgid: str) -> str:
    return f"{public_url}/api/v1/archive/messages/{quote(msgid, safe='')}/context"


def customer_url(public_url: str, external_userid: str) -> str:
    return f"{public_url}/console/customers/{quote(external_userid, safe='')}"


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def evidence_line(item: dict[str, Any]) -> str:
    shape = SHAPE_LABELS.get(str(item.get("shape", "")), "")
    head = f"{shape}({item.get('confidence', '')}): " if shape else ""
    return head + str(item.get("text") or item.get("what") or "")


def alert_card(*, rule: str, kind: str, severity: str, member: str, customer: str, value: float, op: str,
               threshold: float, window_days: int, evidence: list[dict[str, Any]], link: str,
               links: list[tuple[str, str]]) -> dict[str, Any]:
    lines = "；".join(evidence_line(e) for e in evidence[:3])
    card: dict[str, Any] = {
        "card_type": "text_notice",
        "source": {"desc": CARD_SOURCE},
        "main_title": {"title": plain(f"[{severity}] {rule}", 26), "desc": plain(KIND_LABELS.get(kind, kind), 30)},
        "emphasis_content": {"title": plain(number(value), 10),
                             "desc": plain(f"阈值 {op} {number(threshold)}，{window_days}天内", 15)},
        "sub_title_text": plain(lines or "-", 110),
        "horizontal_content_list": [
            {"keyname": "成员", "value": plain(member or "-", 26)},
            {"keyname": "客户", "value": plain(customer or "-", 26)},
            {"keyname": "证据", "value": f"{len(evidence)} 条"},
        ],
        "card_action": {"type": 1, "url": link},
    }
    if links:
        card["jump_list"] = [{"type": 1, "title": plain(title, 13), "url": url} for title, url in links[:3]]
    return {"msgtype": "template_card", "template_card": card}
