"""End to end through the simulator: digests on the wire, the API, collections and letters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.receivables.conftest import NOW, SH, item, load
from wecom_hr.scheduler import run_job


def local_today() -> Any:
    return datetime.now(SH).date()


def sent_to(env: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for body in env.sim.sent_messages:
        assert body["msgtype"] == "markdown" and body["agentid"] == 1000002
        out.setdefault(body["touser"], []).append(body["markdown"]["content"])
    return out


def test_digests_arrive_one_per_recipient(env: Any) -> None:
    load(env.runtime.db, *(item(f"A{i}", 31 + i) for i in range(40)), item("B1", 61, owner="bob"),
         item("B2", 95, owner="bob", external="wmCUST1", customer="深圳华强"))
    result = run_job(env.runtime, "overdue-reminders", NOW)
    assert result["recipients"] == 4
    got = sent_to(env)
    assert sorted(got) == ["alice", "bob", "fin1", "mgr"]
    assert all(len(v) == 1 for v in got.values())  # 42 receivables, 4 calls
    assert len(env.sim.calls_to("message/send")) == 4
    assert got["alice"][0].startswith("**逾期账款提醒**（2026-04-01）\n> 共 **40** 笔，合计 **¥40,000.00**")
    assert "http://hr.example.test/receivables/followup?order=A39" in got["alice"][0]
    assert "深圳华强" in got["fin1"][0] and "已转催收" in got["fin1"][0]
    assert env.sim.dropped_messages == 0
    run_job(env.runtime, "overdue-reminders", NOW + timedelta(hours=2))
    assert len(env.sim.calls_to("message/send")) == 4


def test_wecom_outage_is_retried_without_duplicates(env: Any) -> None:
    load(env.runtime.db, item("A1", 31), item("B1", 31, owner="bob"))
    env.sim.inject("message/send", errcode=-1, times=10)  # busy beyond the client's own retries
    run_job(env.runtime, "overdue-reminders", NOW)
    assert env.sim.sent_messages == []
    env.sim.clear_faults()
    from sqlalchemy import update

    from storage import outbox

    with env.runtime.db.session_scope() as s:  # the worker's backoff, fast-forwarded
        s.execute(update(outbox.OutboxMessage).values(next_attempt_at=NOW - timedelta(days=1)))
    env.drain()
    run_job(env.runtime, "overdue-reminders", NOW + timedelta(hours=1))
    assert sorted(b["touser"] for b in env.sim.sent_messages) == ["alice", "bob"]


def test_api_upsert_and_visibility(env: Any) -> None:
    today = local_today()  # the API counts days from the real clock
    items = [item("S1", 40, today=today), item("S2", -5, owner="bob", today=today),
             item("S3", 70, owner="carol", today=today), {"order_no": "bad"}]
    res = env.api("POST", "/api/v1/receivables", "fin1", json={"items": items})
    assert res.status_code == 200
    assert res.json["created"] == 3 and res.json["errors"][0]["index"] == 3
    assert env.api("POST", "/api/v1/receivables", "alice", json={"items": items}).status_code == 403
    again = env.api("POST", "/api/v1/receivables", "fin1", json=items[:3])
    assert (again.json["created"], again.json["updated"]) == (0, 3)

    def orders(userid: str, query: str = "") -> list[str]:
        res = env.api("GET", f"/api/v1/receivables{query}", userid)
        assert res.status_code == 200, res.json
        return [r["order_no"] for r in res.json["items"]]

    assert orders("alice") == ["S1"]
    assert orders("mgr") == ["S1", "S2"]  # his team is Sales; carol is in Support
    assert sorted(orders("fin1")) == ["S1", "S2", "S3"]
    assert orders("fin1", "?overdue=60") == ["S3"]
    assert orders("fin1", "?overdue=false") == ["S2"]
    assert orders("fin1", "?salesperson=bob") == ["S2"]
    assert orders("fin1", "?per_page=1&page=2") == ["S1"]
    assert env.api("GET", "/api/v1/receivables?overdue=soon", "fin1").status_code == 400
    assert env.api("GET", "/api/v1/receivables/S3", "alice").status_code == 404
    assert env.client.get("/api/v1/receivables").status_code == 401


def test_payments_and_followups_through_the_api(env: Any) -> None:
    load(env.runtime.db, item("P1", 40, amount="900.00"))
    pay = {"amount": "400.00", "paid_on": "2026-03-30", "reference": "bank-77"}
    res = env.api("POST", "/api/v1/receivables/P1/payments", "fin1", json=pay)
    assert res.status_code == 201 and res.json["status"] == "partial" and res.json["outstanding"] == "500.00"
    assert env.api("POST", "/api/v1/receivables/P1/payments", "fin1", json=pay).json["recorded"] is False
    assert env.api("POST", "/api/v1/receivables/P1/payments", "alice", json=pay).status_code == 403
    too_much = env.api("POST", "/api/v1/receivables/P1/payments", "fin1", json={"amount": "600"})
    assert too_much.status_code == 409
    note = {"note": "客户说月底付", "promised_on": "2026-04-30"}
    assert env.api("POST", "/api/v1/receivables/P1/followups", "alice", json=note).status_code == 201
    assert env.api("POST", "/api/v1/receivables/P1/followups", "carol", json=note).status_code == 404
    detail = env.api("GET", "/api/v1/receivables/P1", "mgr").json
    assert detail["followup"]["promised_on"] == "2026-04-30" and detail["payments"][0]["reference"] == "bank-77"


def test_collection_task_and_dunning_letter(env: Any) -> None:
    load(env.runtime.db, item("K1", 95, owner="bob", external="wmK", customer="宁波海天", amount="5000.00"),
         item("K2", 120, owner="alice", external="wmK", customer="宁波海天", amount="2500.00", paid="500.00"),
         item("K3", 91, owner="bob", customer="杭州小店"), item("K4", 40, owner="bob", external="wmK"))
    run_job(env.runtime, "overdue-reminders", NOW)
    assert env.api("GET", "/api/v1/collections", "alice").status_code == 403
    tasks = env.api("GET", "/api/v1/collections", "fin1").json
    assert tasks["total"] == 2
    haitian = next(t for t in tasks["items"] if t["external_userid"] == "wmK")
    assert haitian["outstanding"] == {"CNY": "7000.00"} and haitian["open_items"] == 2
    letter = env.api("GET", f"/api/v1/collections/{haitian['id']}/letter", "fin1").json
    assert letter["version"] == 1
    assert "致：宁波海天" in letter["body"] and "合计 ¥7,000.00" in letter["body"] and "K1" in letter["body"]
    assert "K4" not in letter["body"]
    text = env.api("GET", f"/api/v1/collections/{haitian['id']}/letter?format=text", "fin1")
    assert text.mimetype == "text/plain" and text.get_data(as_text=True) == letter["body"]
    # K4 reaches 90 days later: the task gains it and the letter is redrafted.
    run_job(env.runtime, "overdue-reminders", NOW + timedelta(days=50))
    letter2 = env.api("GET", f"/api/v1/collections/{haitian['id']}/letter", "fin1").json
    assert letter2["version"] == 2 and "K4" in letter2["body"]
    # Everything paid: the task closes.
    load(env.runtime.db, *(item(o, 0, owner="bob", external="wmK", amount=a, paid=a)
                           for o, a in (("K1", "5000.00"), ("K2", "2500.00"), ("K4", "1000.00"))))
    run_job(env.runtime, "overdue-reminders", NOW + timedelta(days=51))
    assert env.api("GET", "/api/v1/collections?status=closed", "fin1").json["total"] == 1
