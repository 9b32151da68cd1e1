"""Server-side SVG charts: escaping, figures carried on the shapes, aging buckets, hits per day."""

from __future__ import annotations

from datetime import UTC, datetime

import defusedxml.ElementTree as ET

from wecom_hr.web.aging import BUCKETS, bucket_of
from wecom_hr.web.archive_chart import buckets
from wecom_hr.web.charts import Bar, Stack, column_chart, count_chart, stacked_rows

SVG = "{http://www.w3.org/2000/svg}"


def test_bucket_edges_follow_the_reminder_tiers() -> None:
    assert [bucket_of(d) for d in (1, 29, 30, 59, 60, 89, 90, 400)] == [
        "0-30", "0-30", "30-60", "30-60", "60-90", "60-90", "90+", "90+"]
    assert BUCKETS == ("0-30", "30-60", "60-90", "90+")


def test_text_in_charts_is_escaped_and_the_svg_is_well_formed() -> None:
    evil = '<script>alert("x")</script>&'
    svg = str(stacked_rows("c1", evil, [evil, "b"], [Stack(evil, [1.0, 2.0], evil)]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = ET.fromstring(svg)
    assert root.get("aria-label") == evil  # the parser gets the original text back
    svg = str(column_chart("c2", "t", [Bar('x" onload="y', evil, 1.0, evil)]))
    assert 'onload="y"' not in svg
    ET.fromstring(svg)


def test_bars_carry_their_figures_and_scale_to_the_largest() -> None:
    svg = str(column_chart("c", "t", [Bar("a", "A", 50.0, "50"), Bar("b", "B", 100.0, "100"), Bar("z", "Z", 0, "0")]))
    root = ET.fromstring(svg)
    groups = {g.get("data-key"): g for g in root.iter(f"{SVG}g")}
    heights = {k: float(g.find(f"{SVG}rect").get("height")) for k, g in groups.items()}
    assert heights["b"] == 2 * heights["a"] and heights["z"] == 0
    assert groups["a"].get("data-value") == "50.0"


def test_empty_charts_still_draw() -> None:
    ET.fromstring(str(stacked_rows("c", "t", ["a"], [])))
    ET.fromstring(str(count_chart("c", "t", [])))


def test_hits_are_counted_per_local_day_over_at_least_two_weeks() -> None:
    def ms(y: int, m: int, d: int, h: int) -> int:
        return int(datetime(y, m, d, h, tzinfo=UTC).timestamp() * 1000)

    # 2024-05-01 17:00 UTC is already 05-02 in Shanghai.
    bars = buckets([ms(2024, 5, 1, 17), ms(2024, 5, 2, 1), ms(2024, 5, 3, 1)], "Asia/Shanghai")
    assert len(bars) == 14 and bars[-1].key == "2024-05-03"
    assert {b.key: b.value for b in bars if b.value} == {"2024-05-02": 2, "2024-05-03": 1}


def test_hits_over_many_months_are_counted_per_month() -> None:
    first = int(datetime(2024, 1, 15, tzinfo=UTC).timestamp() * 1000)
    last = int(datetime(2024, 6, 15, tzinfo=UTC).timestamp() * 1000)
    bars = buckets([first, last, last], "UTC")
    assert [b.key for b in bars] == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    assert bars[-1].value == 2
    assert buckets([], "UTC") == []
