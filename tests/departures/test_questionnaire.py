"""The exit questionnaire (离职问卷, issue 17): sent on approval, answered by the leaver signed in through
WeCom (with the session's CSRF token), re-answered until the last day, read back by HR and admin only."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from storage import departure_exit
from storage.db import utcnow
from storage.departures import get
from tests.web.conftest import (
    Console,
    csrf_of,
)
from wecom_hr import signals
from wecom_hr.config import ConfigError, settings_from_mapping
from wecom_hr.departures import questionnaire
from wecom_hr.departures.questionnaire import QuestionnaireError
from wecom_hr.dispatch import HandlerContext

LINK = re.compile(r"/console/exit/([A-Za-z0-9_-]{20,})")




def signed_in(console: Console, userid: str, path: str = "/console/") -> tuple[FlaskClient, str]:
    client = console.client()
    page = console.login(client, userid, path)
    return client, page.get_data(as_text=True)


def approved_departure(console: Console, leaver: str, successor: str) -> int:
    hr, html = signed_in(console, console.seed.hr)
    res = hr.post("/api/v1/departures", json={"userid": leaver, "last_day": "2030-01-31"},
                  headers={"X-CSRF-Token": csrf_of(html)})
    assert res.status_code == 201, res.get_json()
    departure_id = int(res.get_json()["id"])
    console.env.drain()
    manager, html = signed_in(console, console.manager())
    done = manager.post(f"/console/api/departures/{departure_id}/decision",
                        json={"decision": "approve", "successor": successor}, headers={"X-CSRF-Token": csrf_of(html)})
    assert done.status_code == 200, done.get_json()
    # The approval emits DEPARTURE_APPROVED (decision.decide); emitting it again must change nothing.
    with console.runtime.db.session_scope() as s:
        dep = get(s, departure_id)
        assert dep is not None
        signals.emit(signals.DEPARTURE_APPROVED, HandlerContext(console.runtime, s, 0, utcnow()), dep)
    console.env.drain()
    return departure_id


def invitations(console: Console, userid: str) -> list[str]:
    return [m["markdown"]["content"] for m in console.sim.sent_messages if m.get("msgtype") == "markdown"
            and userid in str(m.get("touser", "")).split("|") and "离职问卷" in m["markdown"]["content"]]


def test_the_leaver_answers_and_may_answer_again_before_the_last_day(console: Console) -> None:
    leaver, successor = console.seller(0, 1), console.seller(0, 0)
    departure_id = approved_departure(console, leaver, successor)
    [message] = invitations(console, leaver)  # once, however often the approval is announced
    found = LINK.search(message)
    assert found and "http://console.test/console/exit/" in message
    path = f"/console/exit/{found.group(1)}"

    client, html = signed_in(console, leaver, path)  # the link signs the leaver in through WeCom first
    assert 'id="exit-form"' in html and all(f'value="{r}"' in html for r in questionnaire.DEFAULT_REASONS)
    csrf = csrf_of(html)
    assert client.post(path, data={"reason": ["薪酬"]}).status_code == 403  # no CSRF token
    assert client.post(path, data={"csrf": csrf, "reason": ["想不到的"]}).status_code == 400
    assert client.post(path, data={"csrf": csrf}).status_code == 400  # at least one reason
    assert client.post(path, data={"csrf": csrf, "reason": ["薪酬"], "note": "长" * 2001}).status_code == 400
    first = client.post(path, data={"csrf": csrf, "reason": ["薪酬", "职业发展"], "note": " 想换个方向 "})
    assert first.status_code == 200 and 'id="exit-saved"' in first.get_data(as_text=True)
    again = client.post(path, data={"csrf": csrf, "reason": ["家庭", "薪酬"], "note": "家里有事"})
    assert again.status_code == 200
    assert "想换个方向" not in client.get(path).get_data(as_text=True)  # the page never reads answers back

    hr, _ = signed_in(console, console.seed.hr)
    answers: Any = hr.get(f"/api/v1/departures/{departure_id}/exit-answers").json
    assert answers["reasons"] == ["薪酬", "家庭"] and answers["note"] == "家里有事"  # in the configured order
    assert answers["answered"] is True and answers["userid"] == leaver
    with console.runtime.db.session_scope() as s:
        row = departure_exit.of_departure(s, departure_id)
        assert row is not None and row.submitted_at is not None and row.updated_at is not None
        assert row.updated_at >= row.submitted_at

    other, _ = signed_in(console, successor, path)  # someone else with the link learns nothing
    assert other.get(path).status_code == 404
    assert client.get("/console/exit/" + "x" * 43).status_code == 404


def test_answers_are_read_by_hr_and_admin_only(console: Console) -> None:
    leaver, successor = console.seller(0, 1), console.seller(0, 0)
    departure_id = approved_departure(console, leaver, successor)
    url = f"/api/v1/departures/{departure_id}/exit-answers"
    for userid in (console.manager(), leaver, successor, console.seed.finance):
        client, _ = signed_in(console, userid)
        assert client.get(url).status_code in (403, 404), userid
    for userid in (console.seed.hr, "admin1"):
        client, _ = signed_in(console, userid)
        res = client.get(url)
        assert res.status_code == 200 and res.json is not None and res.json["answered"] is False
        assert client.get("/api/v1/departures/999999/exit-answers").status_code == 404
    assert console.client().get(url).status_code == 401


def test_the_questionnaire_closes_after_the_last_day(console: Console) -> None:
    leaver = console.seller(0, 1)
    departure_id = approved_departure(console, leaver, console.seller(0, 0))
    token = LINK.search(invitations(console, leaver)[0])
    assert token
    with console.runtime.db.session_scope() as s:
        dep = get(s, departure_id)
        assert dep is not None
        after = utcnow() + timedelta(days=(date(2030, 2, 1) - utcnow().date()).days)
        with pytest.raises(QuestionnaireError) as closed:
            questionnaire.submit(s, console.runtime.settings, token.group(1), leaver, ["薪酬"], "", after)
        assert closed.value.status == 410
        questionnaire.open_for(s, console.runtime.settings, token.group(1), leaver, utcnow())  # open before it


def test_the_approval_itself_sends_the_questionnaire(console: Console) -> None:
    leaver = console.seller(1, 1)
    hr, html = signed_in(console, console.seed.hr)
    res = hr.post("/api/v1/departures", json={"userid": leaver, "last_day": "2030-01-31"},
                  headers={"X-CSRF-Token": csrf_of(html)})
    departure_id = int(res.get_json()["id"])
    console.env.drain()
    manager, html = signed_in(console, console.manager(1))
    assert manager.post(f"/console/api/departures/{departure_id}/decision",
                        json={"decision": "approve", "successor": console.seller(1, 0)},
                        headers={"X-CSRF-Token": csrf_of(html)}).status_code == 200
    console.env.drain()
    assert len(invitations(console, leaver)) == 1


def test_exit_reasons_come_from_the_config(console: Console) -> None:
    from tests.helpers import base_config, merge

    raw = base_config("http://127.0.0.1:1", "sqlite://")
    custom = settings_from_mapping(merge(raw, {"departures": {"exit_reasons": ["通勤", "薪酬", "通勤"]}}), environ={})
    assert questionnaire.reasons(custom) == ("通勤", "薪酬")
    assert questionnaire.reasons(settings_from_mapping(raw, environ={})) == questionnaire.DEFAULT_REASONS
    bad = settings_from_mapping(merge(raw, {"departures": {"exit_reasons": "薪酬"}}), environ={})
    with pytest.raises(ConfigError):
        questionnaire.reasons(bad)
