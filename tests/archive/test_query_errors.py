"""A query that cannot mean what it says is refused with a Chinese explanation, not searched for
its literal text (issue 20 item 4): unclosed quotes, quotes inside a word, NOT with nothing after."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest

from storage.archive_query import Group, QueryError, parse
from storage.db import Database
from tests.helpers import WecomEnv, make_env
from wecom_hr.api import messages

COMPLIANCE = "compliance1"


@pytest.mark.parametrize(("text", "code", "fragment"), [
    ('"加 微信', "query_unclosed_quote", '"加 微信'),
    ('返点 "加 微信" "私下', "query_unclosed_quote", '"私下'),
    ("“加 微信", "query_unclosed_quote", '"加 微信'),
    ('a"b c"', "query_quote_in_word", 'a"b'),
    ("返点 NOT", "query_dangling_not", "NOT"),
    ("返点 NOT OR 回扣", "query_dangling_not", "NOT"),
    ("x" * 101, "query_term_too_long", "x" * 19 + "…"),
])
def test_syntax_problems_raise_a_query_error_naming_the_fragment(text: str, code: str, fragment: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse(text)
    assert raised.value.code == code and raised.value.fragment == fragment


def test_well_formed_queries_still_parse() -> None:
    assert parse('"加 微信" NOT 官方').groups == (Group(("加 微信",), ("官方",)),)
    assert parse("“加 微信”") == parse('"加 微信"') == parse("＂加 微信＂")  # Chinese keyboards' quotes
    assert parse("返点 OR 回扣 -测试").groups == (Group(("返点",)), Group(("回扣",), ("测试",)))
    assert parse("").empty and parse("  OR  ").empty and parse('""').empty


def test_each_query_error_has_a_chinese_message() -> None:
    for text in ('"加 微信', 'a"b c"', "返点 NOT", "x" * 101, " OR ".join("ab" for _ in range(9))):
        with pytest.raises(QueryError) as raised:
            parse(text)
        code, message = messages.describe(400, str(raised.value))
        assert code == raised.value.code and not message.startswith("请求有误"), (text, message)
    assert messages.describe(400, 'unclosed quote: "加 微信')[1].startswith('引号未闭合："加 微信')


@pytest.fixture
def env(db: Database) -> Iterator[WecomEnv]:
    made = make_env(db, {"roles": {"compliance": [COMPLIANCE]}}, api_users=(COMPLIANCE,))
    yield made
    made.close()


@pytest.mark.parametrize("path", ["/api/v1/archive/search", "/api/v1/archive/export.csv"])
def test_the_api_answers_400_with_the_explanation(env: WecomEnv, path: str) -> None:
    typed = '返点 "加 微信'
    res = env.api("GET", f"{path}?q={quote(typed)}", COMPLIANCE)
    assert res.status_code == 400
    assert res.get_json() == {"error": 'unclosed quote: "加 微信', "code": "query_unclosed_quote",
                              "message": '引号未闭合："加 微信（请补上另一个双引号，或去掉它）'}
