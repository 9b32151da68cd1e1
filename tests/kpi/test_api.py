"""/api/v1/kpis scoped by role, its parameters validated; /console/kpis for a manager; the digest."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from storage import directory
from storage.db import utcnow
from storage.outbox import OutboxMessage
from tests.web.conftest import COMPLIANCE, Console
from wecom_hr.archive.messages import parse_message
from wecom_hr.dispatch import HandlerContext
from wecom_hr.kpi.digest import KIND, send_digests
from wecom_hr.kpi.report import FIELDS
from wecom_hr.kpi.settings import from_settings
from wecom_hr.signals import MESSAGES_ARCHIVED, emit


def _members(console: Console, userid: str, query: str = "") -> tuple[int, dict]:  # type: ignore[type-arg]
    client = console.client()
    console.login(client, userid)
    res = client.get(f"/api/v1/kpis{query}")
    return res.status_code, res.get_json()


def test_role_scoping(console: Console) -> None:
    seller, manager = console.seller(), console.manager()
    with console.runtime.db.session_scope() as s:
        team = directory.team_of(s, manager)
        everyone = set(s.scalars(select(directory.Member.userid).where(directory.Member.status != directory.LEFT)))
    status, body = _members(console, seller)
    assert status == 200 and [m["userid"] for m in body["members"]] == [seller]
    assert set(body["members"][0]) == set(FIELDS) and set(body["team"]) == set(FIELDS)
    status, body = _members(console, manager)
    assert {m["userid"] for m in body["members"]} == team and console.seller(1) not in team
    status, body = _members(console, COMPLIANCE)
    assert {m["userid"] for m in body["members"]} == everyone
    status, body = _members(console, COMPLIANCE, f"?member={console.seller(1)}")
    assert [m["userid"] for m in body["members"]] == [console.seller(1)]
    dept = console.seed.departments[1]
    status, body = _members(console, COMPLIANCE, f"?department={dept}")
    assert set(console.seed.salespeople[dept]) <= {m["userid"] for m in body["members"]} <= everyone - {seller}


def test_out_of_scope_and_bad_parameters(console: Console) -> None:
    client = console.client()
    console.login(client, console.seller())
    assert client.get(f"/api/v1/kpis?member={console.seller(1)}").status_code == 403
    for query in ("from=2025-13-01", "from=yesterday", "to=2025-01-01&from=2025-02-01", "from=2020-01-01&to=2025-01-01",
                  "department=abc", "department=0"):
        res = client.get(f"/api/v1/kpis?{query}")
        assert res.status_code == 400, query
        assert "error" in res.get_json()
    assert console.app.test_client().get("/api/v1/kpis").status_code == 401


def _feed_archive(console: Console) -> None:
    """The seeded chats (tests/web/conftest.py seed_archive) through the listener, as the archive would."""
    from storage.archive import ArchiveMessage
    with console.runtime.db.session_scope() as s:
        rows = s.scalars(select(ArchiveMessage).order_by(ArchiveMessage.id)).all()
        messages = [parse_message(r.raw, r.seq) for r in rows]
        emit(MESSAGES_ARCHIVED, HandlerContext(console.runtime, s, 0, utcnow()), messages)


def test_page_renders_for_a_manager(console: Console) -> None:
    _feed_archive(console)
    seller, manager = console.seller(), console.manager()
    client = console.client()
    page = console.login(client, manager, "/console/kpis")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="kpi-table"' in html and f'data-userid="{seller}"' in html
    assert f'data-userid="{console.seller(1)}"' not in html
    sorted_page = client.get("/console/kpis?sort=reply_count&dir=desc").get_data(as_text=True)
    assert 'aria-sort="descending"' in sorted_page
    trend = client.get(f"/console/kpis?member={seller}").get_data(as_text=True)
    assert trend.count('<svg id="kpi-trend-') == 4
    assert "/console/archive?" not in html  # a manager may not search the archive: no drill-down link
    other = console.client()
    assert 'href="/console/archive?sender=' in console.login(other, COMPLIANCE, "/console/kpis").get_data(as_text=True)
    body = client.get(f"/api/v1/kpis?member={seller}").get_json()
    assert body["members"][0]["reply_count"] >= 1


def test_weekly_digest_once_per_manager_and_week(console: Console) -> None:
    settings = from_settings(console.runtime.settings)
    now = utcnow()
    with console.runtime.db.session_scope() as s:
        first = send_digests(s, settings, now, "http://console.test")
        again = send_digests(s, settings, now + timedelta(minutes=5), "http://console.test")
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == KIND)).all()
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == KIND)) == 2
    assert first["queued"] == 2 and again["queued"] == 0
    assert {r.touser for r in rows} == {console.manager(0), console.manager(1)}
    assert all(r.payload["msgtype"] == "markdown" and "团队 KPI 周报" in r.payload["markdown"]["content"] for r in rows)
