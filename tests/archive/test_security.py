"""Security regressions: watch-list regexes cannot hang the pull (ReDoS), matching holds no write
transaction, and exported CSV cells cannot start a formula."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.archive import WatchHit
from storage.archive_store import NewMessage, append_messages
from storage.db import Database
from storage.outbox import OutboxMessage
from tests.archive.conftest import message, write_pem
from tests.helpers import WecomEnv, make_env
from wecom_hr.archive import service
from wecom_hr.archive.messages import parse_message
from wecom_hr.archive.results import csv_lines
from wecom_hr.archive.settings import MAX_PATTERN_CHARS, WatchRuleSpec, watch_rule
from wecom_hr.archive.source import MemorySource
from wecom_hr.archive.watch import MATCH_CHARS, Rule, find_matches
from wecom_hr.config import ConfigError

COMPLIANCE = "compliance1"
NOW = datetime(2024, 1, 1, tzinfo=UTC)


def _msg(msgid: str, text: str) -> NewMessage:
    return parse_message(json.dumps(message(msgid, text), ensure_ascii=False), 1)


@pytest.fixture
def source() -> MemorySource:
    return MemorySource()


@pytest.fixture
def env(db: Database, tmp_path: Path, rsa_keys: dict[int, rsa.RSAPrivateKey], source: MemorySource
        ) -> Iterator[WecomEnv]:
    rules = [{"name": "redos", "regexes": ["(a+)+$"], "severity": "low"}]
    config = {"archive": {"private_keys": {"1": write_pem(tmp_path / "v1.pem", rsa_keys[1])}, "watch_rules": rules},
              "roles": {"compliance": [COMPLIANCE]}}
    e = make_env(db, config)
    e.runtime.archive_source = source  # type: ignore[attr-defined]
    yield e
    e.close()


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?P<x>a)(?P=x)", r"foo(?=bar)", r"(?<!a)b", r"(?>a+)b"])
def test_patterns_the_linear_time_engine_cannot_run_are_refused(pattern: str) -> None:
    with pytest.raises(ConfigError) as err:
        watch_rule({"name": "x", "regexes": [pattern]}, "rule")
    assert "rule.regexes" in str(err.value) and "linear-time engine" in str(err.value)


def test_invalid_and_overlong_patterns_are_refused() -> None:
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        watch_rule({"name": "x", "regexes": ["("]}, "rule")
    with pytest.raises(ConfigError, match=f"at most {MAX_PATTERN_CHARS}"):
        watch_rule({"name": "x", "regexes": ["a" * (MAX_PATTERN_CHARS + 1)]}, "rule")


def test_a_catastrophic_pattern_matches_in_linear_time() -> None:
    rule = Rule.of("config:redos", watch_rule({"name": "redos", "regexes": ["(a+)+$"]}, "rule"))
    done: list[object] = []
    worker = threading.Thread(target=lambda: done.append(find_matches([rule], [_msg("m1", "a" * 5000 + "!")])),
                              daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert done == [[]], "matching (a+)+$ did not finish"
    [hit] = find_matches([rule], [_msg("m2", "xAAA")])  # still case-insensitive
    assert (hit.start, hit.end) == (1, 4)


def test_rules_look_at_the_start_of_a_huge_message_only() -> None:
    rule = Rule.of("config:x", WatchRuleSpec("x", ("私下交易",), (r"返\s*点",)))
    assert find_matches([rule], [_msg("m1", "嗯" * MATCH_CHARS + "私下交易 返点")]) == []
    assert len(find_matches([rule], [_msg("m2", "嗯" * (MATCH_CHARS - 10) + "返点")])) == 1


def test_a_redos_message_does_not_freeze_the_pull(env: WecomEnv, source: MemorySource,
                                                  rsa_keys: dict[int, rsa.RSAPrivateKey]) -> None:
    source.add(message("m1", "a" * 5000 + "!"), 1, rsa_keys[1].public_key())
    source.add(message("m2", "aaaa"), 1, rsa_keys[1].public_key())
    figures: list[dict[str, Any] | None] = []
    worker = threading.Thread(target=lambda: figures.append(service.pull(env.runtime, NOW)), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert figures, "the archive pull froze on a catastrophic watch-list regex"
    assert figures[0] is not None and figures[0]["appended"] == 2 and figures[0]["hits"] == 1


def test_matching_runs_outside_the_append_transaction(env: WecomEnv, source: MemorySource,
                                                      rsa_keys: dict[int, rsa.RSAPrivateKey],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    db = env.runtime.db
    real_scope, real_find = db.session_scope, service.find_matches
    open_sessions: list[int] = [0]
    finds: list[int] = []

    @contextmanager
    def counted_scope() -> Iterator[Session]:
        open_sessions[0] += 1
        try:
            with real_scope() as s:
                yield s
        finally:
            open_sessions[0] -= 1

    def checked_find(rules: Any, messages: Any) -> Any:
        finds.append(open_sessions[0])
        return real_find(rules, messages)

    monkeypatch.setattr(db, "session_scope", counted_scope)
    monkeypatch.setattr(service, "find_matches", checked_find)
    key = rsa_keys[1].public_key()
    source.add(message("m1", "方便的话加我私人微信聊"), 1, key)
    source.add(message("m2", "合同已发"), 1, key)
    first = service.pull(env.runtime, NOW)
    # The same msgid again (a re-delivered envelope), now with other hitting text: it is not
    # appended, so it records no hit and queues no card.
    source.add(message("m1", "有返点吗"), 1, key)
    second = service.pull(env.runtime, NOW)
    assert finds and all(depth == 0 for depth in finds)  # no session open while the rules ran
    assert first is not None and (first["appended"], first["hits"]) == (2, 1)
    assert second is not None and (second["appended"], second["hits"]) == (0, 0)
    with db.sessions() as s:
        hits = [(h.rule, h.msgid) for h in s.scalars(select(WatchHit))]
        cards = [o.key for o in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "archive_watch"))]
    assert hits == [("default:导流-私人联系方式", "m1")]
    assert len(cards) == 1 and cards[0].endswith(":m1")


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=cmd|' /C calc'!A0", "\n=1"])
def test_csv_cells_cannot_start_a_formula(db: Database, text: str) -> None:
    with db.session_scope() as s:
        ids = [pos for pos, _ in append_messages(s, [_msg("m1", text), _msg("m2", "普通文本")])]
        out = "".join(csv_lines(s, ids))
    rows = list(csv.reader(io.StringIO(out)))
    at = rows[0].index("text")
    assert rows[1][at] == "'" + text and rows[2][at] == "普通文本"
