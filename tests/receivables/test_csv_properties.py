"""Property tests of the CSV import (issue 8: hostile input): whatever the file holds, every data row
is either imported or reported with its line number, nothing else happens, and re-importing the same
file changes nothing."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.db import Database
from storage.receivables import by_order
from tests.conftest import wipe
from wecom_hr.receivables.csv_import import CsvFileError, import_csv, rows
from wecom_hr.receivables.ledger import ReceivableInput, RowError
from wecom_hr.receivables.settings import LedgerOptions

HEADER = "order_no,external_userid,customer_name,salesperson,amount,currency,issued_on,due_on,paid_amount"
PROPS = settings(max_examples=40, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

cell = st.text(alphabet=st.sampled_from(list('ab1,;"\n\r\t ¥.-/张三返点') + ["\u3000", "\ufeff"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(cell, max_size=11), max_size=8))
def test_any_rows_after_the_header_are_parsed_or_reported(table: list[list[str]]) -> None:
    text = HEADER + "\n" + "\n".join(",".join(row) for row in table)
    try:
        parsed = list(rows(io.StringIO(text, newline=""), LedgerOptions()))
    except CsvFileError:
        return  # a whole-file problem, named in one message
    lines = [line for line, _ in parsed]
    assert all(isinstance(r, (ReceivableInput, RowError)) for _, r in parsed)
    assert lines == sorted(lines) and all(line >= 2 for line in lines)


names = st.text(alphabet="王李张刘陈总先生女士贸易有限公司科技", min_size=1, max_size=10)
valid = st.builds(
    lambda n, name, cents, days, paid_share: (
        f"SO-{n}", name, Decimal(cents) / 100, date(2026, 1, 1) + timedelta(days=days), paid_share),
    st.integers(0, 10**6), names, st.integers(1, 10**9), st.integers(0, 700), st.sampled_from([None, 0, 50, 100]))
broken = st.sampled_from([
    "SO-X1,,王总,lina,abc,CNY,,2026-03-01,",          # amount not a number
    "SO-X2,,王总,lina,100,CNY,,tomorrow,",           # due_on not a date
    ",,王总,lina,100,CNY,,2026-03-01,",              # no order_no
    "SO-X3,,,lina,100,CNY,,2026-03-01,",             # no customer at all
    "SO-X4,,王总,lina,100,CNY,,2026-03-01,150",      # paid more than the amount
    "SO-X5,,王总,lina,100.001,CNY,,2026-03-01,",     # three decimals
    "SO-X6,,王总,lina,100,CNY,,2026-03-01,,extra",   # more fields than the header
])


@PROPS
@given(st.lists(st.one_of(valid.map(lambda v: ("ok", v)), broken.map(lambda b: ("bad", b))), max_size=25),
       st.booleans())
def test_import_keeps_good_rows_reports_bad_lines_and_is_idempotent(db: Database, tmp_path: Path,
                                                                     mixed: list, bom: bool) -> None:
    wipe(db)
    lines, expected, bad_lines = [HEADER], {}, []
    for kind, value in mixed:
        if kind == "bad":
            bad_lines.append(len(lines) + 1)
            lines.append(value)
            continue
        order_no, name, amount, due, share = value
        paid = "" if share is None else str((amount * share / 100).quantize(Decimal("0.01")))
        lines.append(f"{order_no},,{name},lina,{amount},CNY,,{due.isoformat()},{paid}")
        expected[order_no] = amount  # a later row for the same order updates it
    path = tmp_path / "receivables.csv"
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    first = import_csv(db, path, LedgerOptions())
    assert [line for line, _ in first.errors] == bad_lines
    assert first.created == len(expected)
    with db.session_scope() as s:
        for order_no, amount in expected.items():
            row = by_order(s, order_no)
            assert row is not None and row.amount == amount
    again = import_csv(db, path, LedgerOptions())
    assert again.created == 0 and [line for line, _ in again.errors] == bad_lines
