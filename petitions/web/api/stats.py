"""GET /api/v1/stats/units: the public measures per unit for a month, quarter or year."""

from __future__ import annotations

from pydantic import Field, create_model

from petitions.domain.validation import CODE_PATTERN
from petitions.measures import shared, stats
from petitions.web.api.blueprint import bp
from petitions.web.api.schemas import UnitRef
from petitions.web.api.spec import ApiOut, ApiQuery, operation


class StatsQuery(ApiQuery):
    period: str = Field(
        pattern=stats.PERIOD_PATTERN,
        description="a month `YYYY-MM`, a quarter `YYYY-Qn` or a year `YYYY` (local time); not in the future",
    )
    unit: str | None = Field(
        default=None, pattern=CODE_PATTERN, description="one unit's code; unknown codes answer 404"
    )


def _field(name: str):
    kind = float | None if name in stats.RATE_MEASURES or name == "avg_handling_days" else int
    note = (
        "a fraction (0.8 is 80%), null when there is nothing to divide by" if kind is not int else "a count"
    )
    return (kind, Field(description=f"{name.replace('_', ' ')}: {note}"))


# The measure fields are generated from stats.MEASURES: one list, in the code and the document.
Measures = create_model(
    "Measures",
    __base__=ApiOut,
    __doc__="The measures of a unit's work in the period (definitions: petitions.measures.stats)",
    **{name: _field(name) for name in stats.MEASURES},
)


class UnitMeasures(Measures):  # type: ignore[misc,valid-type]
    """One unit's measures"""

    unit: UnitRef


class StatsOut(ApiOut):
    """The measures per unit, and for all units together"""

    period: str
    kind: str = Field(description="month, quarter or year")
    start: str = Field(description="the period's first local day")
    end: str = Field(description="the period's last local day")
    units: list[UnitMeasures]
    total: Measures  # type: ignore[valid-type]


@operation(
    bp,
    "GET",
    "/stats/units",
    summary="The public measures per unit for a month, quarter or year",
    tags=["public"],
    query=StatsQuery,
    responses={200: StatsOut},
    errors={404: "No unit has this code", 422: "Not a month, quarter or year, or one still to come"},
)
def stats_units(query: StatsQuery):
    period = stats.parse_period(query.period)
    return shared.unit_measures(period, query.unit or None)
