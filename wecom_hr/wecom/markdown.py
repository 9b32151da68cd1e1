"""Safe WeCom app-message content: one escape for untrusted values, one size limit, one way to fit.

WeCom's message/send refuses text and markdown content over 2048 bytes of UTF-8 (errcode 45002;
WECOM.md §6 "App-message size", after wechatpy's message.py — 4096 is the group robot's). Every
builder fits its content with :func:`fit_lines` (whole lines while they fit, then "…另有 N 条" —
a single over-long line is cut on a UTF-8 character boundary) and wraps it with :func:`markdown` /
:func:`text`, which enforce the limit.

WeCom markdown renders headings ``#``, ``**bold**``, ``[text](url)`` links, ```code```, ``>``
quotes and ``<font color>`` tags, and documents no backslash escape. :func:`md_escape` therefore
replaces the syntax characters of an untrusted value (customer nicknames, remarks, chat text,
order numbers, member names, notes) with their full-width look-alikes, which WeCom shows as plain
text, and collapses line breaks and other control characters to one space so that a value can
never start a new quote line or heading. Our own fixed formatting is written around the escaped
values and stays live.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

CONTENT_MAX_BYTES = 2048  # message/send text.content and markdown.content, bytes of UTF-8
VALUE_MAX_CHARS = 200     # one interpolated untrusted value
ELLIPSIS = "…"

_FULLWIDTH = str.maketrans({
    "[": "［", "]": "］", "(": "（", ")": "）", "*": "＊", "_": "＿", "`": "｀", "#": "＃",
    ">": "＞", "<": "＜", "&": "＆", "\\": "＼", "~": "～", "|": "｜", '"': "＂",
})
# Bidi overrides/isolates can make a value display as something else; they are control-like too.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SPACES = re.compile(r" {2,}")


def _blank(ch: str) -> bool:
    """Line breaks, tabs and other control characters (C0, DEL, C1, U+2028/9, bidi controls)."""
    return ch in _BIDI or unicodedata.category(ch) in ("Cc", "Zl", "Zp")


def md_escape(value: Any, limit: int = VALUE_MAX_CHARS) -> str:
    """An untrusted value, inert in WeCom markdown: one line, no syntax, at most ``limit`` chars.

    Idempotent: escaping an escaped value changes nothing.
    """
    if value is None:
        return ""
    raw = value if isinstance(value, str) else str(value)
    flat = "".join(" " if _blank(ch) else ch for ch in raw)
    flat = _SPACES.sub(" ", flat).strip().translate(_FULLWIDTH).replace("://", "：//")  # no bare autolinks
    if limit > 0 and len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + ELLIPSIS
    return flat


def md_url(url: str) -> str:
    """A URL safe inside ``[label](url)``: no whitespace, brackets, parentheses or quotes."""
    return quote("".join(ch for ch in str(url) if not _blank(ch)), safe="/:?=&%#@!$+,;~-._")


def md_link(label: str, url: str) -> str:
    """``[label](url)`` with the label escaped and the URL encoded."""
    return f"[{md_escape(label)}]({md_url(url)})"


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def cut_bytes(text: str, max_bytes: int, ellipsis: str = ELLIPSIS) -> str:
    """``text`` if it fits in ``max_bytes``, else cut on a character boundary and ended with ``ellipsis``."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    room = max(0, max_bytes - utf8_len(ellipsis))
    return data[:room].decode("utf-8", errors="ignore") + (ellipsis if max_bytes >= utf8_len(ellipsis) else "")


def clamp(content: str, limit: int = CONTENT_MAX_BYTES) -> str:
    """The last guard: content over the limit is cut on a UTF-8 character boundary."""
    return cut_bytes(content, limit)


def markdown(content: str) -> dict[str, Any]:
    """A message/send markdown body whose content fits WeCom's limit."""
    return {"msgtype": "markdown", "markdown": {"content": clamp(content)}}


def text(content: str) -> dict[str, Any]:
    """A message/send text body whose content fits WeCom's limit."""
    return {"msgtype": "text", "text": {"content": clamp(content)}}


def fitted(body: dict[str, Any]) -> dict[str, Any]:
    """A queued message/send body as it may go out: text and markdown content within the limit
    (the outbox applies this to every message; builders fit theirs first, this only guards)."""
    kind = str(body.get("msgtype") or "")
    part = body.get(kind) if kind in ("text", "markdown") else None
    if isinstance(part, dict) and isinstance(part.get("content"), str) and \
            utf8_len(part["content"]) > CONTENT_MAX_BYTES:
        return {**body, kind: {**part, "content": clamp(part["content"])}}
    return body


def default_more(left: int) -> str:
    return f"{ELLIPSIS}另有 {left} 条未列出"


class Budget:
    """Bytes left for lines joined with "\\n" under ``limit``; ``fixed`` lines are always counted."""

    def __init__(self, limit: int = CONTENT_MAX_BYTES, fixed: Sequence[str] = ()) -> None:
        # n lines joined have n-1 newlines
        self.left = limit - sum(utf8_len(line) for line in fixed) - max(len(fixed) - 1, 0)
        self.count = len(fixed)

    def cost(self, line: str) -> int:
        return utf8_len(line) + (1 if self.count else 0)

    def fits(self, line: str) -> bool:
        return self.cost(line) <= self.left

    def take(self, line: str) -> bool:
        """Count ``line`` in if it fits; False (and nothing counted) otherwise."""
        if not self.fits(line):
            return False
        self.left -= self.cost(line)
        self.count += 1
        return True

    def reserve(self, nbytes: int) -> None:
        self.left -= nbytes


def fit_lines(head: Sequence[str], lines: Sequence[str], tail: Sequence[str] = (),
              more: Callable[[int], str] = default_more, *, hidden: int = 0,
              weights: Sequence[int] | None = None, limit: int = CONTENT_MAX_BYTES) -> str:
    """head + as many whole ``lines`` as fit + ``more(N)`` + tail, joined with newlines, ≤ ``limit`` bytes.

    Lines are kept in order until the first that does not fit. N counts what was left out: the
    dropped lines (each counts ``weights[i]``, default 1) plus ``hidden`` (left out by the caller
    already). The more-line appears when N > 0 or a line was dropped. A single line longer than
    the whole room for lines is cut on a UTF-8 character boundary rather than dropped.
    """
    weights = list(weights) if weights is not None else [1] * len(lines)
    head, tail = [cut_bytes(h, limit // 2) for h in head], [cut_bytes(t, limit // 4) for t in tail]
    everything = [*head, *lines, *tail]
    if hidden <= 0 and utf8_len("\n".join(everything)) <= limit:
        return "\n".join(everything)
    worst_more = more(sum(weights) + max(hidden, 0))
    budget = Budget(limit, [*head, *tail])
    budget.reserve(utf8_len(worst_more) + 1 + 8)  # the more-line; its count can only be smaller
    shown: list[str] = []
    for line in lines:
        if not budget.fits(line) and not shown and budget.left > 64:
            line = cut_bytes(line, budget.left - 1)  # one line alone is too long: cut, don't drop
        if not budget.take(line):
            break
        shown.append(line)
    left = sum(weights[len(shown):]) + max(hidden, 0)
    extra = [more(left)] if left > 0 or len(shown) < len(lines) else []
    return clamp("\n".join([*head, *shown, *extra, *tail]), limit)
