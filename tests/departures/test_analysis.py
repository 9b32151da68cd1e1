"""The departure analysis (离职分析报告, issue 17) on a seeded history: exact counts and rates per
departure, across departures, by department; the API validates its filters; the page is HR's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from storage import departure_exit, directory
from storage.customers import CUSTOMER_DELETED, MEMBER_DELETED, TRANSFERRED, Customer, CustomerFollow
from storage.departures import (
    AT_LIMIT,
    COMPLETED,
    CUSTOMER,
    DONE,
    OPEN,
    RECEIVABLE,
    REFUSED,
    REJECTED,
    Departure,
    DepartureItem,
)
from storage.receivables import Receivable, add_payment
from tests.web.conftest import (
    Console,
)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)




def _departure(s: Session, userid: str, last_day: str, approved: str, state: str = COMPLETED) -> Departure:
    dep = Departure(userid=userid, member_name=directory.display_name(s, userid), state=state,
                    last_day=date.fromisoformat(last_day), source="api", started_by="hr", summary={},
                    decided_by="m", decided_at=at(approved), created_at=at(approved), updated_at=at(approved))
    s.add(dep)
    s.flush()
    return dep


def _customer(s: Session, dep: Departure, ext: str, status: str, takeover: str | None, moved: str = "") -> None:
    if s.get(Customer, ext) is None:
        s.add(Customer(external_userid=ext, name=ext, created_at=at("2025-01-01"), first_seen_at=at("2025-01-01"),
                       updated_at=at("2025-01-01")))
    s.add(DepartureItem(departure_id=dep.id, kind=CUSTOMER, ref=ext, name=ext, takeover=takeover, status=status,
                        requested_at=at(moved) if moved else None, finished_at=at(moved) if moved else None,
                        updated_at=at("2026-01-01")))


def _ended(s: Session, ext: str, userid: str, when: str, reason: str) -> None:
    s.add(CustomerFollow(external_userid=ext, userid=userid, opened_at=at("2025-06-01"), ended_at=at(when),
                         end_reason=reason, updated_at=at(when)))


def _receivable(s: Session, dep: Departure | None, order: str, amount: str, currency: str = "CNY",
                payments: tuple[tuple[str, str], ...] = ()) -> None:
    r = Receivable(order_no=order, customer_key=f"name:{order}", customer_name=order, salesperson="x",
                   amount=Decimal(amount), currency=currency, due_on=date(2025, 12, 1), paid_amount=Decimal(0),
                   status="open", created_at=at("2025-11-01"), updated_at=at("2025-11-01"))
    s.add(r)
    s.flush()
    for paid, when in payments:
        add_payment(s, r, Decimal(paid), at(when).date(), source="api", now=at(when))
    if dep is not None:
        s.add(DepartureItem(departure_id=dep.id, kind=RECEIVABLE, ref=str(r.id), name=order, status=OPEN,
                            updated_at=at("2026-01-01")))


def _answer(s: Session, dep: Departure, reasons: list[str]) -> None:
    row = departure_exit.invite(s, dep.id, dep.userid, f"token-{dep.id}-" + "x" * 30, at("2026-01-01"))
    departure_exit.answer(row, reasons, "", at("2026-01-02"))


def seed_history(console: Console) -> dict[str, int]:
    """销售一部: one leaver, 3 transferred (1 lost within 90 days), 1 refused, 1 at limit; 1,300 handed over,
    300 collected since. 销售二部: one leaver, 1 transferred and lost; 1,000 handed over, all collected."""
    first, second = console.seller(0, 1), console.seller(1, 1)
    heir1, heir2 = console.seller(0, 0), console.seller(1, 0)
    with console.runtime.db.session_scope() as s:
        a = _departure(s, first, "2026-01-20", "2026-01-05T10:00:00")
        for ext, status, heir in (("wmA1", DONE, heir1), ("wmA2", DONE, heir1), ("wmA3", DONE, heir1),
                                  ("wmA4", REFUSED, None), ("wmA5", AT_LIMIT, None)):
            _customer(s, a, ext, status, heir, "2026-01-06T09:00:00" if heir else "")
        _ended(s, "wmA1", heir1, "2026-02-01T00:00:00", CUSTOMER_DELETED)  # lost: within 90 days
        _ended(s, "wmA2", heir1, "2026-06-01T00:00:00", MEMBER_DELETED)    # after 90 days: not counted
        _ended(s, "wmA3", heir2, "2026-01-10T00:00:00", CUSTOMER_DELETED)  # not the member it went to
        _ended(s, "wmA3", heir1, "2026-01-15T00:00:00", TRANSFERRED)       # moved on: not a loss
        _receivable(s, a, "R1", "1000.00", payments=(("200.00", "2026-01-01"), ("300.00", "2026-02-01")))
        _receivable(s, a, "R2", "500.00")
        _receivable(s, a, "R3", "100.00", currency="USD")
        _receivable(s, None, "R4", "700.00", payments=(("700.00", "2026-02-01"),))  # not handed over
        _answer(s, a, ["薪酬", "职业发展"])
        b = _departure(s, second, "2026-03-10", "2026-03-01T02:00:00")
        _customer(s, b, "wmB1", DONE, heir2, "2026-03-02T09:00:00")
        _ended(s, "wmB1", heir2, "2026-03-20T00:00:00", MEMBER_DELETED)
        _receivable(s, b, "R5", "1000.00", payments=(("1000.00", "2026-03-05"),))
        _answer(s, b, ["薪酬"])
        rejected = _departure(s, heir1, "2026-01-25", "2026-01-10T00:00:00", state=REJECTED)  # hands nothing over
        _customer(s, rejected, "wmC1", DONE, heir2, "2026-01-11T00:00:00")
        return {"a": a.id, "b": b.id}


def signed_in(console: Console, userid: str) -> Any:
    client = console.client()
    console.login(client, userid)
    return client


def test_the_figures_of_a_seeded_history(console: Console) -> None:
    ids = seed_history(console)
    hr = signed_in(console, console.seed.hr)
    body: Any = hr.get("/api/v1/departures/analysis").json
    assert body["currency"] == "CNY" and body["totals"] == {
        "departures": 2, "answered": 2,
        "customers": {"transferred": 4, "refused": 1, "unmoved": 1, "lost": 2, "loss_rate": 0.5},
        "receivables": {"count": 4, "other_currency": 1, "handed_over": "2300.00", "collected": "1300.00",
                        "recovery_rate": 0.5652},
        "reasons": {"薪酬": 2, "职业发展": 1}}
    assert body["reasons_by_month"] == [{"month": "2026-01", "counts": {"薪酬": 1, "职业发展": 1}},
                                        {"month": "2026-03", "counts": {"薪酬": 1}}]
    depts = {d["department"]: d for d in body["by_department"]}
    first, second = console.seed.departments[0], console.seed.departments[1]
    assert set(depts) == {first, second}
    assert depts[first]["customers"]["loss_rate"] == 0.3333 and depts[first]["receivables"]["recovery_rate"] == 0.2308
    assert depts[second]["customers"]["loss_rate"] == 1.0 and depts[second]["receivables"]["recovery_rate"] == 1.0
    [a, b] = body["items"]
    assert a["departure_id"] == ids["a"] and a["department"] == first and a["reasons"] == ["职业发展", "薪酬"]
    assert a["customers"] == {"transferred": 3, "refused": 1, "unmoved": 1, "lost": 1, "loss_rate": 0.3333}
    assert a["receivables"] == {"count": 3, "other_currency": 1, "handed_over": "1300.00", "collected": "300.00",
                                "recovery_rate": 0.2308}
    assert b["departure_id"] == ids["b"] and b["receivables"]["collected"] == "1000.00"
    one: Any = hr.get(f"/api/v1/departures/{ids['b']}/analysis").json
    assert one["customers"]["lost"] == 1 and one["reasons"] == ["薪酬"]


def test_filters_by_dates_and_department(console: Console) -> None:
    ids = seed_history(console)
    hr = signed_in(console, console.seed.hr)

    def departures(query: str) -> list[int]:
        res = hr.get(f"/api/v1/departures/analysis?{query}")
        assert res.status_code == 200, (query, res.json)
        return [row["departure_id"] for row in res.json["items"]]

    assert departures("from=2026-02-01") == [ids["b"]]
    assert departures("to=2026-01-31") == [ids["a"]]
    assert departures("from=2026-01-20&to=2026-03-10") == [ids["a"], ids["b"]]
    assert departures(f"department={console.seed.departments[1]}") == [ids["b"]]
    assert departures("department=1") == [ids["a"], ids["b"]]  # the root's subtree holds both
    for bad in ("from=2026-13-01", "to=20260101", "from=2026-03-01&to=2026-01-01", "department=abc",
                "department=-2", "department=0", "from=2026-1-1"):
        res = hr.get(f"/api/v1/departures/analysis?{bad}")
        assert res.status_code == 400 and "error" in res.json, bad


def test_the_analysis_is_for_hr_and_admin(console: Console) -> None:
    ids = seed_history(console)
    # (The seeded leavers' last days are past: they cannot sign in at all any more.)
    for userid in (console.manager(), console.seller(0, 0), console.seed.finance):
        client = signed_in(console, userid)
        assert client.get("/api/v1/departures/analysis").status_code == 403
        assert client.get(f"/api/v1/departures/{ids['a']}/analysis").status_code == 403
        assert client.get("/console/departures/analysis").status_code == 403
    assert console.client().get("/api/v1/departures/analysis").status_code == 401


def test_the_page_draws_the_charts_for_hr(console: Console) -> None:
    seed_history(console)
    hr = signed_in(console, console.seed.hr)
    res = hr.get("/console/departures/analysis")
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and "离职分析" in html
    assert all(f'id="analysis-{c}"' in html for c in ("reasons", "loss", "recovery"))
    assert 'data-value="33.33"' in html and 'data-value="23.08"' in html and "50.0%" in html and "56.5%" in html
    assert 'data-label="2026-01"' in html and 'data-series="职业发展"' in html
    assert "/console/departures/analysis" in hr.get("/console/").get_data(as_text=True)  # in HR's menu
    admin = signed_in(console, "admin1")
    assert admin.get(f"/console/departures/analysis?department={console.seed.departments[0]}").status_code == 200
    assert hr.get("/console/departures/analysis?from=yesterday").status_code == 400
    seller = signed_in(console, console.seller(1, 0))
    refused = seller.get("/console/departures/analysis")
    assert refused.status_code == 403 and "无权" in refused.get_data(as_text=True)
    assert "/console/departures/analysis" not in seller.get("/console/").get_data(as_text=True)
