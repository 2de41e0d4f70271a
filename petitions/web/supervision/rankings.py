"""Rankings of units by any measure, monthly trends, and a unit's own page (考核排名).

Supervisors, administrators and the bureau's intake officers see every unit; a unit's
leader and handlers see the rankings and their own unit's page only (another unit's page
answers 404, so nothing leaks). Citizens and visitors are sent to log in.
"""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from petitions.i18n import gettext as _
from petitions.measures import shared, stats
from petitions.models import Role
from petitions.web import charts, exports
from petitions.web.presenters import CHANNEL_NAMES, STATUS_LABELS, local_name
from petitions.web.supervision.blueprint import bp

SEE_ALL = {Role.SUPERVISOR.value, Role.ADMIN.value, Role.INTAKE.value}
UNIT_ROLES = {Role.LEADER.value, Role.HANDLER.value}
TREND_MONTHS = 12
TOP_IN_TREND = 5


def _viewer():
    """The logged-in staff user allowed here; others go to the login page or get a 404."""
    if not current_user.is_authenticated:
        return None
    user = current_user._get_current_object()
    if user.role in SEE_ALL or user.role in UNIT_ROLES:
        return user
    abort(404)


def _login():
    return redirect(url_for(current_app.login_manager.login_view, next=request.full_path))


def _period() -> stats.Period:
    raw = request.args.get("period")
    return stats.parse_period(raw) if raw else stats.current_period()


def _measures(period: stats.Period) -> dict:
    return shared.measures(period)


def _months() -> list[stats.Period]:
    return stats.recent_months(TREND_MONTHS)


def _period_choices() -> list[str]:
    months = [m.label for m in reversed(_months())]
    quarter = stats.current_period("quarter")
    year = stats.current_period("year")
    return [*months, quarter.label, quarter.previous().label, year.label, year.previous().label]


def ranked(period: stats.Period, measure: str) -> list[dict]:
    """stats.ranking over the cached figures of the period and the one before."""
    current = _measures(period)
    before = {row["unit"]["code"]: row for row in _measures(period.previous())["units"]}
    return stats.rank_rows(current["units"], before, measure)


@bp.get("/rankings")
def rankings():
    user = _viewer()
    if user is None:
        return _login()
    period = _period()
    measure = stats.parse_measure(request.args.get("measure"))
    rows = ranked(period, measure)
    fmt = charts.formatter(measure)
    bar = charts.bar_chart(
        [(local_name(r["unit"]), r["value"]) for r in rows if r["value"] is not None],
        title=f"{stats.LABELS[measure]} · {period.label}",
        fmt=fmt,
        max_value=1.0 if measure in stats.RATE_MEASURES else None,
    )
    months = _months()
    monthly = [_measures(m) for m in months]
    top = [r["unit"] for r in rows if r["value"] is not None][:TOP_IN_TREND]
    series = [(_("All units"), [m["total"][measure] for m in monthly])]
    for unit in top:
        series.append(
            (
                local_name(unit),
                [next(u[measure] for u in m["units"] if u["unit"]["code"] == unit["code"]) for m in monthly],
            )
        )
    trend = charts.line_chart(
        [m.label for m in months],
        series,
        title=_("%(measure)s by month", measure=stats.LABELS[measure]),
        fmt=fmt,
        max_value=1.0 if measure in stats.RATE_MEASURES else None,
    )
    return render_template(
        "supervision/rankings.html",
        period=period,
        previous=period.previous(),
        measure=measure,
        measures=stats.MEASURES,
        labels=stats.LABELS,
        lower_is_better=measure in stats.LOWER_IS_BETTER,
        rows=rows,
        bar=bar,
        trend=trend,
        periods=_period_choices(),
        own_unit=user.unit.code if user.role in UNIT_ROLES and user.unit else None,
    )


UNIT_TRENDS = (
    (("received", "closed", "overdue"), None),
    (("on_time_closure_rate", "response_rate", "satisfaction_rate"), charts.percent),
)


@bp.get("/units/<code>")
def unit_page(code: str):
    user = _viewer()
    if user is None:
        return _login()
    if user.role in UNIT_ROLES and (user.unit is None or user.unit.code != code):
        abort(404)
    period = _period()
    units = stats.units_in_scope(code)  # NotFound for an unknown code
    now_rows = _measures(period)
    before_rows = _measures(period.previous())
    row = next((u for u in now_rows["units"] if u["unit"]["code"] == code), None)
    if row is None:  # an inactive unit: computed on its own
        row = stats.unit_measures(period, code)["units"][0]
    before = next((u for u in before_rows["units"] if u["unit"]["code"] == code), None)
    if before is None:
        before = stats.unit_measures(period.previous(), code)["units"][0]
    months = _months()
    monthly = []
    for m in months:
        found = next((u for u in _measures(m)["units"] if u["unit"]["code"] == code), None)
        monthly.append(found or stats.unit_measures(m, code)["units"][0])
    trends = []
    for names, fmt in UNIT_TRENDS:
        trends.append(
            charts.line_chart(
                [m.label for m in months],
                [(str(stats.LABELS[n]), [r[n] for r in monthly]) for n in names],
                title=_("%(unit)s by month", unit=local_name(units[0])),
                fmt=fmt or charts.number,
                max_value=1.0 if fmt else None,
            )
        )
    return render_template(
        "supervision/rank_unit.html",
        unit=units[0],
        period=period,
        previous=period.previous(),
        row=row,
        before=before,
        measures=stats.MEASURES,
        labels=stats.LABELS,
        trends=trends,
        periods=_period_choices(),
    )


# ---------------------------------------------------------------- exports


def _download(rows, fmt: str, name: str) -> Response:
    # content_type, not mimetype: the charset is in it already and must not be added twice.
    response = Response(
        stream_with_context(exports.stream(rows, fmt, name)), content_type=exports.CONTENT_TYPES[fmt]
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/export/measures")
def export_measures():
    user = _viewer()
    if user is None:
        return _login()
    fmt = exports.parse_format(request.args.get("format"))
    period = _period()
    return _download(exports.measure_rows(period), fmt, f"measures-{period.label}")


@bp.get("/export/petitions")
def export_petitions():
    """The petitions the user may see, filtered as on the staff queue (status, level, unit, q)."""
    user = _viewer()
    if user is None:
        return _login()
    fmt = exports.parse_format(request.args.get("format"))
    flt = exports.PetitionFilter.parse(request.args)
    stamp = stats.current_period("month").label
    labels = {"channel": CHANNEL_NAMES, "status": STATUS_LABELS}
    return _download(exports.petition_rows(user, flt, labels), fmt, f"petitions-{stamp}")
