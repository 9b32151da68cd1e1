"""Watch-lists: rules matched on the extracted text of each newly archived message.

Matching runs before the append transaction opens (``find_matches``: pure CPU, RE2 so linear in
the text, over at most ``MATCH_CHARS`` characters), so a slow rule never holds the write lock.
A hit is then recorded (``record_hits``) once per (rule, msgid) and alerts the compliance officers
with a WeCom card through the outbox, in the same transaction that archives the message: a re-run
of the decrypt pass can neither lose the alert nor send it twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import re2
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage import outbox
from storage.archive import WatchHit, WatchRuleRow
from storage.archive_store import NewMessage
from storage.archive_text import fold
from wecom_hr.archive import metrics
from wecom_hr.archive.messages import is_external
from wecom_hr.archive.settings import ArchiveSettings, WatchRuleSpec, compile_pattern, watch_rule
from wecom_hr.config import ConfigError

# The default pack against order diversion (跑单): moving the customer, the money or the deal
# outside the company's channels. Operators can turn it off with default_rules = false.
DEFAULT_PACK: tuple[WatchRuleSpec, ...] = (
    WatchRuleSpec("导流-私人联系方式",
                  ("加我私人微信", "私人微信", "加我个人微信", "个人微信号", "换个手机号联系", "私聊"),
                  (r"加(我|下我)?的?(私人|个人)?(微信|vx|v信|wx|薇信)",), severity="high"),
    WatchRuleSpec("导流-个人收款", ("转账给我个人", "个人账户", "私人账户", "个人收款码", "转我个人"),
                  (r"(转|打|付)(账|款|钱)?(给|到)我(个人|私人|自己)",), severity="high"),
    WatchRuleSpec("导流-私下交易", ("私下交易", "不走公司", "绕开公司", "别跟公司说", "不开票便宜", "走私单"), (),
                  severity="high"),
    WatchRuleSpec("导流-第三方平台", ("拼多多", "pdd", "闲鱼", "去淘宝拍"), severity="medium"),
    WatchRuleSpec("返点回扣", ("返点", "回扣", "返现"), severity="medium"),
)

MATCH_CHARS = 20_000  # rules look at the start of a message only: one huge message cannot be slow


@dataclass(frozen=True)
class Rule:
    key: str
    spec: WatchRuleSpec
    keywords: tuple[str, ...]
    patterns: tuple[Any, ...]  # re2 patterns, case-insensitive

    @classmethod
    def of(cls, key: str, spec: WatchRuleSpec) -> Rule:
        """Raises ConfigError for a pattern RE2 cannot run (validated rules always compile)."""
        try:
            patterns = tuple(compile_pattern(p) for p in spec.regexes)
        except re2.error as exc:
            raise ConfigError(f"{key}.regexes", f"does not compile ({exc})") from None
        return cls(key, spec, tuple(fold(k) for k in spec.keywords), patterns)

    def find(self, text: str, folded: str) -> tuple[int, int] | None:
        """(start, end) of the first keyword or pattern match, or None."""
        for keyword in self.keywords:
            at = folded.find(keyword)
            if at >= 0:
                return at, at + len(keyword)
        for pattern in self.patterns:
            m = pattern.search(text)
            if m:
                return m.start(), m.end()
        return None


def load_rules(session: Session, settings: ArchiveSettings) -> list[Rule]:
    rules = [Rule.of(f"default:{s.name}", s) for s in DEFAULT_PACK] if settings.default_rules else []
    rules += [Rule.of(f"config:{s.name}", s) for s in settings.watch_rules if s.enabled]
    for row in session.scalars(select(WatchRuleRow).where(WatchRuleRow.enabled.is_(True)).order_by(WatchRuleRow.id)):
        try:
            rules.append(Rule.of(f"api:{row.id}", watch_rule(row.spec, f"watch_rules[{row.id}]")))
        except ConfigError:
            continue  # validated on the way in; a rule that no longer validates is skipped, not fatal
    return rules


def _internal_members(msg: NewMessage) -> list[str]:
    if msg.sender and not is_external(msg.sender):
        return [msg.sender]
    return [u for u in json.loads(msg.tolist or "[]") if not is_external(u)]


class Scope:
    """Member and department checks, with the department tree read once per pass."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._cache: dict[str, set[int]] = {}
        self._parents: dict[int, int | None] | None = None

    def departments(self, userid: str) -> set[int]:
        if userid not in self._cache:
            from storage.directory import Department, MemberDepartment

            if self._parents is None:
                rows = self._session.execute(select(Department.id, Department.parent_id))
                self._parents = {d: parent for d, parent in rows}
            found: set[int] = set()
            for start in self._session.scalars(select(MemberDepartment.department_id)
                                               .where(MemberDepartment.userid == userid)):
                dept: int | None = start
                while dept is not None and dept not in found:  # a department includes its sub-departments
                    found.add(dept)
                    dept = self._parents.get(dept)
            self._cache[userid] = found
        return self._cache[userid]

    def allows(self, spec: WatchRuleSpec, msg: NewMessage) -> bool:
        if not spec.members and not spec.departments:
            return True
        members = _internal_members(msg)
        if spec.members and any(m in spec.members for m in members):
            return True
        return bool(spec.departments) and any(self.departments(m) & set(spec.departments) for m in members)


def snippet(text: str, start: int, end: int, width: int = 30) -> str:
    lo, hi = max(0, start - width), min(len(text), end + width)
    return ("…" if lo else "") + text[lo:hi].replace("\n", " ") + ("…" if hi < len(text) else "")


def alert_card(rule: Rule, msg: NewMessage, excerpt: str, link: str) -> dict[str, object]:
    when = datetime.fromtimestamp(msg.msgtime / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return {"msgtype": "template_card", "template_card": {
        "card_type": "text_notice",
        "source": {"desc": "会话存档预警"},
        "main_title": {"title": f"[{rule.spec.severity}] {rule.spec.name}"[:36], "desc": when},
        "sub_title_text": excerpt[:110],
        "horizontal_content_list": [
            {"keyname": "发送人", "value": msg.sender[:30] or "-"},
            {"keyname": "客户", "value": msg.customer[:30] or "-"},
            {"keyname": "会话", "value": (msg.roomid or "单聊")[:30]},
        ],
        "card_action": {"type": 1, "url": link},
    }}


@dataclass(frozen=True)
class Match:
    rule: Rule
    message: NewMessage
    start: int
    end: int


def find_matches(rules: Sequence[Rule], messages: Iterable[NewMessage]) -> list[Match]:
    """Every (rule, message) whose keywords or patterns hit; needs no session, so it runs before
    the append transaction opens. Member and department scope is checked later, in ``record_hits``."""
    found: list[Match] = []
    for msg in messages:
        if not msg.text:
            continue
        text = msg.text[:MATCH_CHARS]
        folded = fold(text)
        for rule in rules:
            where = rule.find(text, folded)
            if where is not None:
                found.append(Match(rule, msg, *where))
    return found


def record_hits(session: Session, matches: Iterable[Match], recipients: list[str], link_for: Callable[[str], str],
                now: datetime) -> int:
    """Record the in-scope matches as hits and queue one card per new hit; returns the hit count."""
    scope, hits = Scope(session), 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for match in matches:
        rule, msg = match.rule, match.message
        if not scope.allows(rule.spec, msg):
            continue
        excerpt = snippet(msg.text, match.start, match.end)
        added = session.execute(insert(WatchHit).values(
            rule=rule.key[:200], msgid=msg.msgid, severity=rule.spec.severity, sender=msg.sender,
            customer=msg.customer, snippet=excerpt, msgtime=msg.msgtime, hit_at=now,
        ).on_conflict_do_nothing(index_elements=["rule", "msgid"]).returning(WatchHit.id)).first() is not None
        if added and recipients:
            key = f"archive-watch:{hashlib.sha1(rule.key.encode()).hexdigest()[:16]}:{msg.msgid}"
            outbox.enqueue(session, key, "archive_watch", recipients,
                           alert_card(rule, msg, excerpt, link_for(msg.msgid)), now=now)
        if added:
            # Counted inside the transaction: a rolled-back batch over-counts, which is rare
            # (the batch is retried) and better than threading severities back to the caller.
            metrics.WATCH_HITS.labels(severity=rule.spec.severity).inc()
        hits += bool(added)
    return hits


def match_and_alert(session: Session, rules: Sequence[Rule], messages: Iterable[NewMessage], recipients: list[str],
                    link_for: Callable[[str], str], now: datetime) -> int:
    """Both phases in one go (tests, benchmarks); the decrypt pass runs ``find_matches`` outside its transaction."""
    return record_hits(session, find_matches(rules, messages), recipients, link_for, now)
