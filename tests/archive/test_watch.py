"""Watch-lists: matched on extracted text, scoped, alerted once per (rule, msgid), digested daily."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage import directory
from storage.archive import WatchHit
from storage.archive_store import NewMessage
from storage.db import Database, utcnow
from storage.outbox import OutboxMessage
from tests.archive.conftest import message
from wecom_hr.archive.digest import send_digest
from wecom_hr.archive.messages import parse_message
from wecom_hr.archive.settings import ArchiveSettings, WatchRuleSpec
from wecom_hr.archive.watch import load_rules, match_and_alert

OFFICERS = ["compliance1", "compliance2"]


def _msg(msgid: str, text: str, **kw: object) -> NewMessage:
    return parse_message(json.dumps(message(msgid, text, **kw), ensure_ascii=False), 1)  # type: ignore[arg-type]


DEFAULTS = ArchiveSettings()


def _run(db: Database, messages: list[NewMessage], settings: ArchiveSettings = DEFAULTS) -> int:
    with db.session_scope() as s:
        rules = load_rules(s, settings)
        return match_and_alert(s, rules, messages, OFFICERS, lambda m: f"https://hr.example/{m}", utcnow())


def _outbox(db: Database) -> list[OutboxMessage]:
    with db.session_scope() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_the_default_pack_alerts_compliance_with_a_card(db: Database) -> None:
    hits = _run(db, [_msg("m1", "您好，方便的话加我私人微信聊，价格好说"), _msg("m2", "合同已经发您邮箱了")])
    assert hits == 1
    [queued] = _outbox(db)
    card = queued.payload["template_card"]
    assert queued.touser == "compliance1|compliance2" and queued.payload["msgtype"] == "template_card"
    assert card["card_type"] == "text_notice" and "导流-私人联系方式" in card["main_title"]["title"]
    assert "加我私人微信" in card["sub_title_text"]
    assert {"keyname": "客户", "value": "wmCustomer1"} in card["horizontal_content_list"]
    assert card["card_action"] == {"type": 1, "url": "https://hr.example/m1"}


def test_the_same_message_never_alerts_twice(db: Database) -> None:
    msg = _msg("m1", "转账给我个人，不开票便宜")
    first = _run(db, [msg])
    assert _run(db, [msg]) == 0 and first == 2  # two rules hit; a re-run adds nothing
    assert len(_outbox(db)) == 2


def test_text_not_json_is_matched(db: Database) -> None:
    # "pdd" appears only inside the link URL field name/JSON, not in what a person reads.
    link = _msg("m1", msgtype="link", link={"title": "官方商城", "description": "", "link_url": ""},
                text="")
    quoted = _msg("m2", "", msgtype="file", file={"filename": "报价.pdf", "sdkfileid": "pdd-returns"})
    assert _run(db, [link, quoted]) == 0


def test_regexes_and_ascii_folding(db: Database) -> None:
    assert _run(db, [_msg("m1", "加下我的VX吧"), _msg("m2", "去ＰＤＤ拍更便宜")]) == 2


def test_rules_scoped_to_members_and_departments(db: Database) -> None:
    with db.session_scope() as s:
        directory.upsert_department(s, 1, "公司", None)
        directory.upsert_department(s, 2, "销售部", 1)
        directory.upsert_department(s, 3, "华东组", 2)
        directory.upsert_member(s, "zhangsan", departments=[3])
        directory.upsert_member(s, "lisi", departments=[1])
    rules = (WatchRuleSpec("销售部暗语", ("老地方",), departments=(2,)),
             WatchRuleSpec("只看王五", ("老地方",), members=("wangwu",), severity="low"))
    settings = ArchiveSettings(default_rules=False, watch_rules=rules)
    # zhangsan is in a sub-department of 2; a customer writing to zhangsan is in scope too.
    msgs = [_msg("a", "老地方见", sender="zhangsan"), _msg("b", "老地方见", sender="lisi"),
            _msg("c", "老地方见", sender="wmCustomer1", to=("zhangsan",)), _msg("d", "老地方见", sender="wangwu")]
    assert _run(db, msgs, settings) == 3
    with db.session_scope() as s:
        got = sorted((h.msgid, h.rule) for h in s.scalars(select(WatchHit)))
    assert got == [("a", "config:销售部暗语"), ("c", "config:销售部暗语"), ("d", "config:只看王五")]


def test_the_daily_digest_is_queued_once(db: Database) -> None:
    _run(db, [_msg("m1", "我们私下交易吧"), _msg("m2", "有返点吗")])
    now = utcnow() + timedelta(minutes=1)
    with db.session_scope() as s:
        first = send_digest(s, OFFICERS, now)
    with db.session_scope() as s:
        second = send_digest(s, OFFICERS, now + timedelta(minutes=5))
    assert first == {"hits": 2, "queued": True} and second["queued"] is False
    digest = _outbox(db)[-1]
    content = digest.payload["markdown"]["content"]
    assert digest.kind == "archive_digest" and "命中 2 条" in content
    assert content.index("导流-私下交易") < content.index("返点回扣")  # high severity first


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_is_ignored(db: Database, text: str) -> None:
    assert _run(db, [_msg("m1", text)]) == 0


def test_the_digest_shows_chat_text_as_plain_text_and_fits(db: Database) -> None:
    msgs = [_msg("m0", "私下交易 [x](http://y)\n> **[点此认证](http://phish)**")]
    msgs += [_msg(f"m{i}", f"{i:02d}" + "客户说我们私下交易吧价格好商量" * 4) for i in range(1, 25)]
    _run(db, msgs)
    with db.session_scope() as s:
        assert send_digest(s, OFFICERS, utcnow() + timedelta(minutes=1))["queued"] is True
    content = _outbox(db)[-1].payload["markdown"]["content"]
    assert "](" not in content and "http://y" not in content and not re.search(r"\n\s*>\s*\*\*", content)
    assert "私下交易" in content and len(content.encode()) <= 2048
    assert "命中 25 条" in content and re.search(r"…另有 (\d+) 条命中未列出", content)
