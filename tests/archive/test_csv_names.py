"""The CSV export reads like the console: names next to the ids, local times with their offset, and
every cell — names are typed by customers too — defused against spreadsheet formulas."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from storage import groupchat_names
from storage.archive_store import append_messages
from storage.customers import Customer
from storage.db import Database
from storage.directory import upsert_member
from tests.archive.conftest import T0, message
from wecom_hr.archive.messages import parse_message
from wecom_hr.archive.results import csv_lines

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def _customer(ext: str, name: str, corp: str = "") -> Customer:
    return Customer(external_userid=ext, name=name, corp_name=corp, created_at=NOW, first_seen_at=NOW, updated_at=NOW)


def test_csv_has_names_local_times_and_defused_names(db: Database) -> None:
    raw = [message("m1", "报价单发您", sender="zhangsan", to=("wmCustomer1",)),
           message("m2", "收到", sender="wmCustomer1", to=("zhangsan",), at=60),
           message("m3", "群里说一下", sender="zhangsan", to=("lisi", "wmCustomer1"), room="wrRoom1", at=120),
           message("m4", "无名", sender="nobody", to=("wmUnknown",), room="wrUnnamed", at=180)]
    with db.session_scope() as s:
        upsert_member(s, "zhangsan", name="张三")
        s.add(_customer("wmCustomer1", "=HYPERLINK(\"x\")", "甲公司"))
        groupchat_names.remember(s, "wrRoom1", "甲公司项目群", 0, NOW)
        ids = [pos for pos, _ in append_messages(s, [parse_message(json.dumps(m, ensure_ascii=False), 1) for m in raw])]
        out = "".join(csv_lines(s, ids, tz="Asia/Shanghai"))
    table = list(csv.reader(io.StringIO(out)))
    head, rows = table[0], [dict(zip(table[0], r, strict=True)) for r in table[1:]]
    assert head[:8] == ["msgid", "time", "sender", "sender_name", "customer", "customer_name", "room", "room_name"]
    first, second, third, fourth = rows
    assert first["time"] == "2023-11-15 06:13:20+08:00"  # T0 is 2023-11-14 22:13:20 UTC
    assert datetime.fromisoformat(first["time"]) == datetime.fromtimestamp(T0 / 1000, UTC)
    assert (first["sender_name"], first["customer"]) == ("张三", "wmCustomer1")
    # The customer's name starts with "=": defused like the message text, with the company after it.
    assert first["customer_name"] == "'=HYPERLINK(\"x\")（甲公司）"
    assert second["sender_name"] == "'=HYPERLINK(\"x\")（甲公司）" and second["customer_name"].startswith("'=")
    assert (third["room"], third["room_name"]) == ("wrRoom1", "甲公司项目群")
    # Nobody knows these ids: the name columns stay empty, the ids are there.
    assert (fourth["sender"], fourth["sender_name"], fourth["room_name"]) == ("nobody", "", "")


def test_csv_defaults_to_utc_with_its_offset(db: Database) -> None:
    with db.session_scope() as s:
        ids = [pos for pos, _ in append_messages(s, [parse_message(json.dumps(message("m1", "hi")), 1)])]
        rows = list(csv.reader(io.StringIO("".join(csv_lines(s, ids)))))
    assert rows[1][1].endswith("+00:00")
