"""Search query language: words are ANDed; OR between groups; NOT or a leading "-" excludes;
"double quotes" keep a phrase with its spaces. No parentheses: a query is an OR of AND-groups.

    返点 拼多多            both
    返点 OR 回扣           either
    私下 -测试             私下 but not 测试
    "加 微信" NOT 官方     the phrase, without 官方
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from storage.archive_text import fold

MAX_GROUPS, MAX_TERMS, MAX_TERM_CHARS = 8, 8, 100
_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')


class QueryError(ValueError):
    """The query cannot be searched (too long, too many terms)."""


@dataclass(frozen=True)
class Group:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Query:
    groups: tuple[Group, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return not self.groups

    def highlight_terms(self) -> list[str]:
        terms = {t for g in self.groups for t in g.include}
        return sorted(terms, key=len, reverse=True)


def _tokens(text: str) -> list[tuple[str, bool]]:
    """(token, quoted) pairs; a quoted token is never an operator."""
    out = []
    for m in _TOKEN.finditer(text):
        if m.group(3) is not None:
            out.append((m.group(3), False))
        else:
            out.append((m.group(1) + "\x00" + m.group(2), True))  # \x00 marks "negated phrase"
    return out


def parse(text: str) -> Query:
    groups: list[Group] = []
    include: list[str] = []
    exclude: list[str] = []
    negate_next = False

    def close() -> None:
        if include or exclude:
            groups.append(Group(tuple(dict.fromkeys(include)), tuple(dict.fromkeys(exclude))))
        include.clear()
        exclude.clear()

    for token, quoted in _tokens(text):
        if not quoted and token in ("OR", "|"):
            close()
            negate_next = False
            continue
        if not quoted and token == "AND":
            continue
        if not quoted and token == "NOT":
            negate_next = True
            continue
        negated = negate_next
        negate_next = False
        if quoted:
            sign, _, token = token.partition("\x00")
            negated = negated or sign == "-"
        elif token.startswith("-") and len(token) > 1:
            negated, token = True, token[1:]
        term = fold(token)
        if not term.strip():
            continue
        if len(term) > MAX_TERM_CHARS:
            raise QueryError(f"a search term is longer than {MAX_TERM_CHARS} characters")
        (exclude if negated else include).append(term)
    close()
    if len(groups) > MAX_GROUPS or any(len(g.include) + len(g.exclude) > MAX_TERMS for g in groups):
        raise QueryError(f"at most {MAX_GROUPS} OR-groups of {MAX_TERMS} terms each")
    return Query(tuple(groups))
