"""Ledger rows, re-imports, payments, the CSV contract and `wecom-hr receivables import`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.receivables import OPEN, PAID, PARTIAL, Payment, Receivable, by_order
from tests.receivables.conftest import item, load, make_settings
from wecom_hr.config import ConfigError
from wecom_hr.receivables.csv_import import CsvFileError, import_csv
from wecom_hr.receivables.ledger import RowError, parse_row
from wecom_hr.receivables.settings import LedgerOptions, from_settings

HEADER = "order_no,external_userid,customer_name,salesperson,amount,currency,issued_on,due_on,paid_amount\n"


def count(db: Database, model: Any = Receivable) -> int:
    with db.session_scope() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("field, value, problem", [
    ("amount", "abc", "amount: 'abc' is not a number"),
    ("amount", "-5", "amount: must be between"),
    ("amount", "1.005", "amount: more than 2 decimal places"),
    ("due_on", "2026-13-01", "due_on: '2026-13-01' is not a date"),
    ("salesperson", "", "salesperson: is empty"),
    ("paid_amount", "2000", "paid_amount: 2000.00 is more than the amount 1000.00"),
    ("currency", "RMB1", "currency: longer than 3"),
])
def test_bad_fields_are_named(field: str, value: str, problem: str) -> None:
    row = item("X1", 10)
    row[field] = value
    with pytest.raises(RowError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_row(row)


def test_amounts_are_decimal_and_currency_defaults_to_cny() -> None:
    parsed = parse_row({**item("X2", 1), "amount": "1,234.50", "paid_amount": 0.1})
    assert parsed.amount == Decimal("1234.50") and parsed.paid_amount == Decimal("0.10")
    assert parsed.currency == "CNY"


def test_reimport_updates_and_records_partial_payments(rdb: Database) -> None:
    load(rdb, item("U1", 10, amount="3000.00"))
    load(rdb, item("U1", 10, amount="3000.00", paid="1000.00"))
    load(rdb, item("U1", 10, amount="3000.00"))  # blank paid_amount: what was paid stays
    with rdb.session_scope() as s:
        row = by_order(s, "U1")
        assert row is not None and row.status == PARTIAL and row.outstanding == Decimal("2000.00")
    load(rdb, item("U1", 10, amount="3000.00", paid="3000.00"))
    with rdb.session_scope() as s:
        row = by_order(s, "U1")
        assert row is not None and row.status == PAID and row.paid_at is not None
        amounts = list(s.scalars(select(Payment.amount).order_by(Payment.id)))
    assert amounts == [Decimal("1000.00"), Decimal("2000.00")]
    assert count(rdb) == 1


def write(tmp_path: Path, text: str, bom: bool = False, name: str = "ar.csv") -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def test_csv_with_bom_and_bad_rows_keeps_the_good_ones(rdb: Database, tmp_path: Path) -> None:
    text = (HEADER
            + "SO-1,wmA,华为,alice,1000.00,CNY,2026-01-01,2026-02-01,\n"
            + "SO-2,,\"深圳, 腾讯\",bob,2500.5,,2026-01-05,2026/02/05,500\n"
            + "SO-3,,小米,bob,abc,CNY,,2026-02-01,\n"
            + "\n"
            + "SO-4,,,bob,10,CNY,,2026-02-01,\n"
            + "SO-5,,京东,alice,10,CNY,,not-a-date,\n")
    report = import_csv(rdb, write(tmp_path, text, bom=True), LedgerOptions())
    assert (report.created, report.updated) == (2, 0)
    assert report.errors == [(4, "amount: 'abc' is not a number"),
                             (6, "customer: external_userid or customer_name is required"),
                             (7, "due_on: 'not-a-date' is not a date (YYYY-MM-DD)")]
    again = import_csv(rdb, write(tmp_path, text), LedgerOptions())  # same file without BOM
    assert (again.created, again.updated) == (0, 2) and count(rdb) == 2
    with rdb.session_scope() as s:
        so2 = by_order(s, "SO-2")
        assert so2 is not None and so2.customer_name == "深圳, 腾讯" and so2.status == PARTIAL
        assert so2.customer_key == "name:深圳, 腾讯"
        so1 = by_order(s, "SO-1")
        assert so1 is not None and so1.customer_key == "wmA" and so1.status == OPEN


def test_csv_headers_mapped_in_config(rdb: Database, tmp_path: Path, db_url: str) -> None:
    columns = {"order_no": "单号", "customer_name": "客户", "salesperson": "销售", "amount": "金额",
               "due_on": "到期日"}
    options = from_settings(make_settings(db_url, {"receivables": {"csv_columns": columns}})).ledger
    path = write(tmp_path, "单号,客户,销售,金额,到期日,备注\nERP-9,美团,alice,88.80,2026-03-01,x\n")
    assert import_csv(rdb, path, options).created == 1
    with pytest.raises(CsvFileError, match="header is missing 单号"):
        import_csv(rdb, write(tmp_path, HEADER), options)


def test_not_utf8_is_refused_whole(rdb: Database, tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes((HEADER + "SO-1,,华为,alice,1,CNY,,2026-02-01,\n").encode("gbk"))
    with pytest.raises(CsvFileError, match="not UTF-8"):
        import_csv(rdb, path, LedgerOptions())


def test_config_errors_name_the_key(db_url: str) -> None:
    with pytest.raises(ConfigError, match="reminders.tiers\\[1\\].notify"):
        make_settings(db_url, {"reminders": {"tiers": [{"days": 30}, {"days": 60, "notify": "ceo"}]}})
    with pytest.raises(ConfigError, match="reminders.quiet_hours"):
        make_settings(db_url, {"reminders": {"quiet_hours": "22"}})
    with pytest.raises(ConfigError, match="receivables.csv_columns.invoice"):
        make_settings(db_url, {"receivables": {"csv_columns": {"invoice": "x"}}})
    policy = from_settings(make_settings(db_url)).policy
    assert [(t.days, t.notify, t.collect) for t in policy.tiers] == [
        (30, ("owner",), False), (60, ("manager",), False), (90, ("finance",), True)]


def test_cli_import_reports_line_numbers(rdb: Database, tmp_path: Path, db_url: str) -> None:
    from click.testing import CliRunner

    import wecom_hr.cli as cli_module
    from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN

    config = tmp_path / "wecom-hr.toml"
    config.write_text(f'[wecom]\ncorp_id = "{TEST_CORP}"\nagent_id = 1\nsecret = "s"\ntoken = "{TEST_TOKEN}"\n'
                      f'encoding_aes_key = "{TEST_AES_KEY}"\n[database]\nurl = "{db_url}"\n', encoding="utf-8")
    path = write(tmp_path, HEADER + "SO-1,,华为,alice,1000,,,2026-02-01,\nSO-2,,小米,bob,x,,,2026-02-01,\n", bom=True)
    cli_module._register()
    result = CliRunner().invoke(cli_module.cli, ["--config", str(config), "receivables", "import", str(path)])
    assert result.exit_code == 1
    assert "1 rows imported (1 new, 0 updated), 1 bad rows" in result.output
    assert f"{path}:3: amount: 'x' is not a number" in result.output
    assert count(rdb) == 1
