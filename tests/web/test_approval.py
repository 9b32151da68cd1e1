"""A manager approves a departure from the console: the same rules as a click on the WeCom card."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from storage import audit
from tests.web.conftest import Console, csrf_of


def _signed_in(console: Console, userid: str) -> tuple[FlaskClient, dict[str, str]]:
    client = console.client()
    html = console.login(client, userid).get_data(as_text=True)
    return client, {"X-CSRF-Token": csrf_of(html)}


def _start(console: Console, leaver: str) -> int:
    hr, headers = _signed_in(console, console.seed.hr)
    res = hr.post("/api/v1/departures", json={"userid": leaver, "last_day": "2030-01-31"}, headers=headers)
    assert res.status_code == 201, res.get_json()
    console.env.drain()
    return int(res.get_json()["id"])


def test_the_approver_decides_here_and_the_card_shows_it(console: Console) -> None:
    leaver, successor = console.seller(0, 1), console.seller(0, 0)
    departure_id = _start(console, leaver)
    manager, headers = _signed_in(console, console.manager())
    offered: Any = manager.get(f"/console/api/departures/{departure_id}/approval").json
    assert offered["may_decide"] is True and successor in [o["userid"] for o in offered["options"]]
    assert leaver not in [o["userid"] for o in offered["options"]]

    url = f"/console/api/departures/{departure_id}/decision"
    body = {"decision": "approve", "successor": successor}
    assert manager.post(url, json=body).status_code == 403  # no CSRF token
    assert manager.post(url, json={**body, "successor": leaver}, headers=headers).status_code == 400
    assert manager.post(url, json={**body, "decision": "maybe"}, headers=headers).status_code == 400
    done = manager.post(url, json=body, headers=headers)
    assert done.status_code == 200 and done.json == {"departure_id": departure_id, "state": "approved"}
    assert manager.post(url, json=body, headers=headers).status_code == 409  # decided once
    [update] = console.sim.card_updates
    assert update["userids"] == [console.manager()] and update["button"]["replace_name"].startswith("已同意 by ")
    report: Any = manager.get(f"/api/v1/departures/{departure_id}").json
    assert report["state"] in ("approved", "transferring") and report["successor"] == successor
    assert report["decided_by"] == console.manager()
    with console.runtime.db.session_scope() as s:
        [entry] = audit.entries(s, action="departure.approved")
        assert entry.actor == console.manager() and entry.detail["departure_id"] == departure_id
        assert entry.detail["via"] == "console" and "event_id" not in entry.detail


def test_a_manager_lists_the_teams_departures_only(console: Console) -> None:
    departure_id = _start(console, console.seller(0, 1))
    manager, _ = _signed_in(console, console.manager())
    mine: Any = manager.get("/console/api/team-departures").json
    assert [d["id"] for d in mine["items"]] == [departure_id]
    other, _ = _signed_in(console, console.manager(1))
    theirs: Any = other.get("/console/api/team-departures").json
    assert theirs == {"items": []}
    assert other.get(f"/api/v1/departures/{departure_id}").status_code == 404  # the report is not theirs either
    seller, _ = _signed_in(console, console.seller(1, 0))
    assert seller.get("/console/api/team-departures").status_code == 403


def test_only_the_cards_approvers_may_decide(console: Console) -> None:
    departure_id = _start(console, console.seller(0, 1))
    for userid in (console.manager(1), console.seed.hr, console.seller(0, 0)):
        client, headers = _signed_in(console, userid)
        answer = client.get(f"/console/api/departures/{departure_id}/approval")
        if answer.status_code == 200:
            assert answer.json == {"may_decide": False, "options": []}
        else:
            assert answer.status_code == 403  # a salesperson has no departures area at all
        res = client.post(f"/console/api/departures/{departure_id}/decision", json={"decision": "reject"},
                          headers=headers)
        assert res.status_code in (403, 409), userid
    assert not console.sim.card_updates


def test_rejecting_here_keeps_the_departure_open_for_hr(console: Console) -> None:
    departure_id = _start(console, console.seller(0, 1))
    manager, headers = _signed_in(console, console.manager())
    res = manager.post(f"/console/api/departures/{departure_id}/decision", json={"decision": "reject"},
                       headers=headers)
    answer: Any = res.json
    assert res.status_code == 200 and answer["state"] == "rejected"
    assert console.sim.card_updates[0]["button"]["replace_name"].startswith("已驳回 by ")
