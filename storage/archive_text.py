"""Folding and the bigram postings of archive search.

Folding keeps the length of the text (one character in, one out), so a hit's offset in the folded
body is also its offset in the original text: snippets and highlights need no second search.

Every position of a body gives one posting row ``(gram, next2, marks)``:

- ``gram``  = the two characters at the position, as ``ord(a) * SPAN + ord(b)``;
- ``next2`` = the two characters after them (an end mark, then 0, past the end of the body);
- ``marks``: 1 on the first row of its trigram (gram + next character) in this body, 2 on the
  first row of its gram, 6 on the first row of its first character; else 0. The marks nest (the
  first row of a character is the first of its gram and of its trigram), so "at least" works.
  Rows are distinct per (gram, next2) and body.

So without reading any body, one row per message: a 2-character term AB is ``gram=AB,
marks>=2``; ABC is ``gram=AB, next2 in [C*SPAN, (C+1)*SPAN), marks>=1``; ABCD is ``gram=AB,
next2=CD``. Because the body ends with a mark, every character starts some gram, so a single
character c is ``gram in [c*SPAN, (c+1)*SPAN), marks=6``. Longer terms are found through their
rarest 4-character window, then checked against the body.
"""

from __future__ import annotations

from dataclasses import dataclass

SPAN = 0x110000            # one past the largest code point
END = 0x03                 # end-of-body mark; folding turns it into a space, so bodies never hold it
FIRST_TRIGRAM, FIRST_GRAM, FIRST_CHAR = 1, 2, 6

_FOLD: dict[int, int] = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
# Full-width ASCII (ＰＤＤ, ５００) is how Chinese input methods often type Latin letters and digits.
_FOLD.update({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)})
_FOLD.update({c: c - 0xFEE0 + 32 for c in range(0xFF21, 0xFF3B)})
_FOLD.update({0x3000: 0x20, END: 0x20, 0: 0x20})


def fold(text: str) -> str:
    """Lower-case ASCII, map full-width forms to ASCII; never changes the length."""
    return text.translate(_FOLD)


def posting_rows(body: str) -> list[tuple[int, int, int]]:
    """(gram, next2, marks) for every position of an already folded body, sorted."""
    codes = [*map(ord, body), END, 0, 0]
    pairs = sorted({(codes[i] * SPAN + codes[i + 1], codes[i + 2] * SPAN + codes[i + 3])
                    for i in range(len(body))})
    rows = []
    prev_first = prev_gram = prev_char = -1
    for g, nxt in pairs:
        char = nxt // SPAN
        if g // SPAN != prev_first:
            marks, prev_first, prev_gram, prev_char = FIRST_CHAR, g // SPAN, g, char
        elif g != prev_gram:
            marks, prev_gram, prev_char = FIRST_GRAM, g, char
        elif char != prev_char:
            marks, prev_char = 1, char
        else:
            marks = 0
        rows.append((g, nxt, marks))
    return rows


@dataclass(frozen=True)
class Selection:
    """Posting rows that hold a term (or a 4-character window of a longer term) once per message."""

    gram: int
    next_lo: int | None = None   # next2 range [lo, hi)
    next_hi: int | None = None
    min_marks: int = 0
    exact: bool = True           # False: the term is longer than the window; check the body too


def _code(a: str, b: str) -> int:
    return ord(a) * SPAN + ord(b)


def selections(term: str) -> list[Selection]:
    """Ways to find a folded term of 2+ characters in the postings (one, or one per 4-window)."""
    if len(term) == 2:
        return [Selection(_code(*term), min_marks=FIRST_GRAM)]
    if len(term) == 3:
        return [Selection(_code(*term[:2]), ord(term[2]) * SPAN, (ord(term[2]) + 1) * SPAN, FIRST_TRIGRAM)]
    windows = [term[i:i + 4] for i in range(len(term) - 3)]
    exact = len(term) == 4
    return [Selection(_code(*w[:2]), _code(*w[2:]), _code(*w[2:]) + 1, 0, exact)
            for w in dict.fromkeys(windows)]


def char_range(char: str) -> tuple[int, int]:
    """[lo, hi) of all grams that start with ``char``: the postings of a 1-character query."""
    return ord(char) * SPAN, (ord(char) + 1) * SPAN
