"""The public pages (政务公开): catalogue and limits, monthly measures with charts, published replies."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import get_locale
from flask_login import current_user

from petitions.domain.clocks import now
from petitions.i18n import gettext as _
from petitions.measures import shared, stats
from petitions.web import charts
from petitions.web.presenters import local_name
from petitions.web.public import cache, published
from petitions.web.public.blueprint import bp

# The measures the public page draws; the table shows them all.
CHART_MEASURES = ("on_time_closure_rate", "satisfaction_rate", "received")
TREND_MONTHS = shared.TREND_MONTHS


@bp.app_template_filter("measure")
def measure_filter(value, measure: str) -> str:
    return charts.format_measure(value, measure)


def _months() -> list[stats.Period]:
    return stats.recent_months(TREND_MONTHS)


def _measures(period: stats.Period) -> dict:
    """The period's measures, shared by every process (petitions.measures.shared)."""
    return shared.measures(period)


def _trend() -> dict:
    return shared.trend(TREND_MONTHS)


def unit_charts(data: dict, measures=CHART_MEASURES) -> list:
    """Bar charts of the units that had anything to do in the period."""
    active = [row for row in data["units"] if row["received"] or row["closed"] or row["overdue"]]
    result = []
    for measure in measures:
        items = [(local_name(row["unit"]), row[measure]) for row in active]
        if not items:
            continue
        result.append(
            charts.bar_chart(
                items,
                title=f"{stats.LABELS[measure]} · {data['period']}",
                fmt=charts.formatter(measure),
                max_value=1.0 if measure.endswith("_rate") else None,
            )
        )
    return result


def trend_charts(trend: dict) -> list:
    labels = trend["labels"]
    totals = trend["totals"]
    return [
        charts.line_chart(
            labels,
            [(str(stats.LABELS[m]), [t[m] for t in totals]) for m in ("received", "closed", "overdue")],
            title=_("Petitions per month, all units"),
        ),
        charts.line_chart(
            labels,
            [
                (str(stats.LABELS[m]), [t[m] for t in totals])
                for m in ("on_time_closure_rate", "satisfaction_rate", "response_rate")
            ],
            title=_("Rates per month, all units"),
            fmt=charts.percent,
            max_value=1.0,
        ),
    ]


@bp.get("/")
def index():
    period = (
        stats.parse_period(request.args.get("period"))
        if request.args.get("period")
        else stats.current_period()
    )
    locale = str(get_locale())
    if current_user.is_authenticated:
        return _index_page(period, locale)
    # What an anonymous visitor reads is the same for everyone: each process keeps the page
    # as it rendered it (the charts and the table of every unit) for public_cache_seconds.
    return cache.cached(("page", locale, request.full_path), lambda: _index_page(period, locale))


def _index_page(period: stats.Period, locale: str) -> str:
    data = _measures(period)
    catalogue = cache.cached(("catalogue", locale), published.catalogue)
    latest = {"items": shared.cached("published-latest:5", lambda: published.latest(5))}
    return render_template(
        "public/index.html",
        period=period,
        months=list(reversed(_months())),
        data=data,
        measures=stats.MEASURES,
        labels=stats.LABELS,
        bar_charts=unit_charts(data),
        line_charts=trend_charts(_trend()),
        catalogue=catalogue,
        latest=latest,
        generated_at=now(),
    )


@bp.get("/petitions")
def petitions():
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1 or int(page) > 100000:
        abort(404)
    result = cache.cached(
        ("published", int(page), published.PAGE_SIZE), lambda: published.published(int(page))
    )
    return render_template("public/petitions.html", result=result)


@bp.get("/petitions/<int:petition_id>")
def petition(petition_id: int):
    item = cache.cached(("published_one", petition_id), lambda: published.published_one(petition_id))
    if item is None:
        abort(404)
    return render_template("public/petition.html", item=item)
