"""The ledger's write side: validate one row (CSV line or API item) and upsert batches by order_no.

A re-import updates, never duplicates: rows are matched on order_no. A changed paid_amount becomes a
payment of the difference, so partial payments keep a history whichever way they arrive. A blank
paid_amount leaves what was paid (e.g. through the API) untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.db import table, utcnow
from storage.receivables import PAID, Payment, Receivable, customer_key, money, status_for

MAX_AMOUNT = Decimal("9999999999999999.99")  # Numeric(18,2)


class RowError(ValueError):
    """One bad field in one row; the message names the field (shown with the CSV line number)."""


@dataclass(frozen=True)
class ReceivableInput:
    order_no: str
    external_userid: str
    customer_name: str
    salesperson: str
    amount: Decimal
    currency: str
    issued_on: date | None
    due_on: date
    paid_amount: Decimal | None  # None: unchanged (or 0 for a new receivable)


@dataclass
class UpsertCounts:
    created: int = 0
    updated: int = 0


def _text(row: Mapping[str, Any], name: str, limit: int, required: bool = False) -> str:
    value = row.get(name)
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise RowError(f"{name}: is empty")
    if len(text) > limit:
        raise RowError(f"{name}: longer than {limit} characters")
    return text


def amount_field(row: Mapping[str, Any], name: str, required: bool) -> Decimal | None:
    value = row.get(name)
    if value is None or str(value).strip() == "":
        if required:
            raise RowError(f"{name}: is empty")
        return None
    text = str(value).strip().replace(",", "").replace("¥", "").replace("￥", "")
    try:  # floats from JSON go through str() so 0.1 stays 0.1
        amount = Decimal(text)
    except InvalidOperation:
        raise RowError(f"{name}: {str(value)[:40]!r} is not a number") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise RowError(f"{name}: must be between 0 and {MAX_AMOUNT}")
    if amount != amount.quantize(Decimal("0.01")):
        raise RowError(f"{name}: more than 2 decimal places")
    return money(amount)


def date_field(row: Mapping[str, Any], name: str, required: bool) -> date | None:
    text = _text(row, name, 32)
    if not text:
        if required:
            raise RowError(f"{name}: is empty")
        return None
    try:  # 2026-03-01 (ISO) or 2026/03/01 (what spreadsheets export)
        return date.fromisoformat(text.replace("/", "-")) if len(text) == 10 else datetime.strptime(
            text.replace("/", "-"), "%Y-%m-%d").date()
    except ValueError:
        raise RowError(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None


def parse_row(row: Mapping[str, Any], default_currency: str = "CNY") -> ReceivableInput:
    """Validate one row of the public contract's fields; raises RowError naming the bad field."""
    external = _text(row, "external_userid", 64)
    name = _text(row, "customer_name", 255)
    if not external and not name:
        raise RowError("customer: external_userid or customer_name is required")
    currency = (_text(row, "currency", 3) or default_currency).upper()
    if len(currency) != 3 or not currency.isalpha():
        raise RowError(f"currency: {currency!r} is not a 3-letter code")
    amount = amount_field(row, "amount", required=True)
    assert amount is not None
    paid = amount_field(row, "paid_amount", required=False)
    if paid is not None and paid > amount:
        raise RowError(f"paid_amount: {paid} is more than the amount {amount}")
    issued, due = date_field(row, "issued_on", False), date_field(row, "due_on", True)
    assert due is not None
    if issued and issued > due:
        raise RowError("due_on: is before issued_on")
    return ReceivableInput(order_no=_text(row, "order_no", 64, required=True), external_userid=external,
                           customer_name=name, salesperson=_text(row, "salesperson", 64, required=True),
                           amount=amount, currency=currency, issued_on=issued, due_on=due, paid_amount=paid)


def _existing(session: Session, order_nos: list[str]) -> dict[str, tuple[int, Decimal, Decimal]]:
    rows = session.execute(select(Receivable.order_no, Receivable.id, Receivable.paid_amount, Receivable.amount)
                           .where(Receivable.order_no.in_(order_nos)))
    return {o: (i, money(p), money(a)) for o, i, p, a in rows}


def _values(item: ReceivableInput, paid: Decimal, now: datetime) -> dict[str, Any]:
    status = status_for(item.amount, paid)
    return {"order_no": item.order_no, "customer_key": customer_key(item.external_userid, item.customer_name),
                "external_userid": item.external_userid, "customer_name": item.customer_name,
                "salesperson": item.salesperson, "amount": item.amount, "currency": item.currency,
                "issued_on": item.issued_on, "due_on": item.due_on, "paid_amount": paid, "status": status,
                "updated_at": now, "paid_at": now if status == PAID else None}


def upsert_batch(session: Session, items: Iterable[ReceivableInput], now: datetime | None = None) -> UpsertCounts:
    """Insert or update by order_no in one statement; the last of duplicate order numbers wins."""
    now = now or utcnow()
    latest = {item.order_no: item for item in items}
    if not latest:
        return UpsertCounts()
    before = _existing(session, list(latest))
    counts, rows, payments = UpsertCounts(), [], []
    for order_no, item in latest.items():
        old = before.get(order_no)
        paid = item.paid_amount if item.paid_amount is not None else (old[1] if old else Decimal("0.00"))
        if old and paid > item.amount:
            paid = item.amount  # an amount corrected downwards below what was paid: treat as paid in full
        values = _values(item, paid, now)
        if old is None:
            counts.created += 1
            rows.append({**values, "created_at": now})
            continue
        counts.updated += 1
        rows.append({**values, "created_at": now})  # ignored on conflict: created_at keeps its first value
        if paid != old[1]:
            payments.append((old[0], paid - old[1]))
    _insert_or_update(session, rows)
    _record_import_payments(session, latest, before, payments, now)
    return counts


def _insert_or_update(session: Session, rows: list[dict[str, Any]]) -> None:
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = dialect_insert(Receivable)
    # paid_at is left to _stamp_paid_at: it keeps the first moment a receivable was paid in full.
    changed: dict[str, Any] = {c: stmt.excluded[c] for c in rows[0] if c not in ("order_no", "created_at", "paid_at")}
    # A re-import still naming the salesperson who left keeps the item with whom the handover gave it (issue 17).
    incoming = stmt.excluded.salesperson
    changed["salesperson"] = case((Receivable.original_salesperson == incoming, Receivable.salesperson), else_=incoming)
    session.execute(stmt.on_conflict_do_update(index_elements=["order_no"], set_=changed), rows)
    _stamp_paid_at(session, [r["order_no"] for r in rows], rows[0]["updated_at"])


def _stamp_paid_at(session: Session, order_nos: list[str], now: datetime) -> None:
    session.execute(update(Receivable).where(Receivable.order_no.in_(order_nos), Receivable.status == PAID,
                                             Receivable.paid_at.is_(None)).values(paid_at=now))
    session.execute(update(Receivable).where(Receivable.order_no.in_(order_nos), Receivable.status != PAID,
                                             Receivable.paid_at.is_not(None)).values(paid_at=None))


def _record_import_payments(session: Session, latest: Mapping[str, ReceivableInput],
                            before: Mapping[str, tuple[int, Decimal, Decimal]],
                            changes: list[tuple[int, Decimal]], now: datetime) -> None:
    today = now.date()
    new_paid = [(o, item.paid_amount) for o, item in latest.items()
                if o not in before and item.paid_amount]
    ids: dict[str, int] = {}
    if new_paid:
        q = select(Receivable.order_no, Receivable.id).where(Receivable.order_no.in_([o for o, _ in new_paid]))
        ids = {order_no: rid for order_no, rid in session.execute(q)}
    rows = [{"receivable_id": rid, "amount": delta, "paid_on": today, "source": "import", "reference": None,
                 "recorded_by": "", "created_at": now} for rid, delta in changes]
    rows += [{"receivable_id": ids[o], "amount": paid, "paid_on": today, "source": "import", "reference": None,
                  "recorded_by": "", "created_at": now} for o, paid in new_paid]
    if rows:
        session.execute(table(Payment).insert(), rows)
