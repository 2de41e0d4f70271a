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
# Drawn for a phone: a 360-px screen shows a chart at about its own size (328 px of 360), so
# its text is about these sizes there (never under 12 px); site.css shows it at most 480 px wide.
WIDTH = 360
TEXT = 15
SMALL = 14
TITLE = 17
# A rough width of a character, as a share of the font size (CJK take a whole em).
CHAR_EM = 0.62
_ids = count(1)

Formatter = Callable[[float], str]


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def number(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def _fmt(value: float | None, fmt: Formatter) -> str:
    return "—" if value is None else fmt(value)


def _text_width(text: str, size: float) -> float:
    return sum(size if ord(ch) > 0x2E80 else size * CHAR_EM for ch in text)


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
        f'<text class="chart-title" x="0" y="{TITLE + 2}" font-size="{TITLE}" font-weight="bold">{escape(title)}</text>',
    ]
    return uid, parts


def _no_data(title: str, width: int) -> Markup:
    """A chart with nothing to draw says so, rather than showing bare axes."""
    from petitions.i18n import gettext

    words = gettext("No data for this period.")
    height = TITLE + 64
    _uid, parts = _open(width, height, title, words)
    parts.append(
        f'<rect class="no-data-box" x="0" y="{TITLE + 12}" width="{width}" height="44" fill="#f3f4f6" stroke="#c7ccd4"/>'
        f'<text class="no-data" x="{width / 2:.1f}" y="{TITLE + 40}" font-size="{TEXT}" text-anchor="middle">'
        f"{escape(words)}</text></svg>"
    )
    return Markup("".join(parts))


def bar_chart(
    items: Sequence[tuple[str, float | None]],
    *,
    title: str,
    fmt: Formatter = number,
    max_value: float | None = None,
    color: str = PALETTE[0],
    width: int = WIDTH,
) -> Markup:
    """Horizontal bars, one per (label, value), each under its label: unit names are long, and a
    phone has no room for a column of them beside the bars."""
    values = [v for _, v in items if v is not None]
    if not values:
        return _no_data(title, width)
    label_h, bar_h, gap = TEXT + 4, 16, 12
    row = label_h + bar_h + gap
    top = TITLE + 16
    value_w = max(_text_width(_fmt(v, fmt), SMALL) for _, v in items) + 8
    plot_w = float(int(width - value_w - 2))
    upper = max_value if max_value is not None else _nice_max(max(values, default=0.0))
    axis_y = top + row * len(items)
    height = axis_y + SMALL + 12
    desc = "；".join(f"{label}：{_fmt(v, fmt)}" for label, v in items)
    _uid, parts = _open(width, height, title, desc)
    parts.append(
        f'<line class="axis" x1="1" y1="{top - 4}" x2="1" y2="{axis_y}" stroke="#555"/>'
        f'<line class="axis" x1="1" y1="{axis_y}" x2="{1 + plot_w:.1f}" y2="{axis_y}" stroke="#555"/>'
    )
    # Ticks at the ends and the middle: room for them on a phone.
    for i in range(3):
        x = 1 + plot_w * i / 2
        anchor = ("start", "middle", "end")[i]
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{axis_y + SMALL + 6}" font-size="{SMALL}" text-anchor="{anchor}">'
            f"{escape(fmt(upper * i / 2))}</text>"
        )
    for i, (label, value) in enumerate(items):
        y = top + i * row
        parts.append(
            f'<text class="chart-label" x="4" y="{y + TEXT}" font-size="{TEXT}">{escape(label)}</text>'
        )
        bar_y = y + label_h
        if value is not None:
            w = 0.0 if upper == 0 else max(0.0, min(value / upper, 1.0)) * plot_w
            parts.append(
                f'<rect class="bar" x="1" y="{bar_y}" width="{w:.1f}" height="{bar_h}" fill="{color}">'
                f"<title>{escape(label)}：{escape(fmt(value))}</title></rect>"
            )
            vx = 1 + w + 4
        else:
            vx = 5
        parts.append(
            f'<text class="value" x="{vx:.1f}" y="{bar_y + bar_h - 3}" font-size="{SMALL}">'
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
    width: int = WIDTH,
    height: int = 220,
) -> Markup:
    """One line per (name, values); a None breaks the line instead of dropping it to zero. The
    legend lists the lines one under another, below the axis."""
    values = [v for _, vs in series for v in vs if v is not None]
    if not values:
        return _no_data(title, width)
    upper = max_value if max_value is not None else _nice_max(max(values, default=0.0))
    tick_w = max(_text_width(fmt(upper * i / 4), SMALL) for i in range(5))
    # Room for half a month label beyond each end of the axis (the labels are centred).
    half_label = max((_text_width(label, SMALL) for label in x_labels), default=0) / 2
    left, right, top = max(tick_w + 8, half_label), max(10, half_label), TITLE + 18
    plot_w, plot_h = width - left - right, height - top - SMALL - 14
    n = max(len(x_labels), 1)
    legend_top = top + plot_h + SMALL + 22
    full_height = legend_top + 20 * len(series)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        y = top + plot_h - (0 if upper == 0 else min(v / upper, 1.0) * plot_h)
        return x, y

    desc = "；".join(
        f"{name}：" + "，".join(f"{x_labels[i]} {_fmt(v, fmt)}" for i, v in enumerate(vs))
        for name, vs in series
    )
    _uid, parts = _open(width, full_height, title, desc)
    parts.append(
        f'<line class="axis" x1="{left:.1f}" y1="{top}" x2="{left:.1f}" y2="{top + plot_h}" stroke="#555"/>'
        f'<line class="axis" x1="{left:.1f}" y1="{top + plot_h}" x2="{left + plot_w:.1f}" y2="{top + plot_h}" stroke="#555"/>'
    )
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text class="tick" x="{left - 4:.1f}" y="{y + 4:.1f}" font-size="{SMALL}" text-anchor="end">'
            f"{escape(fmt(upper * i / 4))}</text>"
        )
    # Labels that would run into each other are thinned out (every second, third, ... one).
    # (Their class is not "label": the site's form labels are bigger and bold.)
    spacing = plot_w / (n - 1) if n > 1 else plot_w
    widest = max((_text_width(label, SMALL) for label in x_labels), default=0) + 8
    step = max(1, math.ceil(widest / spacing))
    for i, label in enumerate(x_labels):
        if i % step:
            continue
        x, _ = xy(i, 0)
        parts.append(
            f'<text class="chart-label" x="{x:.1f}" y="{top + plot_h + SMALL + 6}" font-size="{SMALL}" '
            f'text-anchor="middle">{escape(label)}</text>'
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
        # The legend: one line per series, below the axis labels.
        ly = legend_top + 20 * s
        parts.append(
            f'<rect class="legend" x="1" y="{ly - 11}" width="12" height="12" fill="{color}"/>'
            f'<text x="18" y="{ly}" font-size="{SMALL}">{escape(name)}</text>'
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
