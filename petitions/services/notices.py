"""Written notices (书面告知): the documents the rules require a unit to give the citizen.

受理告知书, 不予受理告知书, 答复意见书, 延期告知书, 复查意见书 and 复核意见书, each as an
HTML print view and as a PDF with the CJK font embedded (WeasyPrint + Noto CJK).

The functions take the facts (unit, signing leader, text, reason, channel, days, due date,
time of issue) as arguments, so they do not depend on how the handling stores them;
`facts_from_petition` reads them back from a petition's record (events, issued replies).

The wording of a notice is the formal Chinese of an official letter (公文) and is kept in
the templates, not in the translation catalogue: a notice must read the same whatever
language the officer's screen is in. Only the print view's controls are translated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from sqlalchemy import select

from petitions.domain.clocks import as_utc, now
from petitions.domain.errors import NotFound, ValidationFailed
from petitions.extensions import db, settings
from petitions.i18n import lazy_gettext as _l
from petitions.models import Event, Petition, Reply, ReplyKind, Role, StrEnum, Unit, User
from petitions.services import clocks
from petitions.services.access import reviewer_unit


class NoticeKind(StrEnum):
    ACCEPTANCE = "acceptance"  # 受理告知书
    NON_ACCEPTANCE = "non-acceptance"  # 不予受理告知书
    REPLY = "reply"  # 答复意见书
    EXTENSION = "extension"  # 延期告知书
    REVIEW = "review"  # 复查意见书
    RE_REVIEW = "re-review"  # 复核意见书


TITLES: dict[NoticeKind, str] = {
    NoticeKind.ACCEPTANCE: "信访事项受理告知书",
    NoticeKind.NON_ACCEPTANCE: "信访事项不予受理告知书",
    NoticeKind.REPLY: "信访事项答复意见书",
    NoticeKind.EXTENSION: "信访事项延期办理告知书",
    NoticeKind.REVIEW: "信访事项复查意见书",
    NoticeKind.RE_REVIEW: "信访事项复核意见书",
}

# The proper channel for a matter the petition system does not take (诉访分离). A decline
# may name one of these codes or give its own words.
CHANNELS: dict[str, str] = {
    "litigation": "依法向人民法院提起诉讼",
    "arbitration": "依法申请劳动人事争议仲裁或者其他仲裁",
    "administrative_review": "依法向有管辖权的行政机关申请行政复议",
    "legal": "依法通过向人民法院提起诉讼、申请仲裁或者申请行政复议等法定途径解决",
    "discipline": "向纪检监察机关检举控告",
    "other_authority": "向有权处理的机关、单位提出",
}

ANONYMOUS = "匿名"
# For a reader who may not know who filed a report (检举控告): the name is withheld.
WITHHELD = "（已隐去）"
DEFAULT_SUPERIOR = "上一级行政机关"

# Which facts each kind cannot do without.
REQUIRED: dict[NoticeKind, tuple[str, ...]] = {
    NoticeKind.ACCEPTANCE: (),
    NoticeKind.NON_ACCEPTANCE: ("reason", "channel"),
    NoticeKind.REPLY: ("text",),
    NoticeKind.EXTENSION: ("reason", "days", "due_at"),
    NoticeKind.REVIEW: ("text",),
    NoticeKind.RE_REVIEW: ("text",),
}


def notice_kind(value: str) -> NoticeKind:
    """The kind named in a URL or call; NotFound for anything else."""
    try:
        return NoticeKind(value)
    except ValueError:
        raise NotFound(_l("There is no such notice.")) from None


def chinese_date(value: datetime, tz: ZoneInfo | None = None) -> str:
    """2026年11月22日, in the bureau's local time (a notice is dated the local day)."""
    local = as_utc(value).astimezone(tz or _tz())
    return f"{local.year}年{local.month}月{local.day}日"


def _tz() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


@dataclass(frozen=True)
class Notice:
    """Everything a notice shows, already in words."""

    kind: NoticeKind
    title: str
    tracking_no: str
    petition_title: str
    citizen: str
    unit_name: str
    leader_name: str
    filed_on: str
    issued_on: str
    paragraphs: list[str] = field(default_factory=list)
    rights: str = ""

    @property
    def salutation(self) -> str:
        return "信访人：" if self.citizen in (ANONYMOUS, WITHHELD) else f"{self.citizen}："


def citizen_name(petition: Petition) -> str:
    if petition.anonymous or not (petition.contact_name or "").strip():
        return ANONYMOUS
    return petition.contact_name.strip()


def _name(value: Unit | User | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return (value.name or "").strip()


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


# What the letter itself says, and the unit's own text must not say again: the salutation before
# it, and after it the sentence on asking for review (复查/复核) or on the opinion being final.
_GREETING = re.compile(r"^(尊敬的)?\s*(?P<who>[^，,：:！!。]{0,16}?)\s*(先生|女士|同志)?\s*(您好|你好)?\s*[：:，,！!]?$")
_RIGHTS = re.compile(
    r"不服.{0,40}(请求|申请|提出).{0,8}(复查|复核)"
    r"|(复查|复核).{0,12}(自收到|之日起).{0,12}(30|三十)日"
    r"|最终意见|不再受理"
)


def _own_words(text: str, names: set[str]) -> list[str]:
    """The paragraphs of the unit's text without a salutation to the citizen or a review-rights
    sentence of its own: the letter adds both, once (the reply form says so)."""
    paragraphs = _paragraphs(text)
    if paragraphs:
        first = _GREETING.match(paragraphs[0])
        if first and (
            first.group("who") in names | {"信访人", ""}
            and (first.group("who") or "您好" in paragraphs[0] or "你好" in paragraphs[0])
        ):
            paragraphs = paragraphs[1:]
    return [p for p in paragraphs if not _RIGHTS.search(p)]


def build_notice(
    kind: NoticeKind | str,
    petition: Petition,
    *,
    unit: Unit | str | None = None,
    leader: User | str | None = None,
    text: str | None = None,
    reason: str | None = None,
    channel: str | None = None,
    days: int | None = None,
    due_at: datetime | None = None,
    issued_at: datetime | None = None,
    superior: str | None = None,
    citizen: str | None = None,
) -> Notice:
    """The words of one notice. Missing facts a kind needs raise ValidationFailed.

    `unit` defaults to the petition's unit and `leader` to that unit's leader; `issued_at`
    defaults to the server's time now (never typed in); `citizen` replaces the citizen's
    name (WITHHELD for a reader who may not know a reporter).
    """
    kind = notice_kind(kind) if not isinstance(kind, NoticeKind) else kind
    unit = unit if unit is not None else petition.unit
    if leader is None and isinstance(unit, Unit):
        leader = unit.leader
    facts = {"text": text, "reason": reason, "channel": channel, "days": days, "due_at": due_at}
    missing = {
        name: _l("This notice needs this fact.")
        for name in REQUIRED[kind]
        if facts[name] is None or (isinstance(facts[name], str) and not facts[name].strip())
    }
    if not _name(unit):
        missing["unit"] = _l("This notice needs the issuing unit.")
    if missing:
        raise ValidationFailed(_l("The notice cannot be written: facts are missing."), missing)

    tz = _tz()
    unit_name = _name(unit)
    matter = f"{chinese_date(petition.created_at, tz)}提出的“{petition.title}”信访事项（信访编号：{petition.tracking_no}）"
    filed = f"你于{matter}"
    addressee = citizen or citizen_name(petition)
    names = {addressee, citizen_name(petition)}
    paragraphs: list[str]
    rights = ""
    if kind is NoticeKind.ACCEPTANCE:
        if days is None:
            days = clocks.limit_for("handle", petition.category).committed
        paragraphs = [
            f"{filed}，本机关已收悉。经审查，该事项属于本机关职责范围，"
            "依据《信访工作条例》有关规定，决定予以受理。",
            f"本机关将自受理之日起{days}日内办理完毕，并出具书面答复意见。",
            *_own_words(text or "", names),
        ]
        rights = "办理期间，你可凭信访编号和查询码查询办理进展。"
    elif kind is NoticeKind.NON_ACCEPTANCE:
        way = CHANNELS.get(str(channel).strip(), str(channel).strip())
        paragraphs = [
            f"{filed}，本机关已收悉。经审查，{str(reason).strip().rstrip('。')}。"
            "依据《信访工作条例》有关规定，本机关决定不予受理。",
            f"你所反映的事项，可以{way.rstrip('。')}。",
            *_own_words(text or "", names),
        ]
        rights = "特此告知。"
    elif kind is NoticeKind.EXTENSION:
        due = chinese_date(due_at, tz)  # type: ignore[arg-type]
        paragraphs = [
            f"{filed}，本机关已依法受理。因{str(reason).strip().rstrip('。')}，"
            f"经本机关负责人批准，办理期限延长{days}日，本机关将于{due}前办结并书面答复。",
            *_own_words(text or "", names),
        ]
        rights = "特此告知。"
    elif kind is NoticeKind.REPLY:
        paragraphs = [f"{filed}，本机关已依法受理并办理完毕。现答复如下：", *_own_words(text or "", names)]
        rights = (
            f"如对本答复意见不服，可自收到本意见书之日起{settings().limit('review_request').statutory}日内"
            f"向{(superior or DEFAULT_SUPERIOR).strip()}请求复查。"
        )
    elif kind is NoticeKind.REVIEW:
        paragraphs = [
            f"你对于{matter}的答复意见不服，请求复查。本机关经复查，意见如下：",
            *_own_words(text or "", names),
        ]
        rights = (
            f"如对本复查意见不服，可自收到本意见书之日起{settings().limit('rereview_request').statutory}日内"
            f"向{(superior or '复查机关的上一级行政机关').strip()}请求复核。"
        )
    else:  # RE_REVIEW
        paragraphs = [
            f"你对于{matter}的复查意见不服，请求复核。本机关经复核，意见如下：",
            *_own_words(text or "", names),
        ]
        rights = "本复核意见为最终意见。信访人对复核意见不服，仍以同一事实和理由提出信访请求的，不再受理。"

    return Notice(
        kind=kind,
        title=TITLES[kind],
        tracking_no=petition.tracking_no,
        petition_title=petition.title,
        citizen=addressee,
        unit_name=unit_name,
        leader_name=_name(leader),
        filed_on=chinese_date(petition.created_at, tz),
        issued_on=chinese_date(issued_at or now(), tz),
        paragraphs=paragraphs,
        rights=rights,
    )


def render_notice_html(
    kind: NoticeKind | str,
    petition: Petition,
    *,
    controls: dict | None = None,
    stylesheet: str | None = None,
    **facts,
) -> str:
    """The notice as a standalone HTML document. `controls` adds the print view's buttons
    (its keys: `pdf_url`, `back_url`); without it the document is bare, as printed. Its style
    is static/notice.css (the site's URL, or `stylesheet`), never inline."""
    notice = build_notice(kind, petition, **facts)
    return render_template("notices/notice.html", notice=notice, controls=controls, stylesheet=stylesheet)


def render_notice_pdf(kind: NoticeKind | str, petition: Petition, **facts) -> bytes:
    """The notice as a PDF, with the Noto CJK glyphs it uses embedded (its text extractable)."""
    from weasyprint import HTML

    css = (Path(current_app.static_folder) / "notice.css").as_uri()
    html = render_notice_html(kind, petition, stylesheet=css, **facts)
    return HTML(string=html, base_url=current_app.root_path).write_pdf()


def pdf_filename(kind: NoticeKind | str, petition: Petition) -> str:
    return f"{petition.tracking_no}-{NoticeKind(kind).value}.pdf"


# ------------------------------------------------------------------ facts from the record

_REPLY_KINDS: dict[NoticeKind, str] = {
    NoticeKind.REPLY: ReplyKind.REPLY,
    NoticeKind.REVIEW: ReplyKind.REVIEW,
    NoticeKind.RE_REVIEW: ReplyKind.REREVIEW,
}


def _latest_event(petition: Petition, type_: str) -> Event | None:
    return db.session.scalar(
        select(Event)
        .where(Event.petition_id == petition.id, Event.type == type_)
        .order_by(Event.at.desc(), Event.id.desc())
        .limit(1)
    )


def _signer(actor: User | None, unit: Unit | None) -> User | None:
    """Who signs: the leader who acted, else the unit's leader (单位负责人)."""
    if actor is not None and actor.role == Role.LEADER:
        return actor
    return unit.leader if unit is not None else None


def _not_issued() -> NotFound:
    return NotFound(_l("This notice has not been issued for this petition."))


# The event that gives rise to each notice, where it is not an issued reply.
_EVENT_OF = {
    NoticeKind.ACCEPTANCE: "accepted",
    NoticeKind.NON_ACCEPTANCE: "declined",
    NoticeKind.EXTENSION: "extension_approved",
}


def issued(petition: Petition, replies: list) -> list[NoticeKind]:
    """The notices whose step has happened, read from the petition's loaded events and its
    replies (petitions.services.records: id, kind, issued_at), without another query."""
    types = {ev.type for ev in petition.events}
    reply_kinds = {r.kind for r in replies if r.issued_at is not None}
    found = []
    for kind in NoticeKind:
        if kind in _REPLY_KINDS:
            ok = _REPLY_KINDS[kind] in reply_kinds or (kind is NoticeKind.REPLY and "answered_on_spot" in types)
        else:
            ok = _EVENT_OF[kind] in types
        if ok:
            found.append(kind)
    return found


def facts_from_petition(kind: NoticeKind | str, petition: Petition) -> dict:
    """The facts of a notice as the handling recorded them (events, issued replies, decided
    extensions); NotFound while the step that gives rise to the notice has not happened."""
    kind = notice_kind(kind) if not isinstance(kind, NoticeKind) else kind
    if kind in _REPLY_KINDS:
        reply = db.session.scalar(
            select(Reply)
            .where(
                Reply.petition_id == petition.id,
                Reply.kind == _REPLY_KINDS[kind],
                Reply.issued_at.is_not(None),
            )
            .order_by(Reply.issued_at.desc(), Reply.id.desc())
            .limit(1)
        )
        if reply is not None:
            unit = reply.unit or petition.unit
            facts: dict = {
                "unit": unit,
                "leader": reply.signed_by or _signer(None, unit),
                "text": reply.text or reply.draft_text,
                "issued_at": reply.issued_at,
            }
            superior = reviewer_unit(petition)
            if (
                kind is NoticeKind.REPLY
                and superior is not None
                and superior.id != (unit.id if unit else None)
            ):
                facts["superior"] = superior.name
            return facts
        event = _latest_event(petition, "answered_on_spot") if kind is NoticeKind.REPLY else None
        if event is None:
            raise _not_issued()
        unit = event.unit or petition.unit
        return {"unit": unit, "leader": _signer(event.actor, unit), "text": event.text, "issued_at": event.at}

    event = _latest_event(petition, _EVENT_OF[kind])
    if event is None:
        raise _not_issued()
    unit = event.unit or petition.unit
    facts = {"unit": unit, "leader": _signer(event.actor, unit), "issued_at": event.at}
    data = event.data or {}
    if kind is NoticeKind.NON_ACCEPTANCE:
        facts["reason"] = event.text
        facts["channel"] = data.get("channel")
    elif kind is NoticeKind.EXTENSION:
        facts["reason"] = event.text
        facts["days"] = data.get("days")
        due = data.get("due_at")
        facts["due_at"] = datetime.fromisoformat(due) if isinstance(due, str) else petition.due_at
    return facts
