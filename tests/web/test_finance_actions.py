"""Finance in the console (issue 20): the CSV import with its line-by-line report, a payment, closing a
collection task, the 跟进说明-overdue filter; and the pool note on the customer page."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

from storage import audit
from storage.receivables import CollectionTask, by_order
from tests.web.conftest import SH, Console, csrf_of

HEADER = "order_no,external_userid,customer_name,salesperson,amount,currency,issued_on,due_on,paid_amount\n"


def _finance(console: Console) -> tuple[Any, str]:
    client = console.client()
    html = console.login(client, console.seed.finance, "/console/receivables").get_data(as_text=True)
    return client, csrf_of(html)


def test_finance_imports_a_csv_and_reads_each_bad_line(console: Console) -> None:
    client, token = _finance(console)
    seller = console.seller()
    due = (datetime.now(SH).date() - timedelta(days=10)).isoformat()
    ext = console.seed.customers[seller][0]
    body = (HEADER + f"C-1,,新客户甲,{seller},5000.00,,,2026-01-01,\n"
            f"A-10,{ext},客户A-10,{seller},1000.00,,,{due},200.00\n"
            f"C-2,,新客户乙,{seller},abc,,,2026-01-01,\n"
            f"C-3,,新客户丙,{seller},100,,,not-a-date,\n")

    def upload(**form: Any) -> Any:
        data = {"file": (io.BytesIO(body.encode("utf-8-sig")), "应收.csv"), **form}
        return client.post("/console/receivables/import", data=data, content_type="multipart/form-data")

    assert upload().status_code == 403  # no CSRF token
    done = upload(csrf=token)
    html = done.get_data(as_text=True)
    assert done.status_code == 200, html
    assert "新增 1 笔，更新 1 笔，2 行有问题未导入" in html
    assert "<li>4: amount" in html and "<li>5: due_on" in html
    with console.env.runtime.db.session_scope() as s:
        assert by_order(s, "C-1") is not None and by_order(s, "C-2") is None
        assert str(by_order(s, "A-10").paid_amount) == "200.00"  # type: ignore[union-attr]
        [entry] = audit.entries(s, action="receivables.import")
        assert entry.actor == console.seed.finance and entry.detail["bad_rows"] == 2

    empty = client.post("/console/receivables/import", data={"csrf": token}, content_type="multipart/form-data")
    assert empty.status_code == 400 and "请选择要导入的 CSV 文件" in empty.get_data(as_text=True)
    bad = client.post("/console/receivables/import", content_type="multipart/form-data",
                      data={"csrf": token, "file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")})
    assert bad.status_code == 400 and "文件未导入：header is missing" in bad.get_data(as_text=True)


def test_only_finance_and_admin_see_and_use_the_import(console: Console) -> None:
    client = console.client()
    html = console.login(client, console.seller(), "/console/receivables").get_data(as_text=True)
    assert 'id="csv-import"' not in html and "data-payments" not in html
    data = {"csrf": csrf_of(html), "file": (io.BytesIO(HEADER.encode()), "x.csv")}
    assert client.post("/console/receivables/import", data=data, content_type="multipart/form-data").status_code == 403
    fin, _ = _finance(console)
    page = fin.get("/console/receivables").get_data(as_text=True)
    assert 'id="csv-import"' in page and 'data-payments="1"' in page and 'name="note_overdue"' in page


def test_finance_records_a_payment_and_closes_a_collection_task(console: Console) -> None:
    client, token = _finance(console)
    headers = {"X-CSRF-Token": token}
    paid = client.post("/api/v1/receivables/B-120/payments", json={"amount": "500.00"}, headers=headers)
    assert paid.status_code == 201 and paid.json["outstanding"] == "3000.00"
    assert client.post("/api/v1/receivables/B-120/payments", json={"amount": "1"}).status_code == 403  # no CSRF

    [task] = client.get("/api/v1/collections?status=open").json["items"]
    path = f"/api/v1/collections/{task['id']}/close"
    assert client.post(path, json={}).status_code == 403  # no CSRF
    closed = client.post(path, json={"reason": "线下已结清"}, headers=headers)
    assert closed.status_code == 200 and closed.json == {"task_id": task["id"], "status": "closed",
                                                         "already_closed": False}
    assert client.post(path, json={}, headers=headers).json["already_closed"] is True  # a double click
    assert client.get("/api/v1/collections?status=open").json["items"] == []
    assert client.post("/api/v1/collections/999999/close", json={}, headers=headers).status_code == 404
    with console.env.runtime.db.session_scope() as s:
        row = s.get(CollectionTask, task["id"])
        assert row is not None and row.status == "closed" and row.closed_at is not None
        [entry] = audit.entries(s, action="collections.close")
        assert entry.actor == console.seed.finance and entry.detail == {"task_id": task["id"], "reason": "线下已结清"}

    seller = console.client()
    html = console.login(seller, console.seller(1), "/console/receivables").get_data(as_text=True)
    assert seller.post(path, json={}, headers={"X-CSRF-Token": csrf_of(html)}).status_code == 403


def test_the_note_overdue_filter_lists_items_without_a_followup(console: Console) -> None:
    client, token = _finance(console)
    late = client.get("/api/v1/receivables?overdue=true&note_overdue=true").json["items"]
    assert {r["order_no"] for r in late} == {"A-45", "B-75", "B-120"} and all(r["note_overdue"] for r in late)
    client.post("/api/v1/receivables/A-45/followups", json={"note": "客户下周付款"}, headers={"X-CSRF-Token": token})
    again = client.get("/api/v1/receivables?overdue=true&note_overdue=true").json["items"]
    assert {r["order_no"] for r in again} == {"B-75", "B-120"}


def test_a_member_edits_the_pool_note_on_the_customer_page(console: Console) -> None:
    seller = console.seller()
    ext = console.seed.customers[seller][0]
    client = console.client()
    html = console.login(client, seller, f"/console/customers/{ext}").get_data(as_text=True)
    assert 'id="pool-note"' in html and "web/pool_note.js?v=" in html
    saved = client.patch(f"/api/v1/customers/{ext}", json={"note": "<b>大客户</b>，月底对账"},
                         headers={"X-CSRF-Token": csrf_of(html)})
    assert saved.status_code == 200
    assert client.get(f"/api/v1/customers/{ext}").json["customer"]["note"] == "<b>大客户</b>，月底对账"
