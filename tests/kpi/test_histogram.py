"""Reply-time histograms: the buckets, exact figures for few replies, the error bound for many."""

from __future__ import annotations

import random

from wecom_hr.kpi import histogram
from wecom_hr.kpi.histogram import DAY


def _exact(values: list[int], q: float) -> float:
    ordered = sorted(values)
    at = (len(ordered) - 1) * q
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def _of(values: list[int]) -> histogram.Histogram:
    out: histogram.Histogram = {}
    for v in values:
        histogram.add(out, v)
    return out


def test_buckets_are_minutes_up_to_a_day_then_coarser() -> None:
    assert [histogram.bound_of(s) for s in (0, 1, 60, 61, DAY)] == [0, 60, 60, 120, DAY]
    assert histogram.bound_of(DAY + 1) == DAY + 900
    assert histogram.bound_of(7 * DAY + 1) == 7 * DAY + 3600


def test_few_replies_give_exact_figures() -> None:
    values = [300, 1200, 1200, 3600]
    hist = _of(values)
    median, p90 = histogram.percentile(hist, 0.5), histogram.percentile(hist, 0.9)
    assert (histogram.count(hist), median, round(p90 or 0, 6)) == (4, 1200, 2880)
    assert histogram.percentile({}, 0.5) is None
    stored = histogram.stored(hist)
    assert stored == [[300, 1, 300], [1200, 2, 2400], [3600, 1, 3600]]
    assert histogram.merge({}, stored) == hist


def test_many_replies_stay_within_a_bucket_and_sla_counts_are_exact() -> None:
    rng = random.Random(18)
    values = [rng.choice((rng.randrange(0, 3600), rng.randrange(0, DAY), rng.randrange(0, 30 * DAY)))
              for _ in range(5000)]
    hist = histogram.merged(_of(values[:2500]), _of(values[2500:]))
    for q in (0.5, 0.9):
        exact, found = _exact(values, q), histogram.percentile(hist, q)
        assert found is not None
        width = 60 if exact <= DAY else 900 if exact <= 7 * DAY else 3600
        assert abs(found - exact) < width
    for minutes in (1, 30, 240, 1440):
        assert histogram.within(hist, minutes * 60) == sum(v <= minutes * 60 for v in values)
