"""Search answers equal a full scan with the same substring tests, for any query, on both backends.

The corpus uses a tiny alphabet so that bigrams repeat inside messages, trigrams share prefixes
with different next characters, and terms sit at the very end of bodies: exactly the cases where
an index that is "almost right" returns a wrong count.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.archive_query import QueryError, parse
from storage.archive_search import Filters, full_scan, search
from storage.archive_store import append_messages
from storage.db import Database
from tests.archive.conftest import T0, message
from wecom_hr.archive.messages import parse_message

ALPHABET = "返点拼多ab A私下的😀"
SENDERS = ("zhangsan", "lisi", "wmCust1", "woCust2")


def _corpus(n: int = 400, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    texts = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 16))) for _ in range(n)]
    texts += ["返点返点返", "拼多多拼多a", "私下交易 私下", "ＰＤＤ的价格", "PDD", "pdd", "点", "返", "a" * 30, ""]
    return texts


@pytest.fixture
def corpus(db: Database) -> Iterator[Database]:
    rng = random.Random(3)
    rows = []
    for i, body in enumerate(_corpus()):
        sender = SENDERS[i % 4]
        to = ("zhangsan",) if sender.startswith("w") else (f"wmCust{i % 3}",)
        room = "wrRoom1" if i % 5 == 0 else ""
        # Timestamps collide on purpose (ties are broken by archive position).
        raw = message(f"m{i}", body, sender=sender, to=to, room=room, at=rng.randint(0, 300))
        rows.append(parse_message(json.dumps(raw, ensure_ascii=False), i + 1))
    with db.session_scope() as s:
        append_messages(s, rows)
    yield db


NO_FILTERS = Filters()


def _same(db: Database, q: str, filters: Filters = NO_FILTERS, limit: int = 20, offset: int = 0) -> str:
    with db.session_scope() as s:
        query = parse(q)
        got = search(s, query, filters, limit=limit, offset=offset)
        want = full_scan(s, query, filters)
    assert got.total == len(want), (q, got.plan)
    assert got.ids == want[offset:offset + limit], (q, got.plan)
    return got.plan


terms = st.text(alphabet=ALPHABET, min_size=1, max_size=6).filter(lambda t: t.strip() != "")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=terms, b=terms, op=st.sampled_from(["{a}", "{a} {b}", "{a} OR {b}", "{a} -{b}", '"{a}"', "NOT {a}"]),
       offset=st.sampled_from([0, 0, 7]))
def test_any_query_equals_a_full_scan(corpus: Database, a: str, b: str, op: str, offset: int) -> None:
    q = op.format(a=a.replace('"', ""), b=b.replace('"', "")).replace("- ", "-")
    _same(corpus, q, offset=offset)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=terms, b=terms, c=terms, op=st.sampled_from(["{a} {b}", "{a} -{b}", "{a} {b} -{c}", "{a} -{b} -{c}"]),
       offset=st.sampled_from([0, 7]))
def test_merged_counts_equal_a_full_scan(corpus: Database, monkeypatch: pytest.MonkeyPatch, a: str, b: str, c: str,
                                         op: str, offset: int) -> None:
    import storage.archive_search as planner

    monkeypatch.setattr(planner, "MERGE_FROM", 0)  # every driver counts as common: counts merge on SQLite
    q = op.format(a=a.replace('"', ""), b=b.replace('"', ""), c=c.replace('"', ""))
    _same(corpus, q, offset=offset)
    _same(corpus, q, Filters(time_from=T0 + 50_000, time_to=T0 + 250_000))


def test_common_terms_are_counted_by_merging_on_sqlite(corpus: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    import storage.archive_search as planner

    monkeypatch.setattr(planner, "MERGE_FROM", 0)
    sqlite = corpus.engine.dialect.name == "sqlite"
    for q in ("返点 -拼多", "返点 拼多多 -私下", "点返 -返点返 -ab"):
        assert _same(corpus, q) == ("merge" if sqlite else "index")
    for q in ("返点", "返点 -点", "返点 -😀返点拼多", "返点 -拼多"):  # one term, a 1- or 5-char term, a filter
        assert _same(corpus, q, Filters(sender="lisi") if q == "返点 -拼多" else NO_FILTERS) != "merge"


@pytest.mark.parametrize("q", ["返", "点", "😀", "返点", "点返", "返点返", "拼多多", "私下交易", "多a", "ab A",
                               "a" * 5, "a" * 29, "a" * 31, "的价格", "pdd", "PDD", "ＰＤＤ", "私下 -交易",
                               "返点 OR 拼多", "返 点", "NOT 返", '"私下交易 私下"'])
def test_edge_queries(corpus: Database, q: str) -> None:
    _same(corpus, q)


def test_each_access_path_is_used_and_exact(corpus: Database) -> None:
    assert _same(corpus, "返点") == "index"
    assert _same(corpus, "😀返点拼") == "index"            # a 4-window plus a body check
    assert _same(corpus, "的") in ("range", "scan")
    assert _same(corpus, "-返点") == "scan"                 # only an exclusion
    assert _same(corpus, "返点", Filters(sender="lisi")) in ("index", "scan")


@pytest.mark.parametrize("filters", [
    Filters(sender="wmCust1"), Filters(customer="wmCust2"), Filters(room="wrRoom1"), Filters(msgtype="text"),
    Filters(time_from=T0 + 100_000, time_to=T0 + 200_000), Filters(sender="zhangsan", room="wrRoom1"),
])
def test_filters_combine_with_terms(corpus: Database, filters: Filters) -> None:
    for q in ("", "返", "返点", "拼多多", "私下 -点"):
        _same(corpus, q, filters)


def test_pages_walk_the_whole_answer_without_gaps(corpus: Database) -> None:
    with corpus.session_scope() as s:
        query = parse("点")
        want = full_scan(s, query)
        pages = [search(s, query, limit=25, offset=o).ids for o in range(0, len(want) + 25, 25)]
    assert [i for page in pages for i in page] == want


def test_query_language_limits() -> None:
    assert parse("").empty and parse("  OR  ").empty
    with pytest.raises(QueryError):
        parse("x" * 101)
    with pytest.raises(QueryError):
        parse(" OR ".join("ab" for _ in range(9)))


def test_the_paths_for_common_terms(corpus: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    import storage.archive_search as planner

    # With tiny caps every term looks common: 1-character queries scan, counts come from the index.
    monkeypatch.setattr(planner, "ESTIMATE_CAP", 3)
    monkeypatch.setattr(planner, "RARE_RANGE", 3)
    assert _same(corpus, "的") == "scan"
    for q in ("返", "😀", " ", "返点", "拼多多 -a", "的 OR 点", "点 返点"):
        _same(corpus, q)
    _same(corpus, "的", Filters(time_from=T0 + 50_000, time_to=T0 + 250_000))
