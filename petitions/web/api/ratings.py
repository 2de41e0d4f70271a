"""POST /api/v1/petitions/{tracking_no}/rating: the citizen rates the reply (once per reply)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from petitions.domain.validation import QUERY_CODE_PATTERN
from petitions.models import Score
from petitions.services import ratings
from petitions.web.api.blueprint import bp
from petitions.web.api.routes import TRACKING_NO_RE
from petitions.web.api.schemas import CitizenView
from petitions.web.api.spec import ApiIn, operation
from petitions.web.presenters import citizen_view
from petitions.web.ratelimits import code_holder, lookup_limit

ScoreName = Literal["satisfied", "basically_satisfied", "unsatisfied"]
assert set(ScoreName.__args__) == set(Score.values())  # type: ignore[attr-defined]


class RatingIn(ApiIn):
    code: str = Field(pattern=QUERY_CODE_PATTERN, description="the query code given at filing")
    score: ScoreName
    comment: str = Field(default="", max_length=5000)


@operation(
    bp,
    "POST",
    "/petitions/{tracking_no}/rating",
    summary="Rate the reply: satisfied, basically satisfied or unsatisfied, with a comment",
    description="Once per reply, within 30 days of it, by whoever holds the query code. Staff cannot change it.",
    tags=["public"],
    body=RatingIn,
    responses={200: CitizenView},
    limits=[lookup_limit],
    errors={
        404: "No petition matches this tracking number and query code",
        409: "No reply yet, already rated, or the 30 days have passed",
    },
)
def rate_reply(tracking_no: str, body: RatingIn):
    number = tracking_no if TRACKING_NO_RE.match(tracking_no or "") else ""
    petition, holder = code_holder(number, body.code)
    petition = ratings.rate(petition, body.score, body.comment, actor=holder, channel="api")
    return CitizenView.model_validate(citizen_view(petition))
