"""The working calendar (节假日与调休) in the admin area: public holidays and adjusted workdays per year."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from petitions.domain.clocks import now
from petitions.domain.errors import ValidationFailed
from petitions.i18n import gettext as _
from petitions.services import calendar as workcalendar
from petitions.web.admin.blueprint import bp


def _year() -> int:
    try:
        return int(request.args.get("year") or request.form.get("year") or now().year)
    except ValueError:
        return now().year


@bp.get("/calendar")
def calendar():
    year = _year()
    return render_template(
        "admin/calendar.html",
        year=year,
        days=workcalendar.days_of(year),
        years=sorted(set(workcalendar.years()) | {year}),
        cal=workcalendar.current(),
        errors={},
        form={},
    )


@bp.post("/calendar/days")
def calendar_add():
    year = _year()
    try:
        row = workcalendar.add_day(
            request.form.get("day", ""), request.form.get("kind", ""), request.form.get("name", "")
        )
    except ValidationFailed as exc:
        return (
            render_template(
                "admin/calendar.html",
                year=year,
                days=workcalendar.days_of(year),
                years=sorted(set(workcalendar.years()) | {year}),
                cal=workcalendar.current(),
                errors=exc.text_fields(),
                form=request.form,
            ),
            422,
        )
    flash(_("%(day)s added.", day=row.day.isoformat()), "ok")
    return redirect(url_for("admin.calendar", year=row.year), 303)


@bp.post("/calendar/days/<int:day_id>/delete")
def calendar_remove(day_id: int):
    workcalendar.remove_day(day_id)
    flash(_("Day removed."), "ok")
    return redirect(url_for("admin.calendar", year=_year()), 303)


@bp.post("/calendar/<int:year>/provisional")
def calendar_provisional(year: int):
    final = request.form.get("final") == "1"
    workcalendar.set_provisional(year, not final)
    flash(_("Saved."), "ok")
    return redirect(url_for("admin.calendar", year=year), 303)
