"""wecom_hr.wecom.markdown: untrusted values are inert in WeCom markdown, and every message fits 2048 bytes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from storage.db import Database
from tests.simulator.conftest import AGENT_ID, Api, api, sim  # noqa: F401 (fixtures)
from wecom_hr.customers import messages
from wecom_hr.departures import texts
from wecom_hr.receivables.digest import Line, Section, render
from wecom_hr.simulator import Simulator, seed_company
from wecom_hr.wecom.markdown import (
    CONTENT_MAX_BYTES,
    cut_bytes,
    fit_lines,
    markdown,
    md_escape,
    md_link,
    md_url,
    text,
    utf8_len,
)

PHISH = "王总](http://x)\n> **[系统通知：账号异常，点此重新认证](http://phish)**"
AT = datetime(2026, 3, 1, 2, 20, tzinfo=UTC)
TZ = "Asia/Shanghai"


def no_live_markdown(content: str, fixed_links: int = 0) -> None:
    """No link the builder did not write itself, no quote or heading started by a value."""
    assert content.count("](") == fixed_links
    assert "http://x" not in content and "http://phish" not in content


def name60(i: int) -> str:
    return f"{i:02d}" + "客户名称很长的公司" * 6 + "有限公司"[:4]


# md_escape ------------------------------------------------------------------------------------


def test_md_escape_neutralises_the_phishing_nickname() -> None:
    out = md_escape(PHISH)
    assert "](" not in out and "\n" not in out and "\r" not in out
    assert not re.search(r"[\[\]()*`<>#_&]", out)
    assert "王总" in out and "系统通知：账号异常，点此重新认证" in out
    assert md_escape(out) == out  # idempotent: escaping twice changes nothing


def test_md_escape_collapses_control_characters_and_quote_lines() -> None:
    out = md_escape("甲\r\n> 乙\t\x00丙\u2028# 丁\u202e戊")
    assert out == "甲 ＞ 乙 丙 ＃ 丁 戊"
    assert md_escape("<font color=\"warning\">紧急</font>") == "＜font color=＂warning＂＞紧急＜/font＞"
    assert md_escape("`代码` __下划线__ a\\b &amp;") == "｀代码｀ ＿＿下划线＿＿ a＼b ＆amp;"
    assert md_escape(None) == "" and md_escape(1234) == "1234"


def test_md_escape_bounds_one_value_on_a_character_boundary() -> None:
    out = md_escape("客" * 500)
    assert len(out) == 200 and out.endswith("…")
    assert len(md_escape("x" * 500, 20)) == 20
    assert md_escape("客" * 200) == "客" * 200


def test_links_we_write_stay_links_with_an_inert_label_and_encoded_url() -> None:
    assert md_url("https://hr.example.com/console/departures/7") == "https://hr.example.com/console/departures/7"
    assert md_url("https://x/a b)(c\n") == "https://x/a%20b%29%28c"
    assert md_link("查看](http://evil)", "https://x/y") == "[查看］（http：//evil）](https://x/y)"


# fitting --------------------------------------------------------------------------------------


def test_fit_lines_keeps_whole_lines_and_counts_the_rest() -> None:
    lines = [f"- {name60(i)}" for i in range(40)]
    out = fit_lines(["**标题**"], lines, ["[查看](https://x/y)"], lambda n: f"…另有 {n} 条，见控制台")
    assert utf8_len(out) <= CONTENT_MAX_BYTES
    shown = [line for line in out.split("\n") if line.startswith("- ")]
    assert shown == lines[:len(shown)] and 0 < len(shown) < 40
    assert f"…另有 {40 - len(shown)} 条，见控制台" in out
    assert out.endswith("[查看](https://x/y)") and out.startswith("**标题**\n")


def test_fit_lines_sends_everything_when_it_fits_and_counts_hidden_and_weights() -> None:
    assert fit_lines(["h"], ["a", "b"], ["t"]) == "h\na\nb\nt"
    assert fit_lines(["h"], ["a"], ["t"], hidden=3) == "h\na\n…另有 3 条未列出\nt"
    big = ["客" * 400] * 4
    out = fit_lines([], big, [], lambda n: f"…另有 {n} 位", weights=[5, 5, 5, 5])
    assert out.endswith("\n…另有 15 位") and out.count("客" * 400) == 1 and utf8_len(out) <= CONTENT_MAX_BYTES


def test_a_single_too_long_line_is_cut_on_a_utf8_boundary() -> None:
    out = fit_lines(["头"], ["中😀" * 2000], ["尾"])
    assert utf8_len(out) <= CONTENT_MAX_BYTES
    out.encode("utf-8").decode("utf-8")  # strict: no broken character
    assert out.startswith("头\n中😀") and out.endswith("尾")
    assert cut_bytes("中文", 4) == "…" and cut_bytes("中文", 6) == "中文"


def test_payload_builders_enforce_the_limit_for_text_and_markdown() -> None:
    for body, kind in ((markdown("中" * 5000), "markdown"), (text("中" * 5000), "text")):
        content = body[kind]["content"]
        assert body["msgtype"] == kind and utf8_len(content) <= CONTENT_MAX_BYTES and content.endswith("…")


# customers ------------------------------------------------------------------------------------


def test_deletion_alert_for_a_phishing_nickname_has_no_live_link() -> None:
    label = messages.customer_label(PHISH, "星河科技")
    for kind, to_member in (("member_deleted", False), ("customer_deleted", False), ("customer_deleted", True)):
        content = messages.single(messages.AlertLine(kind, "张三", label, AT, to_member), TZ)["markdown"]["content"]
        no_live_markdown(content)
        assert not re.search(r"\n\s*>\s*\*\*", content)  # the value opened no quote line of its own
        assert "系统通知：账号异常，点此重新认证" in content and "（星河科技）" in content
    risk = messages.risk("李四](http://x)", 12, 10, "03月01日")["markdown"]["content"]
    no_live_markdown(risk)


def test_customer_digest_for_25_long_names_fits_and_counts_the_rest() -> None:
    lines = [messages.AlertLine("member_deleted", f"成员{i % 5}", name60(i), AT, False) for i in range(25)]
    content = messages.digest(lines, TZ)["markdown"]["content"]
    assert utf8_len(content) <= CONTENT_MAX_BYTES
    shown_members = re.findall(r"^> 成员\d：", content, re.M)
    more = re.search(r"另有 (\d+) 位客户未列出", content)
    assert more is not None and 0 < len(shown_members) < 5
    assert int(more.group(1)) == 25 - 5 * len(shown_members)
    assert "成员删除客户 25 位" in content


def test_customer_digest_escapes_names() -> None:
    lines = [messages.AlertLine("member_deleted", "成员](http://x)", PHISH, AT, False)]
    no_live_markdown(messages.digest(lines, TZ)["markdown"]["content"])


# departures -----------------------------------------------------------------------------------


def test_departure_texts_escape_names_and_fit() -> None:
    rows = [texts.refused_line(PHISH if i == 0 else name60(i), False, "refused", None) for i in range(25)]
    content = texts.refused_notice("张三](http://x)", rows, "https://hr.example/console/departures/1")["markdown"]["content"]
    no_live_markdown(content, fixed_links=1)
    assert utf8_len(content) <= CONTENT_MAX_BYTES and re.search(r"…及其他 \d+ 位", content)
    lines = [texts.briefing_line(name60(i) + "](http://x)", "2026-02-01", Decimal("100.00"), 1) for i in range(25)]
    brief = texts.briefing(PHISH, 30, lines, "https://hr.example/console/customers?owner=u1", hidden=5)
    content = brief["markdown"]["content"]
    no_live_markdown(content, fixed_links=1)
    assert utf8_len(content) <= CONTENT_MAX_BYTES and re.search(r"…及其他 \d+ 位", content)
    totals = texts.Totals(1, 0, Decimal("0"), 0)
    report = texts.report(PHISH, {"done": 1}, {}, totals, "https://hr.example/console/departures/1")
    no_live_markdown(report["markdown"]["content"], fixed_links=1)


# receivables ----------------------------------------------------------------------------------


def _section(n: int, customer: str = "", order_no: str = "", followup: str = "") -> Section:
    section = Section(tier_days=30, role="team")
    section.add("CNY", n, Decimal(1000 * n))
    section.lines = [Line(order_no=order_no or f"SO-{i:04d}", customer=customer or name60(i),
                          outstanding=Decimal("1000.00"), currency="CNY", days_overdue=31,
                          owner_name="王五](http://x)", followup=followup) for i in range(n)]
    return section


def test_receivables_digest_escapes_every_value() -> None:
    section = _section(1, customer=PHISH, order_no="SO-1](http://x)", followup="下周付\n> [点此](http://phish)")
    content = render(date(2026, 4, 1), [section])
    no_live_markdown(content)
    assert "系统通知：账号异常，点此重新认证" in content


def test_receivables_digest_for_25_long_names_fits_and_counts_the_rest() -> None:
    content = render(date(2026, 4, 1), [_section(25)], footer="\n[查看全部](https://hr.example/receivables/followup)")
    assert utf8_len(content) <= CONTENT_MAX_BYTES
    shown = len(re.findall(r"^\d+\. ", content, re.M))
    assert f"…另有 {25 - shown} 笔未列出" in content and content.endswith("(https://hr.example/receivables/followup)")


# simulator ------------------------------------------------------------------------------------


def _send(api: Api, kind: str, content: str) -> dict[str, Any]:  # noqa: F811
    return api.post("message/send", {"touser": "lina", "msgtype": kind, "agentid": AGENT_ID,
                                     kind: {"content": content}})


def test_the_simulator_refuses_content_over_2048_bytes(sim: Simulator, api: Api) -> None:  # noqa: F811
    seed_company(sim, departments=1, salespeople_per_department=2)
    at_limit = "中" * 682 + "ab"  # 2048 bytes
    assert utf8_len(at_limit) == 2048 and utf8_len(at_limit + "c") == 2049
    for kind in ("markdown", "text"):
        refused = _send(api, kind, at_limit + "c")
        assert refused["errcode"] == 45002 and "content size out of limit" in refused["errmsg"]
        assert _send(api, kind, at_limit)["errcode"] == 0
    assert len(sim.sent_messages) == 2


def test_the_outbox_never_sends_more_than_the_limit(db: Database) -> None:
    """Whatever a builder queued, what goes out through message/send fits (one limit, in one place)."""
    from storage import outbox
    from tests.helpers import make_env
    from wecom_hr.outbox import deliver

    env = make_env(db)
    try:
        seed_company(env.sim, departments=1, salespeople_per_department=1)
        long_body = {"msgtype": "markdown", "markdown": {"content": "**提醒**\n" + "客户王总" * 300}}
        with env.runtime.db.session_scope() as s:
            outbox.enqueue(s, "test:too-long", "test", ["lina"], long_body)
        assert deliver(env.runtime) == 1
        [sent] = env.sim.sent_messages
        assert utf8_len(sent["markdown"]["content"]) <= 2048 and sent["markdown"]["content"].endswith("…")
        with env.runtime.db.session_scope() as s:
            assert s.scalar(select(outbox.OutboxMessage.status)) == outbox.SENT
    finally:
        env.close()
