"""End to end: msgaudit_notify -> pull -> decrypt -> watch-list card delivered to the simulator;
then search, context, export and the audit log through the API, with roles enforced."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from storage.archive import ArchiveMessage
from storage.db import Database
from tests.archive.conftest import message, write_pem
from tests.helpers import WecomEnv, make_env
from wecom_hr.archive.source import MemorySource
from wecom_hr.simulator.models import User

COMPLIANCE, ADMIN, SALES = "compliance1", "admin1", "sales1"


@pytest.fixture
def env(db: Database, tmp_path: Path, rsa_keys: dict[int, rsa.RSAPrivateKey]) -> Iterator[WecomEnv]:
    config = {"archive": {"private_keys": {"1": write_pem(tmp_path / "v1.pem", rsa_keys[1])}},
              "roles": {"compliance": [COMPLIANCE], "admin": [ADMIN]}}
    e = make_env(db, config, api_users=(COMPLIANCE, ADMIN, SALES))
    for userid in (COMPLIANCE, ADMIN, SALES, "zhangsan"):
        e.sim.state.add_user(User(userid=userid, name=userid))
    source = MemorySource()
    e.runtime.archive_source = source  # type: ignore[attr-defined]
    chat = [message("m1", "您好，这款空调活动价3999元", at=1),
            message("m2", "能便宜点吗", sender="wmCustomer1", to=("zhangsan",), at=2),
            message("m3", "加我私人微信 wx_8888 私聊，给你返点", at=3),
            message("m4", "<script>alert(1)</script> 返点另算", at=4),
            message("m5", "=HYPERLINK(\"x\") 报价", at=5)]
    for m in chat:
        source.add(m, 1, rsa_keys[1].public_key())
    yield e
    e.close()


def _archived(db: Database) -> int:
    with db.session_scope() as s:
        return int(s.scalar(select(func.count()).select_from(ArchiveMessage)) or 0)


def _notify_and_wait(env: WecomEnv, expected: int) -> None:
    env.sim.scenario.msgaudit_notify()
    env.drain()
    deadline = time.monotonic() + 10
    while _archived(env.runtime.db) < expected:  # the pull runs in a thread after the event commits
        assert time.monotonic() < deadline, "the archive was not pulled after msgaudit_notify"
        time.sleep(0.05)
    for _ in range(50):
        env.drain()
        if any(m.get("msgtype") == "template_card" for m in env.sim.sent_messages):
            return
        time.sleep(0.05)


def test_notify_pulls_and_a_watch_list_hit_reaches_compliance(env: WecomEnv) -> None:
    _notify_and_wait(env, 5)
    cards = [m for m in env.sim.sent_messages if m.get("msgtype") == "template_card"]
    watch = [c for c in cards if c["template_card"]["source"]["desc"] == "会话存档预警"]
    titles = sorted(c["template_card"]["main_title"]["title"] for c in watch)
    assert titles == ["[high] 导流-私人联系方式", "[medium] 返点回扣", "[medium] 返点回扣"]
    assert all(c["touser"] == COMPLIANCE for c in watch)
    # The same chat also passed contact details: the risk rule 联系方式外泄 (issue 18) opened a case.
    assert {c["template_card"]["main_title"]["title"] for c in cards if c not in watch} <= {"[high] 联系方式外泄"}
    # A second notify with nothing new changes nothing.
    _notify_and_wait(env, 5)
    assert len([m for m in env.sim.sent_messages if m.get("msgtype") == "template_card"]) == len(cards)


def test_search_context_export_and_audit(env: WecomEnv) -> None:
    _notify_and_wait(env, 5)
    res = env.api("GET", "/api/v1/archive/search?q=返点", COMPLIANCE)
    assert res.status_code == 200
    body = res.get_json()
    assert body["total"] == 2 and [h["msgid"] for h in body["hits"]] == ["m4", "m3"]
    snippet = body["hits"][0]["snippet"]
    assert "&lt;/script&gt; <mark>返点</mark>另算" in snippet and "<script>" not in snippet
    assert {"msgid", "sender", "customer", "room", "time", "snippet"} <= set(body["hits"][0])

    ctx = env.api("GET", "/api/v1/archive/messages/m3/context?before=1&after=1", COMPLIANCE).get_json()
    assert [ctx["before"][0]["msgid"], ctx["message"]["msgid"], ctx["after"][0]["msgid"]] == ["m2", "m3", "m4"]

    export = env.api("GET", "/api/v1/archive/export.csv?q=报价 OR 返点", ADMIN)
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert export.mimetype == "text/csv" and rows[0][:3] == ["msgid", "time", "sender"]
    text = rows[0].index("text")
    assert [r[0] for r in rows[1:]] == ["m5", "m4", "m3"] and rows[1][text].startswith("'=")  # formula defused

    audit = env.api("GET", "/api/v1/audit?action=archive.search", ADMIN).get_json()["entries"]
    assert audit[0]["actor"] == COMPLIANCE and audit[0]["detail"]["query"] == "返点"
    assert audit[0]["detail"]["count"] == 2
    exports = env.api("GET", "/api/v1/audit?action=archive.export", ADMIN).get_json()["entries"]
    assert exports[0]["detail"]["count"] == 3


def test_only_compliance_and_admin_may_read_the_archive(env: WecomEnv) -> None:
    assert env.api("GET", "/api/v1/archive/search?q=返点", SALES).status_code == 403
    assert env.client.get("/api/v1/archive/search?q=返点").status_code == 401
    assert env.api("GET", "/api/v1/audit", SALES).status_code == 403
    assert env.api("GET", "/api/v1/archive/messages/m1/context", SALES).status_code == 403
    assert env.api("GET", "/api/v1/archive/search?from=yesterday", COMPLIANCE).status_code == 400
    assert env.api("GET", "/api/v1/archive/messages/nope/context", COMPLIANCE).status_code == 404


def test_watch_rules_through_the_api(env: WecomEnv) -> None:
    bad = env.api("POST", "/api/v1/archive/watch-rules", COMPLIANCE, json={"name": "x", "regexes": ["("]})
    assert bad.status_code == 400 and "rule.regexes" in bad.get_json()["error"]
    made = env.api("POST", "/api/v1/archive/watch-rules", COMPLIANCE,
                   json={"name": "空调低价", "keywords": ["3999"], "severity": "low"})
    assert made.status_code == 201
    rule_id = made.get_json()["id"]
    _notify_and_wait(env, 5)
    hits = env.api("GET", "/api/v1/archive/watch-hits", COMPLIANCE).get_json()["hits"]
    assert {"rule": f"api:{rule_id}", "msgid": "m1"} in [{"rule": h["rule"], "msgid": h["msgid"]} for h in hits]
    listed = env.api("GET", "/api/v1/archive/watch-rules", COMPLIANCE).get_json()["rules"]
    assert {r["source"] for r in listed} == {"default", "api"}
    assert env.api("DELETE", f"/api/v1/archive/watch-rules/{rule_id}", ADMIN).status_code == 204
    assert env.api("DELETE", f"/api/v1/archive/watch-rules/{rule_id}", ADMIN).status_code == 404
