"""SQLAlchemy models: the one source of the schema (migrations follow from it)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    literal,
    not_,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship, validates
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.security import check_password_hash, generate_password_hash

from petitions.domain.clocks import GREEN, MEASURED, Thresholds, cutoffs, now
from petitions.extensions import db
from petitions.types import UTCDateTime


class StrEnum(enum.StrEnum):
    @classmethod
    def values(cls) -> list[str]:
        return [m.value for m in cls]


class UnitKind(StrEnum):
    TOWNSHIP = "township"  # 乡镇/街道
    COMMITTEE = "committee"  # 城区管委会
    DEPARTMENT = "department"  # 县直部门
    BUREAU = "bureau"  # 信访局
    DISCIPLINE = "discipline"  # 纪委监委
    GOVERNMENT = "government"  # 县政府


class CategoryKind(StrEnum):
    GRIEVANCE = "grievance"  # 申诉求决类
    SUGGESTION = "suggestion"  # 建议意见类
    REPORT = "report"  # 检举控告类
    CONSULTATION = "consultation"  # 咨询


class Role(StrEnum):
    CITIZEN = "citizen"  # 信访人
    INTAKE = "intake"  # 登记员
    HANDLER = "handler"  # 承办人
    LEADER = "leader"  # 单位负责人
    SUPERVISOR = "supervisor"  # 督查
    ADMIN = "admin"

    @classmethod
    def staff(cls) -> list[Role]:
        return [r for r in cls if r is not cls.CITIZEN]


class Status(StrEnum):
    REGISTERED = "registered"
    ROUTED = "routed"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    REPLIED = "replied"
    NOT_ACCEPTED = "not_accepted"
    UNDER_REVIEW = "under_review"
    REVIEW_REPLIED = "review_replied"
    CLOSED = "closed"


class Channel(StrEnum):
    WEB = "web"
    LETTER = "letter"
    PHONE = "phone"
    VISIT = "visit"
    API = "api"
    OPEN311 = "open311"


class Score(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意


class Level(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"  # 黄牌
    RED = "red"  # 红牌
    URGED = "urged"  # 督办


def _sql_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _in(column: str, enum_cls: type[StrEnum]) -> str:
    return f"{column} IN {_sql_list(enum_cls.values())}"


class Unit(db.Model):
    """A township, committee, department, the bureau, the discipline office or the government."""

    __tablename__ = "units"
    __table_args__ = (CheckConstraint(_in("kind", UnitKind), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # The English name, where one is given (shown with ?lang=en; the Chinese name otherwise).
    name_en: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # The 单位负责人 who signs; also found as users with role leader in the unit.
    leader_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", use_alter=True, name="fk_units_leader_id_users")
    )
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    leader: Mapped[User | None] = relationship(foreign_keys=[leader_id], post_update=True)

    def to_public(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "name_en": self.name_en, "kind": self.kind}


class Category(db.Model):
    """A subject of petition (two-level tree) with its kind, keywords and limits."""

    __tablename__ = "categories"
    __table_args__ = (CheckConstraint(_in("kind", CategoryKind), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # The English name, where one is given (shown with ?lang=en; the Chinese name otherwise).
    name_en: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    keywords: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # Days for the acceptance decision and the handling; null means the config default.
    accept_days_statutory: Mapped[int | None] = mapped_column(Integer)
    accept_days_committed: Mapped[int | None] = mapped_column(Integer)
    handle_days_statutory: Mapped[int | None] = mapped_column(Integer)
    handle_days_committed: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[Category | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Category]] = relationship(back_populates="parent", order_by="Category.sort_order")

    @property
    def allows_anonymous(self) -> bool:
        """Only reports (检举控告) may be filed anonymously."""
        return self.kind == CategoryKind.REPORT

    @property
    def selectable(self) -> bool:
        """Petitions are filed under leaf categories."""
        return self.parent_id is not None

    def keyword_list(self) -> list[str]:
        return [k.strip() for k in self.keywords.replace("，", ",").split(",") if k.strip()]


class RoutingRule(db.Model):
    """category × township → responsible unit. A null side matches any; higher priority wins."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    category: Mapped[Category | None] = relationship(foreign_keys=[category_id])
    township: Mapped[Unit | None] = relationship(foreign_keys=[township_id])
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])


class User(UserMixin, db.Model):
    """Staff log in with a username; citizens with their mobile number (stored as username too)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Web sessions name the generation they were opened in (get_id); moving it on ends them all:
    # on log-out, on a new password and on deactivation. API tokens older than the password end too.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def end_sessions(self) -> None:
        """End every web session of this user (the caller commits)."""
        self.session_generation = (self.session_generation or 0) + 1

    @validates("password_hash", "active")
    def _ends_sessions(self, key: str, value):
        # A changed password or a deactivation ends every session, whichever code makes it.
        if key == "password_hash" and self.password_hash is not None and value != self.password_hash:
            self.end_sessions()
            self.password_changed_at = now()
        if key == "active" and self.active and not value:
            self.end_sessions()
        return value

    def get_id(self) -> str:  # Flask-Login: what the session cookie keeps
        return f"{self.id}:{self.session_generation or 0}"

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role != Role.CITIZEN


class ApiToken(db.Model):
    """A staff bearer token; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Petition(db.Model):
    """One petition (信访事项) from its first minute, whatever channel it came by."""

    __tablename__ = "petitions"
    __table_args__ = (
        CheckConstraint(_in("status", Status), name="status"),
        CheckConstraint(_in("channel", Channel), name="channel"),
        Index("ix_petitions_unit_status", "unit_id", "status"),
        # The queues' keyset pages (petitions.services.queues): intake's oldest first, the
        # others soonest due first, in all or in one unit.
        Index("ix_petitions_status_created", "status", "created_at", "id"),
        Index("ix_petitions_due_id", "due_at", "id"),
        Index("ix_petitions_unit_due", "unit_id", "due_at", "id"),
        # The petition page's "merged here" (the few petitions merged into this one).
        Index(
            "ix_petitions_duplicate_of",
            "duplicate_of_id",
            postgresql_where=text("duplicate_of_id IS NOT NULL"),
            sqlite_where=text("duplicate_of_id IS NOT NULL"),
        ),
        # The queues' text search on PostgreSQL: the two-character pieces of the text
        # (petitions.services.queues; the function is the migration's). SQLite has a LIKE.
        # Every search reads the index's pending entries whole: a short list (256 kB).
        Index(
            "ix_petitions_search_bigrams",
            text(
                "petition_bigrams(lower((((tracking_no::text || ' '::text) || title::text)"
                " || ' '::text) || content))"
            ),
            postgresql_using="gin",
            postgresql_with={"gin_pending_list_limit": 256},
            info={"dialects": ("postgresql",)},
        ).ddl_if(dialect="postgresql"),
        # The measures: petitions closed in a period, per unit (an index-only scan).
        Index(
            "ix_petitions_closed_at",
            "closed_at",
            postgresql_include=["unit_id"],
            postgresql_where=text("status = 'closed'"),
            sqlite_where=text("status = 'closed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_no: Mapped[str] = mapped_column(String(20), unique=True)
    query_code_hash: Mapped[str] = mapped_column(String(256))
    channel: Mapped[str] = mapped_column(String(16), default=Channel.WEB)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    # The township (place concerned); also a unit. Null only while an Open311 filing whose
    # address named no known place waits for the intake officer to register it.
    township_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    public_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_name: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(20), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column()
    longitude: Mapped[float | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default=Status.REGISTERED)
    # The unit responsible now; null while it waits in the intake queue.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("petitions.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The due time of the clock running now (denormalised from clocks for queues).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    category: Mapped[Category] = relationship()
    township: Mapped[Unit | None] = relationship(foreign_keys=[township_id])
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id])
    citizen: Mapped[User | None] = relationship(foreign_keys=[citizen_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    events: Mapped[list[Event]] = relationship(
        back_populates="petition", order_by="(Event.at, Event.id)", viewonly=True
    )
    attachments: Mapped[list[Attachment]] = relationship(back_populates="petition", order_by="Attachment.id")
    clocks: Mapped[list[Clock]] = relationship(back_populates="petition", order_by="Clock.id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def open_clock(self) -> Clock | None:
        return next((c for c in self.clocks if c.stopped_at is None), None)


class Clock(db.Model):
    """One running or stopped time limit of a petition (route, accept, handle, review, ...)."""

    __tablename__ = "clocks"
    __table_args__ = (
        CheckConstraint(_in("level", Level), name="level"),
        Index("ix_clocks_open_due", "stopped_at", "due_at"),
        # The sweep's lookups: open clocks by level and the moment of their next crossing.
        Index(
            "ix_clocks_open_level_due",
            "level",
            "due_at",
            postgresql_where=text("stopped_at IS NULL"),
            sqlite_where=text("stopped_at IS NULL"),
        ),
        Index(
            "ix_clocks_open_level_yellow",
            "level",
            "yellow_at",
            postgresql_where=text("stopped_at IS NULL"),
            sqlite_where=text("stopped_at IS NULL"),
        ),
        # The measures: handling clocks stopped in a period, and a petition's unit clocks
        # for the late check, both answered from the index alone on PostgreSQL.
        Index(
            "ix_clocks_kind_stopped",
            "kind",
            "stopped_at",
            postgresql_include=["unit_id", "started_at", "statutory_due_at"],
        ),
        # The measures' open overdue: the unit clocks running now, by due time.
        Index(
            "ix_clocks_unit_running",
            "due_at",
            postgresql_include=["unit_id", "petition_id", "started_at"],
            postgresql_where=text(f"stopped_at IS NULL AND kind IN {_sql_list(MEASURED)}"),
            sqlite_where=text(f"stopped_at IS NULL AND kind IN {_sql_list(MEASURED)}"),
        ),
        Index(
            "ix_clocks_unit_clocks",
            "petition_id",
            postgresql_include=["unit_id", "due_at", "stopped_at"],
            postgresql_where=text(f"kind IN {_sql_list(MEASURED)}"),
            sqlite_where=text(f"kind IN {_sql_list(MEASURED)}"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Due by the committed limit (deadlines run on it) and by the statutory one.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    statutory_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    allowed_days: Mapped[int] = mapped_column(Integer)
    day_unit: Mapped[str] = mapped_column(String(10), default="calendar")
    extended_days: Mapped[int] = mapped_column(Integer, default=0)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    level: Mapped[str] = mapped_column(String(10), default=Level.GREEN)
    # When the clock turns yellow; kept with due_at (see _clock_moments) so the sweep is plain SQL.
    yellow_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    petition: Mapped[Petition] = relationship(back_populates="clocks")
    unit: Mapped[Unit | None] = relationship()

    # Levels in SQL, from the same crossings as petitions.domain.clocks.level_at.

    @classmethod
    def reached(cls, level: str, at: datetime, t: Thresholds) -> ColumnElement[bool]:
        """The clock has reached `level` (or a higher one) at `at`."""
        for name, column, cut in cutoffs(at, t):
            if name == level:
                col = getattr(cls, column)
                return and_(col.is_not(None), col <= cut)
        raise ValueError(level)

    @classmethod
    def at_level(cls, levels: Iterable[str], at: datetime, t: Thresholds) -> ColumnElement[bool]:
        """The clock's level at `at` is one of `levels` (an index-friendly predicate)."""
        ranked = [level for level, _column, _cut in cutoffs(at, t)]  # highest first
        options = []
        for level in levels:
            if level == GREEN:
                options.append(and_(*(not_(cls.reached(r, at, t)) for r in ranked)))
                continue
            above = ranked[: ranked.index(level)]
            options.append(and_(cls.reached(level, at, t), *(not_(cls.reached(r, at, t)) for r in above)))
        return or_(*options)

    @classmethod
    def level_case(cls, at: datetime, t: Thresholds) -> ColumnElement[str]:
        """The clock's level at `at`, as a CASE expression."""
        return case(
            *((cls.reached(level, at, t), literal(level)) for level, _column, _cut in cutoffs(at, t)),
            else_=literal(GREEN),
        )


class Event(db.Model):
    """Append-only history: who did what, from which state to which, when (server time), why."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_petition_at", "petition_id", "at"),
        # The measures: a unit's events of one type in a period (routings, decisions, replies),
        # and the staff's actions on a petition (the response rate's first action).
        Index(
            "ix_events_type_at",
            "type",
            "at",
            postgresql_include=["unit_id", "petition_id"],
            postgresql_where=text("unit_id IS NOT NULL"),
            sqlite_where=text("unit_id IS NOT NULL"),
        ),
        Index(
            "ix_events_staff_actions",
            "petition_id",
            "unit_id",
            "at",
            postgresql_where=text("actor_role IN ('handler', 'leader')"),
            sqlite_where=text("actor_role IN ('handler', 'leader')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    type: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    # Internal notes and staff-only facts are not shown to the citizen.
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    petition: Mapped[Petition] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
    unit: Mapped[Unit | None] = relationship()


class Attachment(db.Model):
    """A file sent with a petition; the bytes live in the database with the rest of the record."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    petition: Mapped[Petition] = relationship(back_populates="attachments")


class Rating(db.Model):
    """The citizen's satisfaction with one reply (once per reply; staff cannot change it)."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("petition_id", "reply_no", name="uq_ratings_petition_reply"),
        CheckConstraint(_in("score", Score), name="score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"))
    # 1 for the first reply, 2 for the review opinion, 3 for the re-review opinion.
    reply_no: Mapped[int] = mapped_column(Integer, default=1)
    score: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(16), default="web")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    petition: Mapped[Petition] = relationship()


class TrackingDay(db.Model):
    """The tracking-number counter of one local day, where the database has no sequence
    (SQLite); PostgreSQL draws from the sequence `tracking_numbers` instead."""

    __tablename__ = "tracking_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyKey(db.Model):
    """The first answer to a POST with an Idempotency-Key, replayed for 24 hours."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("key", "scope", name="uq_idempotency_keys_key_scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128))
    # method + path + caller: the same key from two callers or endpoints is two keys.
    scope: Mapped[str] = mapped_column(String(300))
    body_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)


# ---------------------------------------------------------------- electronic supervision and messages


class CalendarDay(db.Model):
    """A day that breaks the Monday–Friday rule: a public holiday, or a weekend day worked (调休).

    Seeded from config/holidays/<year>.json and edited in the admin area. A year with no
    rows here is not known, and counts Monday–Friday.
    """

    __tablename__ = "calendar_days"
    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(64), default="")
    # True while the year's official arrangement (调休) has not been published.
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)


class Card(db.Model):
    """A yellow card, red card or urging (督办) given to a clock. Append-only: it stays after closure.

    `seq` counts the cards of one level on one clock (a clock extended out of red and overdue
    again gets a second red card); (clock, level, seq) is unique, which is what keeps two
    sweeps running at once from giving the same card twice.
    """

    __tablename__ = "cards"
    __table_args__ = (
        CheckConstraint("level IN ('yellow', 'red', 'urged')", name="level"),
        UniqueConstraint("clock_id", "level", "seq", name="uq_cards_clock_level_seq"),
        Index("ix_cards_unit_level", "unit_id", "level"),
        Index("ix_cards_given_at", "given_at", postgresql_include=["unit_id", "level"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), index=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("clocks.id"))
    level: Mapped[str] = mapped_column(String(10))
    seq: Mapped[int] = mapped_column(Integer, default=1)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    # The sweep run (or action) that gave it, to find its own rows within the transaction.
    batch: Mapped[str] = mapped_column(String(36), index=True)
    # Set for a formal urging issued by a supervisor; null when the sweep gave the card.
    given_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    petition: Mapped[Petition] = relationship()
    clock: Mapped[Clock] = relationship()
    unit: Mapped[Unit | None] = relationship()


class FactKind(StrEnum):
    ROUTED = "routed"  # a routing to the unit (收件); acted_at: the unit's first action after it
    ACCEPTED = "accepted"  # 受理
    DECLINED = "declined"  # 不予受理
    REPLIED = "replied"  # a reply, review opinion or re-review opinion; rated_at/score: its rating
    CLOSED = "closed"  # 办结, by the unit responsible at closure; late: a unit clock ran past due
    HANDLED = "handled"  # a handling clock stopped; days: used, speedup: (statutory − used) / statutory


class MeasureFact(db.Model):
    """What the measures count, one narrow row per counted step, kept with the change that makes it
    (petitions.measures.facts): a period then reads its rows by kind and time instead of grouping the events.

    `prev_at` is the time of the previous fact of the same kind for the same petition and unit,
    so "counted once per period" is a filter (`prev_at` before the period) and not a grouping.
    Derived data: `facts.rebuild()` makes the same rows from the events, ratings and clocks.
    """

    __tablename__ = "measure_facts"
    __table_args__ = (
        CheckConstraint(_in("kind", FactKind), name="kind"),
        Index(
            "ix_measure_facts_kind_at",
            "kind",
            "at",
            postgresql_include=[
                "unit_id",
                "prev_at",
                "acted_at",
                "rated_at",
                "score",
                "late",
                "days",
                "speedup",
            ],
        ),
        Index("ix_measure_facts_pair", "petition_id", "unit_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    prev_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[str | None] = mapped_column(String(24))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    days: Mapped[float | None] = mapped_column(Float)
    speedup: Mapped[float | None] = mapped_column(Float)

    petition: Mapped[Petition] = relationship()


class MeasureMonth(db.Model):
    """The facts of one settled month, added up (petitions.measures.stats.settle): a year reads these
    rows instead of its facts. Kept by the same keys the period's filters need, so the sums
    stay exact: the month of the pair's previous fact (counted once per period), the month
    of the rating (rated by the period's end), the score, and a flag (responded in time for
    a routing, late for a closure). Kinds: the fact kinds, and `yellow_card` / `red_card`.
    """

    __tablename__ = "measure_months"
    __table_args__ = (Index("ix_measure_months_month", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Local months numbered year × 12 + month − 1 (2026-03 is 24314).
    month: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(16))
    prev_month: Mapped[int | None] = mapped_column(Integer)
    rated_month: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[str | None] = mapped_column(String(24))
    flag: Mapped[bool] = mapped_column(Boolean, default=False)
    n: Mapped[int] = mapped_column(Integer)
    days: Mapped[float | None] = mapped_column(Float)
    speedup: Mapped[float | None] = mapped_column(Float)


class SettledMonth(db.Model):
    """A month whose facts can no longer change (its rating window and response days are over)
    and whose sums are in measure_months."""

    __tablename__ = "settled_months"

    month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    settled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    rows: Mapped[int] = mapped_column(Integer, default=0)


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a delivery job, the provider is being called
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"
    FAILED = "failed"


class Outbox(db.Model):
    """One message to one recipient, written in the transaction of the change that causes it.

    `key` is (petition, clock, level or purpose, recipient, occurrence): one message per key,
    whatever crashes, restarts or concurrent sweeps happen.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_in("status", OutboxStatus), name="status"),
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    purpose: Mapped[str] = mapped_column(String(32))
    petition_id: Mapped[int | None] = mapped_column(ForeignKey("petitions.id"), index=True)
    clock_id: Mapped[int | None] = mapped_column(ForeignKey("clocks.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    level: Mapped[str | None] = mapped_column(String(10))
    occurrence: Mapped[str] = mapped_column(String(32), default="1")
    # A staff member (user id) or a citizen's number: one of the two identifies the recipient.
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    staff: Mapped[bool] = mapped_column(Boolean, default=True)
    # Rendered at the first attempt when empty (the sweep writes rows in bulk SQL).
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    provider_status: Mapped[str | None] = mapped_column(String(20))
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    petition: Mapped[Petition | None] = relationship()
    event: Mapped[Event | None] = relationship()
    recipient: Mapped[User | None] = relationship()


# ---------------------------------------------------------------- handling: replies, extensions, reviews


class ReplyKind(StrEnum):
    REPLY = "reply"  # 答复意见书
    REVIEW = "review"  # 复查意见书
    REREVIEW = "rereview"  # 复核意见书


class Reply(db.Model):
    """A written reply or review opinion. A handler's draft waits for the leader's signature;
    a leader's own reply is drafted and issued at once. A newer unsigned draft of the same
    kind supersedes an older one (the older row stays, unsigned, as history)."""

    __tablename__ = "replies"
    __table_args__ = (
        CheckConstraint(_in("kind", ReplyKind), name="kind"),
        Index("ix_replies_petition_kind", "petition_id", "kind"),
        # The public page's latest published replies, newest first.
        Index("ix_replies_issued_at", "issued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"))
    kind: Mapped[str] = mapped_column(String(10), default=ReplyKind.REPLY)
    # The unit that answers: the handling unit, or the superior unit for review opinions.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    draft_text: Mapped[str] = mapped_column(Text)
    # The text as issued (the leader may edit the draft when signing); null until issued.
    text: Mapped[str | None] = mapped_column(Text)
    drafted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    petition: Mapped[Petition] = relationship()
    unit: Mapped[Unit | None] = relationship()
    drafted_by: Mapped[User | None] = relationship(foreign_keys=[drafted_by_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])


class ExtensionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ExtensionRequest(db.Model):
    """A request to extend the handling limit (延期), decided by the unit leader."""

    __tablename__ = "extension_requests"
    __table_args__ = (CheckConstraint(_in("status", ExtensionStatus), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), index=True)
    clock_id: Mapped[int | None] = mapped_column(ForeignKey("clocks.id"))
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=ExtensionStatus.PENDING)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(Text, default="")

    petition: Mapped[Petition] = relationship()
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class ReviewRequest(db.Model):
    """The citizen's request for review (复查) or re-review (复核), handled by the superior unit."""

    __tablename__ = "review_requests"
    __table_args__ = (
        CheckConstraint("kind IN ('review', 'rereview')", name="kind"),
        Index("ix_review_requests_unit", "unit_id", "petition_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    # The reviewing (superior) unit.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    petition: Mapped[Petition] = relationship()
    unit: Mapped[Unit] = relationship()


# ---------------------------------------------------------------- the administrator's changes


class AdminAudit(db.Model):
    """Append-only record of the administrator's changes to units, categories, routing rules
    and users (these have no petition events): who, what, when, before and after."""

    __tablename__ = "admin_audit"
    __table_args__ = (Index("ix_admin_audit_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # unit, category, routing_rule or user
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column(Integer)
    # create, update, activate, deactivate, reset_password
    action: Mapped[str] = mapped_column(String(20))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)

    actor: Mapped[User | None] = relationship()


# ---------------------------------------------------------------- satisfaction follow-up


class FollowUp(db.Model):
    """A phone follow-up (电话回访) recorded by a unit: who called whom, the outcome and the
    citizen's view. It never changes the citizen's own rating. Recorded at server time."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        CheckConstraint("outcome IN ('reached', 'unreachable', 'declined')", name="outcome"),
        CheckConstraint(
            "citizen_view IS NULL OR citizen_view IN ('satisfied', 'basically_satisfied', 'unsatisfied')",
            name="citizen_view",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    called_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Whom the unit spoke to (the citizen, a relative, ...), in the caller's words.
    spoke_with: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(16))
    citizen_view: Mapped[str | None] = mapped_column(String(24))
    notes: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    petition: Mapped[Petition] = relationship()
    unit: Mapped[Unit | None] = relationship()
    called_by: Mapped[User | None] = relationship()


# ---------------------------------------------------------------- Open311 and sign-in protection


class Open311Key(db.Model):
    """An api_key of an Open311 client (a hotline's system, an app): required to file through
    /open311/v2/requests.json. Only a hash of the key is stored; the prefix helps recognise it."""

    __tablename__ = "open311_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship()


class LoginFailure(db.Model):
    """One failed sign-in (API token or web log-in) for a username from a client address.
    `cleared` once the same pair signs in successfully, so that old failures stop counting."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_pair", "username", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    cleared: Mapped[bool] = mapped_column(Boolean, default=False)


class AuthLock(db.Model):
    """A username locked for one client address after too many failed sign-ins (append-only log;
    a lock ends by itself at `until`, or earlier when an administrator releases it)."""

    __tablename__ = "auth_locks"
    __table_args__ = (Index("ix_auth_locks_pair", "username", "address", "until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    released_by: Mapped[User | None] = relationship()


class ShownOnce(db.Model):
    """Something a page shows once (a new petition's query code): sealed with a key that only the
    browser's session holds, deleted when it is shown (petitions.web.once). Neither the cookie nor
    this row alone can show it, and neither can show it twice."""

    __tablename__ = "shown_once"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def schema_objects_of(dialect: str):
    """Alembic's include_object for `dialect`: leaves out what the models declare for other
    databases only (an index whose info names its dialects, such as the search's GIN index)."""

    def include(obj, name, type_, reflected, compare_to) -> bool:
        dialects = getattr(obj, "info", {}).get("dialects")
        return dialects is None or dialect in dialects

    return include
