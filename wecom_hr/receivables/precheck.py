"""离职前核查: when a departure starts, finance gets the leaver's open receivables in WeCom to confirm.

The list is the departure's snapshot (its receivable items), so finance confirms exactly what the
handover will carry. One message per departure: the outbox key makes a replay or a re-run a no-op.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from storage import audit, outbox
from storage.departures import RECEIVABLE, get, items
from storage.receivables import money
from wecom_hr.receivables.digest import fmt_money, fmt_totals
from wecom_hr.wecom.markdown import fit_lines, markdown, md_escape, md_url

if TYPE_CHECKING:
    from wecom_hr.dispatch import HandlerContext

KIND = "departures.precheck"


def outbox_key(departure_id: int) -> str:
    return f"departure:{departure_id}:precheck"


def _line(i: int, detail: dict[str, Any]) -> str:
    late = " · <font color=\"warning\">已逾期</font>" if detail.get("overdue") else ""
    return (f"{i}. {md_escape(detail.get('customer_name') or detail.get('external_userid') or '')} · "
            f"{md_escape(detail.get('order_no', ''), 64)} · "
            f"**{fmt_money(money(detail.get('outstanding')), str(detail.get('currency') or 'CNY'))}** · "
            f"到期 {md_escape(detail.get('due_on', ''))}{late}")


def content(member_name: str, departure_id: int, rows: list[dict[str, Any]], link: str) -> str:
    totals: dict[str, Decimal] = {}
    for d in rows:
        currency = str(d.get("currency") or "CNY")
        totals[currency] = totals.get(currency, Decimal("0.00")) + money(d.get("outstanding"))
    overdue = sum(1 for d in rows if d.get("overdue"))
    head = [f"**离职前核查：{md_escape(member_name)} 的未结账款**（交接单 #{departure_id}）"]
    if not rows:
        head.append("> 名下无未结账款，请财务确认。")
    else:
        head.append(f"> 共 **{len(rows)}** 笔，合计 **{fmt_totals(totals)}**（逾期 {overdue} 笔），请财务核对确认")
    tail = [f"[查看交接单]({md_url(link)})"]
    return fit_lines(head, [_line(i, d) for i, d in enumerate(rows, 1)], tail)


def on_departure_started(ctx: HandlerContext, departure_id: int) -> None:
    """signals.DEPARTURE_STARTED: queue the pre-check for finance, once per departure."""
    dep = get(ctx.session, departure_id)
    finance = list(ctx.settings.roles.finance)
    if dep is None:
        return
    if not finance:
        audit.record(ctx.session, "system", "departure.precheck_unroutable", {"departure_id": departure_id},
                     at=ctx.now)
        return
    rows = [r.detail for r in items(ctx.session, departure_id, RECEIVABLE)]
    link = f"{ctx.settings.public_url}/console/departures/{departure_id}"
    body = markdown(content(dep.member_name or dep.userid, departure_id, rows, link))
    if outbox.enqueue(ctx.session, outbox_key(departure_id), KIND, finance, body, now=ctx.now):
        audit.record(ctx.session, "system", "departure.precheck_sent",
                     {"departure_id": departure_id, "receivables": len(rows), "finance": finance}, at=ctx.now)
