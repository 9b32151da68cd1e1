"""Transfers in batches: 250 customers in three calls, each customer's errcode, WeCom's busy answers,
and a process that dies in the middle resuming without sending an accepted batch twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from storage.departures import DepartureBatch
from tests.departures.conftest import Corp
from wecom_hr.departures import transfer_calls, transfers

TRANSFER = "externalcontact/transfer_customer"


@pytest.fixture
def big(corp_factory: Callable[..., Corp]) -> Corp:
    corp = corp_factory(customers_per_salesperson=2)
    corp.add_customers(corp.seller(), 248)
    corp.sync_pool()
    return corp


def _approved(corp: Corp) -> int:
    dep = corp.start(corp.seller(), successor=corp.seller(0, 1))
    corp.approve(dep["id"], corp.manager())
    return int(dep["id"])


def _accepted(corp: Corp) -> list[Any]:
    return [c for c in corp.sim.calls_to(TRANSFER) if c.errcode == 0]


def test_250_customers_go_out_in_three_calls(big: Corp) -> None:
    dep_id = _approved(big)
    assert big.departure(dep_id).summary["customers"] == 250
    result = big.run("transfer-departures")
    calls = _accepted(big)
    assert [len(c.body["external_userid"]) for c in calls] == [100, 100, 50]
    sent = [e for c in calls for e in c.body["external_userid"]]
    assert len(set(sent)) == 250 and set(sent) == set(big.items(dep_id))
    assert result["customer_batches"] == 3 and result["customers"] == 250
    assert not big.sim.calls_to("externalcontact/get")  # no call per customer


def test_each_customers_errcode_is_recorded(big: Corp) -> None:
    exts = big.seed.customers[big.seller()]
    codes = {exts[0]: 40128, exts[1]: 40099}
    extra = big.add_customers(big.seller(), 3, prefix="wmOdd")
    big.sync_pool()
    codes |= {extra[0]: 40131, extra[1]: 40129, extra[2]: -1}
    for ext, code in codes.items():
        big.sim.set_transfer_error(ext, code)
    dep_id = _approved(big)
    big.run("transfer-departures")
    items = big.items(dep_id)
    assert (items[exts[0]].status, items[exts[0]].errcode) == ("failed", 40128)
    assert (items[exts[1]].status, items[exts[1]].errcode) == ("failed", 40099)
    assert (items[extra[0]].status, items[extra[0]].errcode) == ("failed", 40131)
    assert (items[extra[1]].status, items[extra[1]].errcode) == ("waiting", 40129)
    # -1 for one customer: sent again on the next run, in a batch of its own.
    assert items[extra[2]].status == "pending"
    big.run("transfer-departures")
    assert big.items(dep_id)[extra[2]].status == "waiting"
    assert len(_accepted(big)) == 4 and _accepted(big)[-1].body["external_userid"] == [extra[2]]
    # The follow-up: the "in progress" one is not ours (this pair has no such transfer) → failed.
    big.sim.complete_transfers()
    big.run("follow-up-departures")
    items = big.items(dep_id)
    assert (items[extra[1]].status, items[extra[1]].errcode) == ("failed", 40129)
    assert sum(1 for i in items.values() if i.status == "done") == 253 - 4
    report = big.env.api("GET", f"/api/v1/departures/{dep_id}?per_page=1000", big.hr).get_json()
    texts = {c["ref"]: c["status_text"] for c in report["customers"]["items"]}
    assert texts[exts[0]] == "转接失败（90天内已转接两次）" and texts[exts[1]] == "转接失败（接替人客户数已满）"
    # Reported as they become known: three refused at request time, the fourth after the poll.
    notices = [m for m in big.messages_to(big.manager()) if "未能转接" in m]
    assert ["3 位客户未能转接" in notices[0], "1 位客户未能转接" in notices[1]] == [True, True]


def test_busy_wecom_defers_the_batch_to_the_next_run(big: Corp) -> None:
    dep_id = _approved(big)
    big.sim.inject(TRANSFER, errcode=-1, times=4)  # the client's own retries all meet "busy"
    first = big.run("transfer-departures")
    assert first.get("deferred") == 1 and not _accepted(big)
    assert big.audit("departure.batch_deferred")
    big.run("transfer-departures")
    assert [len(c.body["external_userid"]) for c in _accepted(big)] == [100, 100, 50]
    assert {i.status for i in big.items(dep_id).values()} == {"waiting"}


def test_restart_after_an_accepted_call_resumes_without_resending(big: Corp,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    dep_id = _approved(big)
    real = transfers._record
    calls = {"n": 0}

    def dies_after_second_call(*args: Any, **kwargs: Any) -> dict[str, int]:
        calls["n"] += 1
        if calls["n"] == 2:  # WeCom accepted batch 2; the process dies before writing that down
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(transfers, "_record", dies_after_second_call)
    with pytest.raises(KeyboardInterrupt):
        big.run("transfer-departures")
    monkeypatch.setattr(transfers, "_record", real)
    with big.env.runtime.db.session_scope() as s:
        statuses = [b.status for b in s.query(DepartureBatch).order_by(DepartureBatch.id)]
    assert statuses == ["accepted", "sending", "planned", "planned"]  # customers 1-3, then the group chat
    assert len(_accepted(big)) == 2

    big.run("transfer-departures")
    calls_made = _accepted(big)
    assert [len(c.body["external_userid"]) for c in calls_made] == [100, 100, 50]  # batch 2 was not sent again
    assert len(big.sim.calls_to("externalcontact/transfer_result")) == 1  # asked WeCom what it holds instead
    items = big.items(dep_id)
    assert {i.status for i in items.values()} == {"waiting"} and len(items) == 250
    [resumed] = [e for e in big.audit("departure.batch_sent") if e.detail["in_doubt"]]
    assert resumed.detail["already_held"] == 100


def test_restart_before_the_call_sends_the_batch(big: Corp, monkeypatch: pytest.MonkeyPatch) -> None:
    dep_id = _approved(big)
    real = transfer_calls.request

    def dies_before_calling(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(transfer_calls, "request", dies_before_calling)
    with pytest.raises(KeyboardInterrupt):
        big.run("transfer-departures")
    monkeypatch.setattr(transfer_calls, "request", real)
    big.run("transfer-departures")
    assert [len(c.body["external_userid"]) for c in _accepted(big)] == [100, 100, 50]
    assert {i.status for i in big.items(dep_id).values()} == {"waiting"}
