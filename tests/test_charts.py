"""Server-drawn SVG charts: real marks, labels, titles; nulls are not zeros."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from petitions.web import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def test_bar_chart_draws_one_bar_per_value_and_dashes_for_none():
    svg = parse(
        charts.bar_chart(
            [("东城街道", 0.5), ("县交通运输局", 1.0), ("县统计局", None)],
            title="按期办结率",
            fmt=charts.percent,
            max_value=1.0,
        )
    )
    assert svg.find(f"{SVG}title").text == "按期办结率"
    bars = svg.findall(f".//{SVG}rect[@class='bar']")
    assert len(bars) == 2  # no bar for the unit with nothing to count
    widths = [float(b.get("width")) for b in bars]
    assert widths[1] == 2 * widths[0] > 0
    assert [b.find(f"{SVG}title").text for b in bars] == ["东城街道：50.0%", "县交通运输局：100.0%"]
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "县统计局" in texts and "—" in texts and "0.0%" in texts and "100.0%" in texts
    assert "县统计局：—" in svg.find(f"{SVG}desc").text


def test_line_chart_breaks_at_none_and_labels_axes():
    svg = parse(
        charts.line_chart(
            ["2026-01", "2026-02", "2026-03", "2026-04"],
            [("收件", [3, 5, None, 4]), ("办结", [1, 2, 3, 4])],
            title="每月件数",
        )
    )
    lines = svg.findall(f".//{SVG}polyline")
    # 收件 breaks into two segments at the missing month; 办结 is one line.
    assert len(lines) == 3
    assert [len(line.get("points").split()) for line in lines] == [2, 1, 4]
    assert len(svg.findall(f".//{SVG}circle")) == 7
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert {"2026-01", "2026-04", "收件", "办结", "每月件数"} <= set(texts)


def test_labels_are_escaped_and_empty_charts_are_valid():
    svg = parse(charts.bar_chart([("<script>", 1)], title="a & b"))
    assert svg.find(f"{SVG}title").text == "a & b"
    assert "<script>" in [t.text for t in svg.iter(f"{SVG}text")]
    parse(charts.bar_chart([], title="空"))
    parse(charts.line_chart([], [], title="空"))
    parse(charts.bar_chart([("a", 1)], title="x & <y>"))


def test_format_measure():
    assert charts.format_measure(None, "satisfaction_rate") == "—"
    assert charts.format_measure(0.8333, "satisfaction_rate") == "83.3%"
    assert charts.format_measure(0.0, "response_rate") == "0.0%"
    assert charts.format_measure(11.2639, "avg_handling_days") == "11.26"
    assert charts.format_measure(7, "received") == "7"


def test_month_labels_that_would_overlap_are_thinned():
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    svg = parse(charts.line_chart(months, [("收件", list(range(12)))], title="每月件数"))
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-label"]
    step = months.index(labels[1])
    assert step > 1 and labels == months[::step]  # twelve would run into each other on a phone
    xs = [float(t.get("x")) for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-label"]
    assert min(b - a for a, b in zip(xs, xs[1:], strict=False)) > charts._text_width("2026-01", charts.SMALL)
    # Every point keeps its month in its tooltip.
    assert len(svg.findall(f".//{SVG}circle")) == 12


def test_charts_are_drawn_for_a_phone_with_readable_text():
    """Drawn 360 units wide with no text under 14 units: on a 360-px phone (328 px for the chart)
    that is at least 12 px; the browser test measures it on the page."""
    for chart in (
        charts.bar_chart([("青山经济开发区管委会", 0.25), ("县交通运输局", 1.0)], title="按期办结率", fmt=charts.percent),
        charts.line_chart(["2026-01", "2026-02"], [("收件", [1, 2]), ("办结", [0, 1])], title="每月件数"),
        charts.line_chart([f"2026-{m:02d}" for m in range(1, 13)], [("满意率", [0.5] * 12)], title="满意率",
                          fmt=charts.percent, max_value=1.0),
    ):
        svg = parse(chart)
        assert svg.get("viewBox").split()[2] == "360"
        sizes = [float(t.get("font-size")) for t in svg.iter(f"{SVG}text")]
        assert sizes and min(sizes) >= 14
        # Nothing is drawn past the right edge.
        for t in svg.iter(f"{SVG}text"):
            x, w = float(t.get("x")), charts._text_width(t.text, float(t.get("font-size")))
            start = {"middle": x - w / 2, "end": x - w}.get(t.get("text-anchor"), x)
            assert start >= -1 and start + w <= 361, t.text


@pytest.mark.parametrize(
    "chart",
    [
        lambda: charts.bar_chart([], title="满意率 · 2026-12"),
        lambda: charts.bar_chart([("县统计局", None)], title="满意率 · 2026-12"),
        lambda: charts.line_chart(["2026-01", "2026-02"], [("满意率", [None, None])], title="满意率"),
        lambda: charts.line_chart([], [], title="空"),
    ],
)
def test_an_empty_chart_says_there_is_no_data(app, chart):
    svg = parse(chart())
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "本期暂无数据。" in texts
    assert not svg.findall(f".//{SVG}line") and not svg.findall(f".//{SVG}polyline")
    assert "本期暂无数据。" in svg.find(f"{SVG}desc").text
