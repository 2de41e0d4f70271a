"""Request and response models of the public API and the token endpoint.

They check shape, types and forms (lengths, patterns of codes, texts that must be filled in), so
that the document they make (petitions.web.api.spec) states what the server enforces; the domain
(petitions.services.filing.validate and friends) checks the rules that depend on the record (known
codes, mobile numbers, attachment types, who may use a channel) with its own messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from config.settings import Settings
from petitions.domain.validation import CODE_PATTERN, QUERY_CODE_PATTERN
from petitions.models import CategoryKind, Status, UnitKind
from petitions.web.api.spec import ApiIn, ApiOut, ApiQuery
from petitions.web.inputs import FILLED_TEXT_PATTERN

# Base64 grows data by a third; the domain gives the clear "larger than 10 MB" message.
# The documented bounds are the rules' defaults (the service checks the settings in force).
RULES = Settings()
ATTACHMENT_B64_MAX = (RULES.attachment_max_bytes * 4) // 3 + 8
# What base64.b64decode(validate=True) takes: groups of four, padded.
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
CONTACT_NAME_MAX = 64
PHONE_MAX = 32

UnitKindName = Literal["township", "committee", "department", "bureau", "discipline", "government"]
CategoryKindName = Literal["grievance", "suggestion", "report", "consultation"]
assert set(UnitKindName.__args__) == set(UnitKind.values())  # type: ignore[attr-defined]
assert set(CategoryKindName.__args__) == set(CategoryKind.values())  # type: ignore[attr-defined]


# ---------------------------------------------------------------- shared pieces


class UnitRef(ApiOut):
    """A unit, as answers name it."""

    code: str
    name: str
    kind: UnitKindName


class Deadline(ApiOut):
    """One time limit of a petition: committed (due_at) and statutory."""

    clock: str = Field(description="route, accept, handle, review, ...")
    started_at: datetime
    due_at: datetime = Field(description="by the committed limit (承诺时限); deadlines run on it")
    statutory_due_at: datetime = Field(description="by the statutory limit (法定时限)")
    open: bool = Field(description="false once the step is done")


# ---------------------------------------------------------------- categories and units


class Limit(ApiOut):
    statutory_days: int
    committed_days: int
    day_unit: Literal["calendar", "working"]


class TimeLimits(ApiOut):
    accept: Limit = Field(description="from receipt by the unit to the decision to accept")
    handle: Limit = Field(description="from acceptance to the written reply")


class CategoryNode(ApiOut):
    code: str
    name: str
    kind: CategoryKindName
    description: str
    keywords: list[str]
    selectable: bool = Field(description="petitions are filed under selectable (second-level) categories")
    allows_anonymous: bool = Field(description="only reports (检举控告) may be filed anonymously")
    time_limits: TimeLimits
    children: list[CategoryNode]


class CategoriesOut(ApiOut):
    """The subject tree"""

    categories: list[CategoryNode]


class UnitOut(ApiOut):
    code: str
    name: str
    kind: UnitKindName
    parent: str | None = Field(description="code of the parent unit")
    place: bool = Field(description="may be given as the `township` of a petition")


class UnitsOut(ApiOut):
    """The units"""

    units: list[UnitOut]


class UnitsQuery(ApiQuery):
    kind: UnitKindName | None = Field(default=None, description="only units of this kind")


# ---------------------------------------------------------------- filing


class ContactIn(ApiIn):
    name: str | None = Field(default=None, max_length=CONTACT_NAME_MAX)
    phone: str | None = Field(
        default=None, max_length=PHONE_MAX, description="a mainland mobile number, e.g. 13812345678"
    )


class AttachmentIn(ApiIn):
    filename: str = Field(max_length=200, description="kept without directories or control characters")
    content_base64: str = Field(
        max_length=ATTACHMENT_B64_MAX,
        pattern=BASE64_PATTERN,
        description=f"the file, base64; JPEG, PNG or PDF of at most {RULES.attachment_max_bytes // 2**20} MB",
    )


class FilingIn(ApiIn):
    title: str = Field(min_length=1, max_length=RULES.title_max, pattern=FILLED_TEXT_PATTERN)
    content: str = Field(min_length=1, max_length=RULES.content_max, pattern=FILLED_TEXT_PATTERN)
    category: str = Field(
        pattern=CODE_PATTERN, description="code of a selectable category (GET /api/v1/categories)"
    )
    township: str = Field(
        pattern=CODE_PATTERN,
        description="code of the township or area concerned (GET /api/v1/units, place=true)",
    )
    contact: ContactIn | None = Field(
        default=None, description="omitted only when `anonymous` is true and the category allows it"
    )
    anonymous: bool = False
    public_consent: bool = Field(default=False, description="may the petition be published (anonymised)")
    channel: Literal["web", "letter", "phone", "visit"] = Field(
        default="web", description="letter, phone and visit only with an intake officer's token"
    )
    attachments: list[AttachmentIn] = Field(
        default_factory=list, description=f"at most {RULES.attachments_max}"
    )


class FiledOut(ApiOut):
    """The petition was filed"""

    tracking_no: str
    query_code: str = Field(description="shown this once; with the tracking number it opens the petition")
    status: Status
    status_label: str
    unit: UnitRef | None = Field(description="where it was routed at once; null while it waits for routing")
    deadlines: list[Deadline]
    created_at: datetime


# ---------------------------------------------------------------- the citizen's view


class LookupQuery(ApiQuery):
    code: str | None = Field(
        default=None,
        pattern=QUERY_CODE_PATTERN,
        description="the query code given at filing; without it, a staff token gets the staff view",
    )


class CategoryRef(ApiOut):
    code: str
    name: str


class TimelineEntry(ApiOut):
    at: datetime
    type: str
    text: str


class ReplyOut(ApiOut):
    at: datetime
    text: str


class CitizenView(ApiOut):
    """The petition as its citizen sees it"""

    tracking_no: str
    title: str
    category: CategoryRef
    township: UnitRef | None = Field(description="null while the place is still to be registered")
    status: Status
    status_label: str
    unit: UnitRef | None
    created_at: datetime
    deadlines: list[Deadline]
    timeline: list[TimelineEntry] = Field(description="public events, oldest first")
    reply: ReplyOut | None
    rating: dict[str, Any] | None = Field(description="the citizen's rating of the reply, once given")
    can_rate: bool
    can_request_review: bool
    next_step: str = Field(description="what happens next, in words")


# ---------------------------------------------------------------- staff tokens


class TokenIn(ApiIn):
    username: str = Field(max_length=200)
    password: str = Field(max_length=1000)


class TokenOut(ApiOut):
    """A bearer token for the staff API"""

    token: str = Field(description="send as `Authorization: Bearer <token>`")
    expires_at: datetime
    role: str
    unit: UnitRef | None
