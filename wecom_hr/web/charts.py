"""Server-side SVG charts: plain markup the browser draws, no script and no chart library.

Every piece of text is escaped here; the result is Markup ready for a template. Shapes carry
``data-*`` attributes with the exact figures, so a test (or a screen reader's title) reads the
number rather than measuring pixels. Colours are CSS classes (console.css), so the page's style
sheet decides them and no inline style is needed under the Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup


@dataclass(frozen=True)
class Bar:
    key: str        # stable identifier, e.g. "30-60"
    label: str      # shown under the bar
    value: float
    shown: str      # the value as people read it, e.g. "¥12,000.00"


@dataclass(frozen=True)
class Stack:
    label: str                 # e.g. a salesperson's name
    values: Sequence[float]    # one per series
    shown: str                 # the stack's total, as people read it


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _svg(chart_id: str, title: str, width: int, height: int, body: list[str]) -> Markup:
    head = (f'<svg id="{_attr(chart_id)}" class="chart" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{_attr(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>')
    return Markup(head + "".join(body) + "</svg>")


def column_chart(chart_id: str, title: str, bars: Sequence[Bar], width: int = 480, height: int = 240) -> Markup:
    """Vertical bars, one per category, each with its value on top (the aging buckets)."""
    top, bottom, side = 28, 40, 16
    plot_h = height - top - bottom
    peak = max((b.value for b in bars), default=0) or 1
    slot = (width - 2 * side) / max(len(bars), 1)
    body = [f'<line class="axis" x1="{side}" y1="{top + plot_h}" x2="{width - side}" y2="{top + plot_h}"/>']
    for i, bar in enumerate(bars):
        h = max(bar.value, 0) / peak * plot_h
        x, y = side + i * slot + slot * 0.18, top + plot_h - h
        mid = side + i * slot + slot / 2
        body.append(f'<g class="bar s{i}" data-key="{_attr(bar.key)}" data-value="{_attr(bar.value)}">'
                    f'<title>{escape(bar.label)}：{escape(bar.shown)}</title>'
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.64:.1f}" height="{h:.1f}" rx="3"/>'
                    f'<text class="value" x="{mid:.1f}" y="{y - 6:.1f}" text-anchor="middle">{escape(bar.shown)}</text>'
                    f'<text class="label" x="{mid:.1f}" y="{height - bottom + 22}" text-anchor="middle">'
                    f'{escape(bar.label)}</text></g>')
    return _svg(chart_id, title, width, height, body)


def stacked_rows(chart_id: str, title: str, series: Sequence[str], rows: Sequence[Stack],
                 width: int = 480) -> Markup:
    """Horizontal stacked bars, one row per label (aging by salesperson), with a legend."""
    label_w, total_w, row_h, legend_h = 72, 92, 30, 30
    height = legend_h + row_h * max(len(rows), 1) + 8
    plot_w = width - label_w - total_w
    peak = max((sum(r.values) for r in rows), default=0) or 1
    body = []
    for i, name in enumerate(series):
        x = 8 + i * (width - 16) / max(len(series), 1)
        body.append(f'<g class="legend s{i}"><rect x="{x:.1f}" y="6" width="12" height="12" rx="2"/>'
                    f'<text x="{x + 18:.1f}" y="17">{escape(name)}</text></g>')
    for r, row in enumerate(rows):
        y = legend_h + r * row_h
        parts = [f'<g class="row" data-label="{_attr(row.label)}" data-total="{_attr(sum(row.values))}">',
                 f'<text class="label" x="{label_w - 8}" y="{y + 19}" text-anchor="end">{escape(row.label)}</text>']
        x = float(label_w)
        for i, value in enumerate(row.values):
            w = max(value, 0) / peak * plot_w
            if w > 0:
                parts.append(f'<rect class="seg s{i}" data-series="{_attr(series[i])}" data-value="{_attr(value)}" '
                             f'x="{x:.1f}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}"/>')
            x += w
        parts.append(f'<text class="value" x="{x + 6:.1f}" y="{y + 19}">{escape(row.shown)}</text></g>')
        body.append("".join(parts))
    if not rows:
        body.append(f'<text class="label" x="{width / 2}" y="{legend_h + 20}" text-anchor="middle">—</text>')
    return _svg(chart_id, title, width, height, body)


def count_chart(chart_id: str, title: str, bars: Sequence[Bar], width: int = 960, height: int = 180) -> Markup:
    """Thin columns over time (archive hits per day); labels on the first, middle and last column."""
    top, bottom, side = 18, 28, 8
    plot_h = height - top - bottom
    peak = max((b.value for b in bars), default=0) or 1
    slot = (width - 2 * side) / max(len(bars), 1)
    labelled = {0, len(bars) // 2, len(bars) - 1}
    body = [f'<line class="axis" x1="{side}" y1="{top + plot_h}" x2="{width - side}" y2="{top + plot_h}"/>',
            f'<text class="value" x="{side}" y="{top - 4}">{escape(str(int(peak)))}</text>']
    for i, bar in enumerate(bars):
        h = max(bar.value, 0) / peak * plot_h
        x = side + i * slot
        body.append(f'<g class="bar s0" data-key="{_attr(bar.key)}" data-value="{_attr(bar.value)}">'
                    f'<title>{escape(bar.label)}：{escape(bar.shown)}</title>'
                    f'<rect x="{x + slot * 0.1:.1f}" y="{top + plot_h - h:.1f}" width="{max(slot * 0.8, 1):.1f}" '
                    f'height="{h:.1f}"/></g>')
        if i in labelled:
            anchor = "start" if i == 0 else "end" if i == len(bars) - 1 else "middle"
            tx = x if i == 0 else x + slot if i == len(bars) - 1 else x + slot / 2
            body.append(f'<text class="label" x="{tx:.1f}" y="{height - 8}" text-anchor="{anchor}">'
                        f'{escape(bar.label)}</text>')
    return _svg(chart_id, title, width, height, body)
