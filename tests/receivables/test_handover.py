"""Receivables follow the customer through a departure (issue 17), and the 跟进说明 a manager waits for.

The handover tests drive a whole departure against the simulator (tests/departures/conftest.py's Corp):
the ledger's owner after a completed, a refused (then reassigned) and a rejected handover, and the
leaver's rights ending with the approval.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from storage.db import Database, utcnow
from storage.receivables import by_order
from tests.departures.conftest import Corp, build_corp
from tests.helpers import closing_each
from tests.receivables.conftest import item
from wecom_hr.receivables import reminders
from wecom_hr.receivables.digest import NOTE_OVERDUE
from wecom_hr.receivables.ledger import parse_row, upsert_batch


@pytest.fixture
def corp(db: Database) -> Iterator[Corp]:
    with closing_each(lambda **kwargs: build_corp(db, **kwargs)) as make:
        yield make()


def _ledger(corp: Corp, *rows: dict[str, Any]) -> None:
    with corp.env.runtime.db.session_scope() as s:
        upsert_batch(s, [parse_row(r) for r in rows], utcnow())


def _row(order_no: str, seller: str, ext: str = "", paid: str = "", due: str = "2020-01-01") -> dict[str, Any]:
    return {"order_no": order_no, "external_userid": ext, "customer_name": f"客户{order_no}", "salesperson": seller,
            "amount": "1000", "currency": "", "issued_on": "", "due_on": due, "paid_amount": paid}


def _owner(corp: Corp, order_no: str) -> tuple[str, str | None]:
    with corp.env.runtime.db.session_scope() as s:
        row = by_order(s, order_no)
        assert row is not None
        return row.salesperson, row.original_salesperson


def _orders(corp: Corp, userid: str, query: str = "") -> list[str]:
    res = corp.env.api("GET", f"/api/v1/receivables{query}", userid)
    assert res.status_code == 200, res.get_json()
    return [i["order_no"] for i in res.get_json()["items"]]


def _hand_over(corp: Corp, seller: str, successor: str, refuse: set[str] | None = None) -> int:
    dep = corp.start(seller, last_day=date.today() + timedelta(days=14))
    corp.approve(dep["id"], corp.manager(), successor)
    corp.run("transfer-departures")
    corp.sim.complete_transfers(refuse=refuse or set())
    corp.run("follow-up-departures")
    return int(dep["id"])


def test_completed_handover_moves_open_receivables_to_the_successor(corp: Corp) -> None:
    seller, successor, manager = corp.seller(), corp.seller(0, 1), corp.manager()
    c0, c1, _ = corp.seed.customers[seller]
    _ledger(corp, _row("SO-A", seller, c0), _row("SO-B", seller, c1, paid="1000"), _row("SO-C", seller))
    dep_id = _hand_over(corp, seller, successor)
    assert corp.departure(dep_id).state == "completed"

    assert _owner(corp, "SO-A") == (successor, seller)
    assert _owner(corp, "SO-B") == (seller, None)  # paid: nothing to follow
    assert _owner(corp, "SO-C") == (manager, seller)  # no customer to follow: the manager holds it
    assert _orders(corp, successor, f"?salesperson={successor}") == ["SO-A"]
    detail = corp.env.api("GET", "/api/v1/receivables/SO-A", successor).get_json()
    assert detail["original_salesperson"] == seller
    assert [(h["from"], h["to"], h["reason"]) for h in detail["handovers"]] == [(seller, successor, "transferred")]
    assert corp.audit("receivables.handed_over")

    # The leaver's rights ended with the approval: no list, no detail, no follow-up.
    assert _orders(corp, seller) == []
    assert corp.env.api("GET", "/api/v1/receivables/SO-A", seller).status_code == 404
    res = corp.env.api("POST", "/api/v1/receivables/SO-A/followups", seller, json={"note": "我来跟"})
    assert res.status_code == 404
    # The successor may write, and a re-import still naming the leaver keeps the successor as owner.
    assert corp.env.api("POST", "/api/v1/receivables/SO-A/followups", successor,
                        json={"note": "已联系客户"}).status_code == 201
    _ledger(corp, _row("SO-A", seller, c0))
    assert _owner(corp, "SO-A") == (successor, seller)


def test_refused_customer_goes_to_the_manager_until_reassigned(corp: Corp) -> None:
    seller, successor, manager, later = corp.seller(), corp.seller(0, 1), corp.manager(), corp.seller(0, 2)
    c0, c1, _ = corp.seed.customers[seller]
    _ledger(corp, _row("SO-R", seller, c0), _row("SO-D", seller, c1))
    dep_id = _hand_over(corp, seller, successor, refuse={c0})
    assert corp.items(dep_id)[c0].status == "refused"
    assert _owner(corp, "SO-R") == (manager, seller)
    assert _owner(corp, "SO-D") == (successor, seller)
    assert "SO-R" in _orders(corp, manager, f"?salesperson={manager}")

    res = corp.env.api("PUT", f"/api/v1/departures/{dep_id}/customers/{c0}", corp.hr, json={"successor": later})
    assert res.status_code == 200, res.get_json()
    corp.run("transfer-departures")
    corp.sim.complete_transfers()
    corp.run("follow-up-departures")
    assert corp.items(dep_id)[c0].status == "done"
    assert _owner(corp, "SO-R") == (later, seller)
    detail = corp.env.api("GET", "/api/v1/receivables/SO-R", later).get_json()
    assert [(h["to"], h["reason"]) for h in detail["handovers"]] == [(manager, "unresolved"), (later, "transferred")]


def test_rejected_handover_moves_nothing(corp: Corp) -> None:
    seller, manager = corp.seller(), corp.manager()
    c0 = corp.seed.customers[seller][0]
    _ledger(corp, _row("SO-X", seller, c0))
    dep = corp.start(seller, last_day=date.today() + timedelta(days=14))
    card = corp.card(dep["id"])
    chosen = card["select_list"][1]["selected_id"]
    corp.sim.scenario.click_card(manager, card["task_id"], "submit",
                                 selected={"decision": ["reject"], "successor": [chosen]})
    corp.env.drain()
    assert corp.departure(dep["id"]).state == "rejected"
    corp.run("transfer-departures")
    corp.run("follow-up-departures")
    assert _owner(corp, "SO-X") == (seller, None)
    assert _orders(corp, seller) == ["SO-X"]  # a rejected departure takes no rights away


# -- 跟进说明 required (issue 17 item 8) --------------------------------------------------------

def _entry(digest: str, order_no: str) -> str:
    """The digest's numbered entry that lists ``order_no`` (its line and the quoted follow-up under it)."""
    entries = re.split(r"\n(?=\d+\. )", digest)
    return next(e for e in entries if order_no in e)


def test_a_30_day_item_without_a_note_after_7_days_is_marked(env: Any, loader: Callable[..., None]) -> None:
    from tests.receivables.conftest import SH, by_user

    now = datetime.now(SH).replace(hour=10, minute=0)  # the API counts from the real today
    today = now.date()
    loader(item("N-LATE", 61, today=today), item("N-NOTE", 61, today=today), item("N-FRESH", 33, today=today),
           item("N-OLD", 40, owner="bob", today=today))
    with env.runtime.db.session_scope() as s:
        from storage.receivables import add_followup

        row = by_order(s, "N-NOTE")
        assert row is not None
        add_followup(s, row, "alice", "客户承诺月底付款", None)
    reminders.run(env.runtime.db, env.runtime.settings, now)
    [digest] = by_user(env.runtime.db)["mgr"]
    assert NOTE_OVERDUE in _entry(digest, "N-LATE") and NOTE_OVERDUE not in _entry(digest, "N-NOTE")

    res = env.api("GET", "/api/v1/receivables?per_page=50", "mgr").get_json()
    flags = {i["order_no"]: i["note_overdue"] for i in res["items"]}
    assert flags == {"N-LATE": True, "N-NOTE": False, "N-FRESH": False, "N-OLD": True}
    marked = env.api("GET", "/api/v1/receivables?note_overdue=true", "mgr").get_json()
    assert sorted(i["order_no"] for i in marked["items"]) == ["N-LATE", "N-OLD"]
    assert env.api("GET", "/api/v1/receivables?note_overdue=maybe", "mgr").status_code == 400
