"""Reply times kept as histograms (per member-day and member-week), not one value per reply.

A bucket is named by its inclusive upper bound in seconds and holds [count, sum of seconds]:

    0                 exactly 0 s
    up to 1 day       1-minute buckets   (60, 120, ... 86400: a value v falls in ceil(v / 60) * 60)
    up to 7 days      15-minute buckets
    beyond            1-hour buckets

Percentiles interpolate between closest ranks (the median of [1, 2] is 1.5), taking each value as
the mean of its bucket. So a bucket holding one value, or equal values, gives that value exactly
(hand-made conversations, a member with few replies); otherwise the error is under the bucket's
width (under a minute below one day). Counts within an SLA of whole minutes up to a day are exact.
Stored as JSON ``[[bound, count, sum], ...]`` in bound order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

DAY = 86_400
STEPS = ((DAY, 60), (7 * DAY, 900))  # up to this many seconds, buckets this wide
COARSE = 3600

Histogram = dict[int, list[int]]  # bound -> [count, sum]


def bound_of(seconds: int) -> int:
    if seconds <= 0:
        return 0
    for limit, width in STEPS:
        if seconds <= limit:
            return -(-seconds // width) * width
    return -(-seconds // COARSE) * COARSE


def add(hist: Histogram, seconds: int) -> None:
    cell = hist.setdefault(bound_of(seconds), [0, 0])
    cell[0] += 1
    cell[1] += seconds


def merge(into: Histogram, stored: Iterable[Any]) -> Histogram:
    """Add a stored histogram (JSON rows, or another Histogram's items) into ``into``."""
    for bound, count, total in stored:
        cell = into.get(bound)
        if cell is None:
            into[bound] = [count, total]
        else:
            cell[0] += count
            cell[1] += total
    return into


def merged(*hists: Histogram) -> Histogram:
    out: Histogram = {}
    for h in hists:
        merge(out, ((b, n, s) for b, (n, s) in h.items()))
    return out


def stored(hist: Histogram) -> list[list[int]]:
    return [[b, n, s] for b, (n, s) in sorted(hist.items())]


def count(hist: Histogram) -> int:
    return sum(n for n, _ in hist.values())


def within(hist: Histogram, seconds: int) -> int:
    """Values ≤ ``seconds`` (a bucket across the limit counts when its mean is within it)."""
    return sum(n for b, (n, s) in hist.items() if b <= seconds or s <= seconds * n)


def percentile(hist: Histogram, q: float) -> float | None:
    total = count(hist)
    if not total:
        return None
    at = (total - 1) * q
    low, high = math.floor(at), math.ceil(at)
    values = _at_ranks(hist, (low, high))
    return values[0] + (values[1] - values[0]) * (at - low)


def _at_ranks(hist: Histogram, ranks: tuple[int, int]) -> tuple[float, float]:
    found: list[float] = []
    seen = 0
    for bound in sorted(hist):
        n, s = hist[bound]
        seen += n
        while len(found) < 2 and ranks[len(found)] < seen:
            found.append(s / n)
        if len(found) == 2:
            break
    return found[0], found[1]
