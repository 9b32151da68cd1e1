"""Every console page and console endpoint checks the role on the server, not only in the menu."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.web.conftest import BUCKET_TOTALS, Console

PAGES = {
    "/console/": {"compliance", "admin", "hr", "finance", "manager", "salesperson"},
    "/console/archive": {"compliance", "admin"},
    "/console/archive?q=返点": {"compliance", "admin"},
    "/console/archive/watch": {"compliance", "admin"},
    "/console/archive/audit": {"compliance", "admin"},  # README and /api/v1/audit give it to compliance
    "/console/customers": {"compliance", "admin", "hr", "finance", "manager", "salesperson"},
    "/console/customers/wmX": {"compliance", "admin", "hr", "finance", "manager", "salesperson"},
    "/console/departures": {"admin", "hr", "manager", "finance"},  # the seeded finance member leads 财务部
    "/console/departures/1": {"admin", "hr", "manager", "finance"},
    "/console/receivables": {"compliance", "admin", "hr", "finance", "manager", "salesperson"},
}
ENDPOINTS = {
    "/console/api/aging": {"compliance", "admin", "hr", "finance", "manager", "salesperson"},
    "/console/api/members": {"compliance", "admin", "hr", "finance", "manager", "salesperson"},
    "/console/api/customer-names?ids=wmX": {"compliance", "admin"},
}


@pytest.fixture
def clients(console: Console) -> dict[str, FlaskClient]:
    out = {}
    for role, userid in console.users().items():
        out[role] = console.client()
        console.login(out[role], userid)
    return out


def test_every_page_checks_the_role(console: Console, clients: dict[str, FlaskClient]) -> None:
    for path, allowed in PAGES.items():
        for role, client in clients.items():
            res = client.get(path)
            expected = 200 if role in allowed else 403
            assert res.status_code == expected, (path, role, res.status_code)
            if expected == 403:
                assert "无权" in res.get_data(as_text=True)


def test_every_console_endpoint_checks_the_role(console: Console, clients: dict[str, FlaskClient]) -> None:
    for path, allowed in ENDPOINTS.items():
        for role, client in clients.items():
            res = client.get(path)
            assert res.status_code == (200 if role in allowed else 403), (path, role, res.status_code)


def test_without_a_session_pages_redirect_and_endpoints_answer_401(console: Console) -> None:
    client = console.client()
    for path in PAGES:
        res = client.get(path)
        assert res.status_code == 302 and res.headers["Location"].startswith("/login?next="), path
    for path in ENDPOINTS:
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer not-a-known-token-0000"}).status_code == 401


def test_the_menu_shows_only_what_the_role_opens(clients: dict[str, FlaskClient]) -> None:
    seller = clients["salesperson"].get("/console/").get_data(as_text=True)
    assert "/console/customers" in seller and "/console/receivables" in seller
    assert "/console/archive" not in seller and "/console/departures" not in seller
    admin = clients["admin"].get("/console/").get_data(as_text=True)
    assert all(p in admin for p in ("/console/archive", "/console/archive/audit", "/console/departures"))


def test_the_apis_behind_the_pages_refuse_the_same_sessions(clients: dict[str, FlaskClient]) -> None:
    seller = clients["salesperson"]
    assert seller.get("/api/v1/archive/search?q=返点").status_code == 403
    assert seller.get("/api/v1/archive/export.csv?q=返点").status_code == 403
    assert seller.get("/api/v1/audit").status_code == 403
    assert seller.get("/api/v1/collections").status_code == 403
    found: Any = clients["compliance"].get("/api/v1/archive/search?q=返点").json
    assert found["total"] == 2


def _totals(client: FlaskClient) -> dict[str, str]:
    data: Any = client.get("/console/api/aging").json
    if not data["currencies"]:
        return {}
    return {b["bucket"]: b["amount"] for b in data["currencies"][0]["buckets"] if b["amount"] != "0.00"}


def test_aging_is_scoped_like_the_ledger(console: Console, clients: dict[str, FlaskClient]) -> None:
    assert _totals(clients["finance"]) == BUCKET_TOTALS
    assert _totals(clients["admin"]) == BUCKET_TOTALS
    # The first department's manager and salesperson own A-10 (0-30) and A-45 (30-60).
    assert _totals(clients["manager"]) == {"0-30": "1000.00", "30-60": "2000.00"}
    assert _totals(clients["salesperson"]) == {"0-30": "1000.00", "30-60": "2000.00"}
    assert _totals(clients["compliance"]) == {}
    data: Any = clients["finance"].get("/console/api/aging").json
    people = data["currencies"][0]["by_salesperson"]
    assert [p["total"] for p in people] == ["6500.00", "3000.00"]  # largest first


def test_the_receivables_page_draws_the_callers_own_buckets(clients: dict[str, FlaskClient]) -> None:
    html = clients["salesperson"].get("/console/receivables").get_data(as_text=True)
    assert 'data-key="0-30" data-value="1000.0"' in html and 'data-key="90+" data-value="0.0"' in html
    assert "催收任务" not in html  # collections are finance's
    finance = clients["finance"].get("/console/receivables").get_data(as_text=True)
    assert 'data-key="90+" data-value="3500.0"' in finance and "催收任务" in finance

