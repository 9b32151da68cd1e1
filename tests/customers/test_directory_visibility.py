"""The visible range (WECOM.md §6 Directory, doc 96260): what the simulator answers, and the full sync.

A member missing from the walk is marked left only when user/get answers 60111; outside the
token's range (60011) they are kept and reported as not visible.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from storage import directory
from storage.db import utcnow
from tests.customers.conftest import ADMIN, COMPLIANCE, Corp
from tests.helpers import config_toml
from wecom_hr import signals
from wecom_hr.cli import _register, cli
from wecom_hr.customers import directory_sync
from wecom_hr.dispatch import HandlerContext
from wecom_hr.wecom import WeComClient
from wecom_hr.wecom.errors import WeComAPIError


def _sync(corp: Corp) -> directory_sync.DirectoryCounts:
    with corp.env.runtime.db.session_scope() as s:
        return directory_sync.sync_directory(s, corp.env.runtime.wecom("contact"), utcnow(), runtime=corp.env.runtime)


def _errcode(client: WeComClient, path: str, **params: object) -> int:
    try:
        client.call("GET", path, params=dict(params))
    except WeComAPIError as exc:
        return int(exc.errcode or 0)
    return 0


def _active(corp: Corp) -> set[str]:
    with corp.env.runtime.db.session_scope() as s:
        return set(s.scalars(select(directory.Member.userid).where(directory.Member.status != directory.LEFT)))


@pytest.fixture
def left(corp: Corp, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Userids announced as signals.MEMBER_LEFT (in place of the departure handover that listens)."""
    heard: list[str] = []

    def listener(ctx: HandlerContext, userid: str) -> None:
        heard.append(userid)

    monkeypatch.setattr(signals, "_listeners", lambda: {signals.MEMBER_LEFT: (listener,)})
    yield heard


def test_the_simulator_answers_within_each_secrets_range(corp: Corp) -> None:
    one, two, three = corp.seed.departments
    corp.sim.scenario.limit_visible_range("app", departments=[one], users=[COMPLIANCE])
    app, contact = corp.env.runtime.wecom("app"), corp.env.runtime.wecom("contact")
    assert [d["id"] for d in app.call("GET", "department/list")["department"]] == [one]
    assert len(contact.call("GET", "department/list")["department"]) == len(corp.sim.state.departments)
    assert _errcode(app, "user/list", department_id=two) == 60011
    assert _errcode(app, "user/simplelist", department_id=three) == 60011
    assert _errcode(app, "user/get", userid=corp.seller(1)) == 60011
    assert _errcode(app, "user/get", userid="nobody-here") == 60111
    assert app.call("GET", "user/get", params={"userid": COMPLIANCE})["userid"] == COMPLIANCE  # by userid
    assert _errcode(contact, "user/get", userid=corp.seller(1)) == 0
    # fetch_child is ignored: the root lists only the members directly in it.
    everyone = contact.call("GET", "user/list", params={"department_id": 1, "fetch_child": 1})["userlist"]
    assert {u["userid"] for u in everyone} == {COMPLIANCE, ADMIN}


def test_a_member_outside_the_range_is_kept_and_reported_as_not_visible(
        corp: Corp, left: list[str], caplog: pytest.LogCaptureFixture) -> None:
    one, two, three = corp.seed.departments
    before = _active(corp)
    corp.sim.scenario.limit_visible_range("contact", departments=[one, two], users=[COMPLIANCE])
    hidden = sorted([corp.seed.managers[three], *corp.seed.salespeople[three], corp.hr, corp.seed.finance, ADMIN])
    with caplog.at_level(logging.WARNING, logger=directory_sync.__name__):
        counts = _sync(corp)
    assert (counts.departments, counts.left, counts.not_visible) == (2, 0, len(hidden))
    assert counts.members == len(before) - len(hidden)  # COMPLIANCE is read by userid (user/get)
    assert _active(corp) == before and left == []
    warning = next(r.getMessage() for r in caplog.records if "not visible" in r.getMessage())
    assert f"{len(hidden)} member(s) not visible to the app" in warning
    assert ", ".join(hidden[:directory_sync.SHOWN_USERIDS]) in warning and hidden[-1] not in warning


def test_a_member_deleted_in_wecom_is_marked_left_by_the_full_sync(corp: Corp, left: list[str]) -> None:
    seller = corp.seller(1, 2)
    with corp.sim.state.lock:
        del corp.sim.state.users[seller]  # gone from WeCom, no event reached us
    before = len(corp.sim.calls)
    counts = _sync(corp)
    asked = [c for c in corp.sim.calls[before:] if c.path == "user/get"]
    assert [(c.query["userid"], c.errcode) for c in asked] == [(seller, 60111)]
    assert (counts.left, counts.not_visible) == (1, 0) and left == [seller]
    with corp.env.runtime.db.session_scope() as s:
        row = directory.member(s, seller)
        assert row is not None and row.status == directory.LEFT and row.left_at is not None
    assert _sync(corp).left == 0 and left == [seller]  # once


def test_any_other_answer_keeps_the_member_and_is_logged(corp: Corp, left: list[str],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    seller = corp.seller(2, 1)
    with corp.sim.state.lock:
        del corp.sim.state.users[seller]
    corp.sim.inject("user/get", errcode=48002, times=None)  # API forbidden: says nothing about the member
    with caplog.at_level(logging.WARNING, logger=directory_sync.__name__):
        counts = _sync(corp)
    assert (counts.left, counts.not_visible) == (0, 0) and left == []
    assert seller in _active(corp)
    assert any(seller in r.getMessage() and "48002" in r.getMessage() for r in caplog.records)


def test_the_cli_prints_the_not_visible_count(corp: Corp, tmp_path: Path) -> None:
    corp.sim.scenario.limit_visible_range("contact", departments=corp.seed.departments)
    cfg = tmp_path / "config.toml"
    cfg.write_text(config_toml(corp.env.settings.wecom.api_base_url, corp.env.settings.database_url),
                   encoding="utf-8")
    _register()
    result = CliRunner().invoke(cli, ["--config", str(cfg), "sync", "directory"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output.strip().splitlines()[-1])
    assert printed["not_visible"] == 4 and printed["left"] == 0  # HR, finance, COMPLIANCE, ADMIN
