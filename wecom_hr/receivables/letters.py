"""追款函: the dunning letter drafted for a collection task, from a string.Template.

``[receivables] letter_template`` may name a UTF-8 file using $customer, $items, $total, $count,
$contact, $company and $date; the built-in draft below is used otherwise. Finance reviews the draft
and emails it (POST /api/v1/collections/<id>/letter/send, see email.py); only
``[receivables] auto_send_letters = true`` lets the reminder run send it unreviewed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from string import Template

from wecom_hr.config import ConfigError
from wecom_hr.receivables.digest import fmt_money, fmt_totals

DEFAULT_TEMPLATE = """\
追款函

致：$customer

贵方与${company}之间的以下款项已逾期未付，共 $count 笔，合计 $total：

$items

请于收到本函之日起七日内安排付款。如已付款，请将付款凭证发送给我们，并忽略本函。
如有疑问，请联系：$contact

$company
$date
"""


@dataclass(frozen=True)
class LetterItem:
    order_no: str
    issued_on: date | None
    due_on: date
    outstanding: Decimal
    currency: str


@lru_cache(maxsize=8)
def _template(path: str) -> Template:
    if not path:
        return Template(DEFAULT_TEMPLATE)
    try:
        return Template(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("receivables.letter_template", f"cannot read {path}: {exc.strerror}") from None


def _item_line(i: int, item: LetterItem, today: date) -> str:
    issued = f"开票日 {item.issued_on.isoformat()}，" if item.issued_on else ""
    days = (today - item.due_on).days
    return (f"{i}. 单号 {item.order_no}：{issued}到期日 {item.due_on.isoformat()}（已逾期 {days} 天），"
            f"未付 {fmt_money(item.outstanding, item.currency)}")


def draft(customer: str, items: list[LetterItem], today: date, *, company: str = "", contact: str = "",
          template_path: str = "") -> str:
    totals: dict[str, Decimal] = {}
    for item in items:
        totals[item.currency] = totals.get(item.currency, Decimal("0.00")) + item.outstanding
    return _template(template_path).safe_substitute(
        customer=customer or "（客户）",
        company=company or "我司",
        items="\n".join(_item_line(i, item, today) for i, item in enumerate(items, 1)),
        total=fmt_totals(totals) or "¥0.00",
        count=len(items),
        contact=contact or "财务部",
        date=today.strftime("%Y年%m月%d日"),
    )
