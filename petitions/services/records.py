"""A petition's sub-records, read in one statement: its replies (and drafts), ratings,
extension requests and review requests (and, when asked, its public events or the later
petitions merged into it); and from them the sub-states the workflow's rules look at
(petitions.domain.workflow.State).

A page, an action or a queue reads these once (`of`, or `of_many` for a page of
petitions) instead of one query per question, so what it costs does not grow with the
questions asked of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import JSON, Integer, Text, bindparam, cast, literal, null, select, type_coerce, union_all

from petitions.domain import workflow as wf
from petitions.domain.clocks import CITIZEN_WINDOWS, as_utc, now
from petitions.extensions import db, settings
from petitions.models import (
    CategoryKind,
    Event,
    ExtensionRequest,
    ExtensionStatus,
    Petition,
    Rating,
    Reply,
    ReplyKind,
    ReviewRequest,
    Score,
)
from petitions.types import UTCDateTime

KIND_BY_ROUND = {
    wf.FIRST_REPLY: ReplyKind.REPLY.value,
    wf.REVIEW: ReplyKind.REVIEW.value,
    wf.REREVIEW: ReplyKind.REREVIEW.value,
}
# A reply's number: what a rating names (1 reply, 2 review opinion, 3 re-review opinion).
REPLY_NO = {ReplyKind.REPLY.value: 1, ReplyKind.REVIEW.value: 2, ReplyKind.REREVIEW.value: 3}
SATISFIED = frozenset({Score.SATISFIED.value, Score.BASICALLY_SATISFIED.value})


@dataclass(frozen=True)
class ReplyRow:
    id: int
    kind: str
    unit_id: int | None
    issued_at: datetime | None

    @property
    def number(self) -> int:
        return REPLY_NO[self.kind]


@dataclass(frozen=True)
class RatingRow:
    id: int
    reply_no: int
    score: str
    at: datetime
    # The citizen's comment, in a record read with its texts (`of(..., public_events=True)` or
    # `merged=True`); None otherwise, as when there is none.
    comment: str | None = None


@dataclass(frozen=True)
class PublicEvent:
    """An event of the petition's history that the citizen may read (what event_text needs)."""

    id: int
    at: datetime
    type: str
    text: str
    unit_id: int | None
    data: dict[str, Any] | None


@dataclass
class Record:
    replies: list[ReplyRow] = field(default_factory=list)
    ratings: list[RatingRow] = field(default_factory=list)
    # (id, status) of each extension request, oldest first
    extensions: list[tuple[int, str]] = field(default_factory=list)
    # (id, kind, reviewing unit id) of each review request, oldest first
    reviews: list[tuple[int, str, int]] = field(default_factory=list)
    # The public events, oldest first, when they were asked for (`of(..., public_events=True)`).
    public_events: list[PublicEvent] | None = None
    # (tracking number, title) of each later petition merged into this one, by id, when they
    # were asked for (`of(..., merged=True)`).
    merged_here: list[tuple[str, str]] | None = None

    @property
    def texts(self) -> bool:
        """Whether it was read with its texts (public events or merged petitions asked for):
        then the ratings carry their comments."""
        return self.public_events is not None or self.merged_here is not None

    @property
    def review_round(self) -> int:
        return min(len(self.reviews), wf.REREVIEW)

    @property
    def reviewing_unit_id(self) -> int | None:
        """The unit a review or re-review was asked of (the latest request's)."""
        return self.reviews[-1][2] if self.reviews else None

    @property
    def latest_issued(self) -> ReplyRow | None:
        return next((r for r in reversed(self.replies) if r.issued_at is not None), None)

    @property
    def pending_draft(self) -> ReplyRow | None:
        """The reply draft of the current round that waits for the leader, if any."""
        kind = KIND_BY_ROUND[self.review_round]
        latest = next((r for r in reversed(self.replies) if r.kind == kind), None)
        return latest if latest is not None and latest.issued_at is None else None

    def rating_of(self, reply: ReplyRow | None) -> RatingRow | None:
        if reply is None:
            return None
        return next((r for r in self.ratings if r.reply_no == reply.number), None)

    @property
    def extension(self) -> str:
        statuses = {status for _id, status in self.extensions}
        if ExtensionStatus.APPROVED.value in statuses:
            return wf.EXT_APPROVED
        if ExtensionStatus.PENDING.value in statuses:
            return wf.EXT_PENDING
        return wf.EXT_NONE

    @property
    def pending_extension_id(self) -> int | None:
        return next(
            (i for i, status in reversed(self.extensions) if status == ExtensionStatus.PENDING.value), None
        )


_NO_NUMBER = type_coerce(null(), Integer)
_NO_TIME = type_coerce(null(), UTCDateTime())
_NO_TEXT = cast(null(), Text)
_NO_DATA = cast(null(), JSON)


def _rows(
    what: str,
    model: Any,
    a: Any,
    n: Any = _NO_NUMBER,
    unit_id: Any = _NO_NUMBER,
    at: Any = _NO_TIME,
    more: tuple = (),
    of: Any = None,
) -> Any:
    """One part of `_query`: rows of `what` (rows of `model`, by id) for the petitions `ids`
    (their petition is `of`, the model's `petition_id` unless told), in its columns (what,
    petition_id, id, a, n, unit_id, at, and `more`: text, data)."""
    of = model.petition_id if of is None else of
    return select(
        literal(what).label("what"),
        of.label("petition_id"),
        model.id.label("id"),
        a.label("a"),
        n.label("n"),
        unit_id.label("unit_id"),
        at.label("at"),
        *more,
    ).where(of.in_(bindparam("ids", expanding=True)))


@cache
def _query(public_events: bool = False, merged: bool = False):
    """The statement of `of_many`, built once (its petitions are the parameter `ids`); with
    `public_events`, the petitions' public events too, and with `merged` the later petitions
    merged into them: either adds two columns, a text and data, where the ratings' rows also
    carry their comments."""
    texts = public_events or merged

    def more(text: Any = _NO_TEXT, data: Any = _NO_DATA) -> tuple:
        return (text.label("text"), data.label("data")) if texts else ()

    branches = [
        _rows("reply", Reply, Reply.kind, unit_id=Reply.unit_id, at=Reply.issued_at, more=more()),
        _rows("rating", Rating, Rating.score, Rating.reply_no, Rating.unit_id, Rating.created_at, more(Rating.comment)),
        _rows("extension", ExtensionRequest, ExtensionRequest.status, more=more()),
        _rows("review", ReviewRequest, ReviewRequest.kind, unit_id=ReviewRequest.unit_id, more=more()),
    ]
    if public_events:
        event = _rows("event", Event, Event.type, unit_id=Event.unit_id, at=Event.at, more=more(Event.text, Event.data))
        branches.append(event.where(Event.public.is_(True)))
    if merged:
        # The ix_petitions_duplicate_of index finds the few merged into each.
        branches.append(
            _rows("merged", Petition, Petition.tracking_no, more=more(Petition.title), of=Petition.duplicate_of_id)
        )
    return union_all(*branches)


def of_many(
    petition_ids: Iterable[int], *, public_events: bool = False, merged: bool = False
) -> dict[int, Record]:
    """The records of many petitions, in one statement (with their public events and the
    petitions merged into them, if asked)."""
    ids = sorted({i for i in petition_ids if i is not None})
    found: dict[int, Record] = {
        i: Record(public_events=[] if public_events else None, merged_here=[] if merged else None) for i in ids
    }
    if not ids:
        return found
    with db.session.no_autoflush:
        rows = db.session.execute(_query(public_events, merged), {"ids": ids}).all()
    for what, petition_id, id_, a, n, unit_id, at, *more in sorted(rows, key=lambda r: (r[0], r[2])):
        record = found[petition_id]
        if what == "reply":
            record.replies.append(ReplyRow(id_, a, unit_id, as_utc(at) if at else None))
        elif what == "rating":
            record.ratings.append(RatingRow(id_, n, a, as_utc(at), more[0] if more else None))
        elif what == "merged":
            assert record.merged_here is not None
            record.merged_here.append((a, more[0]))
        elif what == "extension":
            record.extensions.append((id_, a))
        elif what == "review":
            record.reviews.append((id_, a, unit_id))
        else:
            assert record.public_events is not None
            record.public_events.append(PublicEvent(id_, as_utc(at), a, more[0], unit_id, more[1]))
    if public_events:
        for record in found.values():
            assert record.public_events is not None
            record.public_events.sort(key=lambda e: (e.at, e.id))
    return found


def of(petition: Petition, *, public_events: bool = False, merged: bool = False) -> Record:
    """A petition's record (and its public events, oldest first, and the later petitions
    merged into it, by id, if asked), in one statement."""
    return of_many([petition.id], public_events=public_events, merged=merged)[petition.id]


# ---------------------------------------------------------------- the state the rules read


def rating_deadline(reply: ReplyRow) -> datetime:
    """When the citizen's days for rating a reply end (满意度评价)."""
    assert reply.issued_at is not None
    return as_utc(reply.issued_at) + timedelta(days=settings().rating_window_days)


def window_clock(petition: Petition):
    """The citizen's open window for asking for review or re-review, if one runs."""
    clock = petition.open_clock
    return clock if clock is not None and clock.kind in CITIZEN_WINDOWS else None


def state_of(petition: Petition, record: Record, at: datetime | None = None) -> wf.State:
    """The petition as petitions.domain.workflow sees it: status plus the sub-states its rules read."""
    at = at or now()
    reply = record.latest_issued
    rating = record.rating_of(reply)
    window = window_clock(petition)
    return wf.State(
        status=petition.status,
        draft_pending=record.pending_draft is not None,
        extension=record.extension,
        review_round=record.review_round,
        window_open=window is not None and at < as_utc(window.due_at),
        has_reply=reply is not None,
        rated=rating is not None,
        satisfied=rating is not None and rating.score in SATISFIED,
        rating_open=reply is None or at < rating_deadline(reply),
        is_report=petition.category.kind == CategoryKind.REPORT,
    )
