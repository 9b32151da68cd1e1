"""Search query language: words are ANDed; OR between groups; NOT or a leading "-" excludes;
"double quotes" keep a phrase with its spaces. No parentheses: a query is an OR of AND-groups.

    返点 拼多多            both
    返点 OR 回扣           either
    私下 -测试             私下 but not 测试
    "加 微信" NOT 官方     the phrase, without 官方

Chinese keyboards type “…” and ＂…＂: they are read as the ASCII quote. A query that cannot mean
what it says (an unclosed quote, a quote inside a word, NOT with nothing after it) is a QueryError
with a stable ``code`` and the offending ``fragment``, never a silent search for the literal text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from storage.archive_text import fold

MAX_GROUPS, MAX_TERMS, MAX_TERM_CHARS = 8, 8, 100
FRAGMENT_CHARS = 20
_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\uff02": '"'})


class QueryError(ValueError):
    """The query cannot be searched (a syntax problem, too long, too many terms)."""

    def __init__(self, message: str, code: str = "query_invalid", fragment: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.fragment = fragment


def _fragment(text: str) -> str:
    return text if len(text) <= FRAGMENT_CHARS else text[:FRAGMENT_CHARS - 1] + "…"


def _check_quotes(text: str, tokens: list[tuple[str, bool]]) -> None:
    quotes = [i for i, ch in enumerate(text) if ch == '"']
    if len(quotes) % 2:  # paired left to right, the last one is the one left open
        fragment = _fragment(text[quotes[-1]:])
        raise QueryError(f"unclosed quote: {fragment}", "query_unclosed_quote", fragment)
    for token, quoted in tokens:
        if not quoted and '"' in token:
            fragment = _fragment(token)
            raise QueryError(f"a quote inside a word: {fragment}", "query_quote_in_word", fragment)


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
    text = text.translate(_QUOTES)
    tokens = _tokens(text)
    _check_quotes(text, tokens)
    groups: list[Group] = []
    include: list[str] = []
    exclude: list[str] = []
    negate_next = False

    def close() -> None:
        if include or exclude:
            groups.append(Group(tuple(dict.fromkeys(include)), tuple(dict.fromkeys(exclude))))
        include.clear()
        exclude.clear()

    for token, quoted in tokens:
        if not quoted and token in ("OR", "|"):
            if negate_next:
                raise QueryError("NOT is followed by nothing to exclude", "query_dangling_not", "NOT")
            close()
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
            raise QueryError(f"a search term is longer than {MAX_TERM_CHARS} characters", "query_term_too_long",
                             _fragment(token))
        (exclude if negated else include).append(term)
    if negate_next:
        raise QueryError("NOT is followed by nothing to exclude", "query_dangling_not", "NOT")
    close()
    if len(groups) > MAX_GROUPS or any(len(g.include) + len(g.exclude) > MAX_TERMS for g in groups):
        raise QueryError(f"at most {MAX_GROUPS} OR-groups of {MAX_TERMS} terms each", "query_too_many_terms")
    return Query(tuple(groups))
