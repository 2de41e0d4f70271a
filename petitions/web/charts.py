"""Charts drawn on the server as SVG, so that pages work offline (no CDN, no script).

Each function returns markup ready for a template: real marks (<rect> bars, <polyline>
lines, <circle> points), axis labels, a <title> and <desc> for screen readers and a
<title> on every mark (shown as a tooltip). A missing value (None: a rate with nothing to
divide by) draws no mark and is labelled "—", never 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import count

from markupsafe import Markup, escape

PALETTE = ("#1f5fa8", "#c0392b", "#2e8b57", "#d68910", "#7d3c98", "#17808a", "#5d6d7e")
FONT = "font-family=\"'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei',sans-serif\""
_ids = count(1)

Formatter = Callable[[float], str]


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def number(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def _fmt(value: float | None, fmt: Formatter) -> str:
    return "—" if value is None else fmt(value)


def _nice_max(value: float) -> float:
    """A round upper bound for an axis (1, 2, 2.5, 5 × 10ⁿ) at or above `value`."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1.0
    if value < 1:
        magnitude = 0.1
        while magnitude > value:
            magnitude /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - loop always returns


def _open(width: int, height: int, title: str, desc: str) -> tuple[str, list[str]]:
    uid = f"chart{next(_ids)}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" aria-labelledby="{uid}-t {uid}-d" {FONT}>',
        f'<title id="{uid}-t">{escape(title)}</title>',
        f'<desc id="{uid}-d">{escape(desc)}</desc>',
    ]
    return uid, parts


def bar_chart(
    items: Sequence[tuple[str, float | None]],
    *,
    title: str,
    fmt: Formatter = number,
    max_value: float | None = None,
    color: str = PALETTE[0],
    width: int = 640,
) -> Markup:
    """Horizontal bars, one per (label, value): unit names are long, so labels sit on the left."""
    row, top, label_w, value_w = 26, 34, 190, 70
    height = top + row * max(len(items), 1) + 28
    plot_w = width - label_w - value_w
    values = [v for _, v in items if v is not None]
    upper = max_value if max_value is not None else _nice_max(max(values, default=0.0))
    desc = "；".join(f"{label}：{_fmt(v, fmt)}" for label, v in items)
    _uid, parts = _open(width, height, title, desc)
    parts.append(f'<text x="0" y="18" font-size="15" font-weight="bold">{escape(title)}</text>')
    axis_y = top + row * max(len(items), 1)
    # Axis with ticks at quarters of the range.
    parts.append(
        f'<line class="axis" x1="{label_w}" y1="{top - 4}" x2="{label_w}" y2="{axis_y}" stroke="#555"/>'
        f'<line class="axis" x1="{label_w}" y1="{axis_y}" x2="{label_w + plot_w}" y2="{axis_y}" stroke="#555"/>'
    )
    for i in range(5):
        x = label_w + plot_w * i / 4
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{axis_y + 18}" font-size="11" text-anchor="middle">'
            f"{escape(fmt(upper * i / 4))}</text>"
        )
    for i, (label, value) in enumerate(items):
        y = top + i * row
        parts.append(
            f'<text class="chart-label" x="{label_w - 6}" y="{y + row / 2 + 4:.1f}" font-size="13" '
            f'text-anchor="end">{escape(label)}</text>'
        )
        if value is not None:
            w = 0.0 if upper == 0 else max(0.0, min(value / upper, 1.0)) * plot_w
            parts.append(
                f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{color}">'
                f"<title>{escape(label)}：{escape(fmt(value))}</title></rect>"
            )
            vx = label_w + w + 4
        else:
            vx = label_w + 4
        parts.append(
            f'<text class="value" x="{vx:.1f}" y="{y + row / 2 + 4:.1f}" font-size="12">'
            f"{escape(_fmt(value, fmt))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    fmt: Formatter = number,
    max_value: float | None = None,
    width: int = 640,
    height: int = 260,
) -> Markup:
    """One line per (name, values); a None breaks the line instead of dropping it to zero."""
    left, right, top, bottom = 56, 16, 34, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v is not None]
    upper = max_value if max_value is not None else _nice_max(max(values, default=0.0))
    n = max(len(x_labels), 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        y = top + plot_h - (0 if upper == 0 else min(v / upper, 1.0) * plot_h)
        return x, y

    desc = "；".join(
        f"{name}：" + "，".join(f"{x_labels[i]} {_fmt(v, fmt)}" for i, v in enumerate(vs))
        for name, vs in series
    )
    _uid, parts = _open(width, height, title, desc)
    parts.append(f'<text x="0" y="18" font-size="15" font-weight="bold">{escape(title)}</text>')
    parts.append(
        f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#555"/>'
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#555"/>'
    )
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
            f"{escape(fmt(upper * i / 4))}</text>"
        )
    # Labels that would run into each other are thinned out (every second, third, ... one).
    # (Their class is not "label": the site's form labels are bigger and bold.)
    spacing = plot_w / (n - 1) if n > 1 else plot_w
    widest = max((len(label) for label in x_labels), default=0) * 11 * 0.62 + 8
    step = max(1, math.ceil(widest / spacing))
    for i, label in enumerate(x_labels):
        if i % step:
            continue
        x, _ = xy(i, 0)
        parts.append(
            f'<text class="chart-label" x="{x:.1f}" y="{top + plot_h + 18}" font-size="11" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    for s, (name, vs) in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(vs):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            x, y = xy(i, v)
            segment.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                f"<title>{escape(name)} {escape(x_labels[i])}：{escape(fmt(v))}</title></circle>"
            )
        if segment:
            segments.append(segment)
        for seg in segments:
            parts.append(
                f'<polyline class="line" fill="none" stroke="{color}" stroke-width="2" points="{" ".join(seg)}">'
                f"<title>{escape(name)}</title></polyline>"
            )
        # Legend below the axis labels.
        lx = left + s * 150
        parts.append(
            f'<rect class="legend" x="{lx}" y="{height - 18}" width="12" height="12" fill="{color}"/>'
            f'<text x="{lx + 16}" y="{height - 8}" font-size="12">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def format_measure(value: float | int | None, measure: str) -> str:
    """A measure as people read it: rates in percent, days with two places, "—" for none."""
    if value is None:
        return "—"
    if measure.endswith("_rate"):
        return percent(value)
    if measure == "avg_handling_days":
        return f"{value:.2f}"
    return str(value)


def formatter(measure: str) -> Formatter:
    if measure.endswith("_rate"):
        return percent
    return number
