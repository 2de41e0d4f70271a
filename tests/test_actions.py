"""The action service: every step writes one event and moves the version; every refusal changes nothing."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from petitions.domain import clocks as deadlines
from petitions.domain.clocks import now, set_clock
from petitions.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from petitions.extensions import db
from petitions.models import Event, ExtensionRequest, Petition, Rating, Reply, Unit
from petitions.services import actions, clocks, duplicates, records
from petitions.services.access import CodeHolder
from petitions.web.presenters import citizen_view, staff_view
from tests.handling import act, as_citizen, file, snapshot, user

pytestmark = pytest.mark.calendar


@pytest.fixture(autouse=True)
def _english(app):
    """Messages are checked in English (the msgids); Chinese is the default elsewhere."""
    from flask_babel import force_locale

    with force_locale("en"):
        yield


def _events(petition: Petition) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.petition_id == petition.id).order_by(Event.id)))


def _freeze(at):
    set_clock(lambda: at)


def test_the_whole_road_through_the_service(app):
    start = now()
    _freeze(start)
    p, code = file()
    assert p.status == "routed" and p.unit.code == "jtj"
    versions = [p.version]

    def step(action, username, **fields):
        result = act(p, action, username, **fields)
        versions.append(result.version)
        return result

    step("accept", "jtj-handler")
    # The handler who accepts it handles it (the leader may still assign another).
    assert p.status == "in_progress" and p.accepted_at == start and p.handler.username == "jtj-handler"
    assert p.open_clock.kind == "handle"
    handle_due = p.open_clock.due_at
    step("assign", "jtj-leader", handler="jtj-handler")
    assert p.status == "in_progress" and p.handler.username == "jtj-handler"
    step("request-extension", "jtj-handler", days=10, reason="需现场勘测")
    assert p.open_clock.due_at == handle_due  # nothing moves before the leader decides
    step("approve-extension", "jtj-leader")
    clock = p.open_clock
    # Ten more days from the old last day; a limit ending on a day off ends on the next workday.
    expected = deadlines.extended_due(
        handle_due, 10, clock.day_unit, clocks.calendar(), ZoneInfo(app.extensions["settings"].timezone)
    )
    assert expected >= handle_due + timedelta(days=10)
    assert clock.extended_days == 10 and clock.due_at == expected
    assert p.due_at == clock.due_at
    step("reply", "jtj-handler", text="已安排施工队修补。")
    assert p.status == "in_progress" and actions.state_of(p).draft_pending
    _freeze(start + timedelta(hours=2))
    step("sign-reply", "jtj-leader", text="已安排施工队于本周修补路面。")
    assert p.status == "replied" and p.replied_at == start + timedelta(hours=2)
    reply = db.session.scalar(select(Reply).where(Reply.petition_id == p.id))
    assert reply.draft_text == "已安排施工队修补。" and reply.text == "已安排施工队于本周修补路面。"
    assert reply.drafted_by.username == "jtj-handler" and reply.signed_by.username == "jtj-leader"
    assert p.open_clock.kind == "review_request"

    view = citizen_view(p)
    assert view["reply"]["text"] == "已安排施工队于本周修补路面。"
    assert view["can_rate"] and view["can_request_review"]
    versions.append(actions.rate(p, "unsatisfied", "没修好").version)
    assert citizen_view(p)["rating"]["score"] == "unsatisfied"
    # Unsatisfied and the window still open: the unit cannot close it over the citizen's head.
    with pytest.raises(Conflict):
        act(p, "close", "jtj-leader")
    versions.append(actions.request_review(p, "路面仍有坑洼", actor=CodeHolder(p.id)).version)
    assert p.status == "under_review"
    assert p.open_clock.kind == "review" and p.open_clock.unit.code == "gov"
    # The handling unit still sees it; the superior unit now does too.
    step("review-reply", "gov-handler", text="经复查，责成交通局一周内完成修补。")
    step("sign-reply", "gov-leader")
    assert p.status == "review_replied"
    assert (
        db.session.scalar(select(Reply).where(Reply.petition_id == p.id, Reply.kind == "review")).unit.code
        == "gov"
    )
    versions.append(actions.rate(p, "basically_satisfied").version)
    step("close", "gov-leader")
    assert p.status == "closed" and p.open_clock is None and p.closed_at is not None

    assert versions == list(range(versions[0], versions[0] + len(versions))), "each action: version + 1"
    types = [e.type for e in _events(p)]
    assert types == [
        "registered",
        "routed",
        "accepted",
        "assigned",
        "extension_requested",
        "extension_approved",
        "reply_drafted",
        "replied",
        "rated",
        "review_requested",
        "review_drafted",
        "review_replied",
        "rated",
        "closed",
    ]
    timeline = [e["type"] for e in citizen_view(p)["timeline"]]
    assert "reply_drafted" not in timeline and "extension_requested" not in timeline
    assert timeline[-1] == "closed"


def test_leader_reply_is_issued_at_once_and_redrafts_supersede(app):
    p, _ = file()
    act(p, "accept", "jtj-leader")
    act(p, "assign", "jtj-leader", handler="jtj-handler")
    act(p, "reply", "jtj-handler", text="初稿")
    act(p, "reply", "jtj-handler", text="第二稿")
    assert actions.pending_draft(p).draft_text == "第二稿"
    act(p, "sign-reply", "jtj-leader")
    assert actions.latest_issued(p).text == "第二稿"

    q, _ = file(title="另一条路也坏了")
    act(q, "accept", "jtj-handler")
    act(q, "assign", "jtj-leader", handler="jtj-handler")
    act(q, "reply", "jtj-leader", text="已修复。")
    assert q.status == "replied" and actions.latest_issued(q).signed_by.username == "jtj-leader"


def test_stale_version_changes_nothing(app):
    p, _ = file()
    before = snapshot(p)
    with pytest.raises(Conflict) as err:
        actions.perform(p.tracking_no, "accept", user("jtj-handler"), p.version - 1)
    assert err.value.code == "stale" and "reload" in str(err.value)
    assert snapshot(p) == before
    with pytest.raises(ValidationFailed) as err:
        actions.perform(p.tracking_no, "accept", user("jtj-handler"), None)
    assert "version" in err.value.fields
    assert snapshot(p) == before


def test_not_allowed_in_state_says_why_and_changes_nothing(app):
    p, _ = file()
    before = snapshot(p)
    with pytest.raises(Conflict) as err:
        act(p, "reply", "jtj-leader", text="还没受理")
    assert err.value.code == "not_allowed" and "Sent to the responsible unit" in str(err.value)
    with pytest.raises(Conflict):
        act(p, "sign-reply", "jtj-leader")
    assert snapshot(p) == before


def test_out_of_scope_is_not_found_and_visible_but_not_yours_is_forbidden(app):
    p, _ = file()
    before = snapshot(p)
    for outsider in ("dongcheng-handler", "dongcheng-leader", "gov-leader", "jw-handler"):
        with pytest.raises(NotFound):
            act(p, "accept", outsider)
    for onlooker in ("supervisor", "intake", "admin"):
        with pytest.raises(Forbidden):
            act(p, "accept", onlooker)
    with pytest.raises(Forbidden):
        act(p, "approve-extension", "jtj-handler")
    with pytest.raises(NotFound):
        act(p, "delete", "jtj-leader")
    assert snapshot(p) == before


def test_supervisor_urges_and_changes_nothing_else(app):
    p, _ = file()
    act(p, "urge", "supervisor", text="请尽快受理")
    ev = _events(p)[-1]
    assert ev.type == "urged" and ev.public and ev.actor.username == "supervisor"
    assert p.status == "routed"


def test_extension_bounds_and_only_once(app):
    p, _ = file()
    act(p, "accept", "jtj-handler")
    before = snapshot(p)
    for days in (0, 31, -3, "abc", "10.5", True):
        with pytest.raises(ValidationFailed) as err:
            act(p, "request-extension", "jtj-handler", days=days, reason="原因")
        assert "days" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        act(p, "request-extension", "jtj-handler", days=5)
    assert "reason" in err.value.fields
    assert snapshot(p) == before
    act(p, "request-extension", "jtj-handler", days=30, reason="需协调多部门")
    with pytest.raises(Conflict) as err:
        act(p, "request-extension", "jtj-handler", days=5, reason="再延")
    assert "already waiting" in str(err.value)
    act(p, "reject-extension", "jtj-leader", reason="可按期办结")
    assert p.open_clock.extended_days == 0
    act(p, "request-extension", "jtj-handler", days=5, reason="确需延期")
    act(p, "approve-extension", "jtj-leader")
    with pytest.raises(Conflict) as err:
        act(p, "request-extension", "jtj-handler", days=5, reason="第二次延期")
    assert "second extension" in str(err.value)
    statuses = db.session.scalars(
        select(ExtensionRequest.status)
        .where(ExtensionRequest.petition_id == p.id)
        .order_by(ExtensionRequest.id)
    ).all()
    assert statuses == ["rejected", "approved"]
    assert "确需延期" in citizen_view(p)["timeline"][-1]["text"]


def test_reply_needs_text(app):
    p, _ = file()
    act(p, "accept", "jtj-handler")
    act(p, "assign", "jtj-leader", handler="jtj-handler")
    before = snapshot(p)
    for text in ("", "   ", None):
        with pytest.raises(ValidationFailed) as err:
            act(p, "reply", "jtj-leader", text=text)
        assert "text" in err.value.fields
    with pytest.raises(ValidationFailed):
        act(p, "reply", "jtj-leader", text="字" * 20_000)
    assert snapshot(p) == before


def test_routing_only_to_an_active_unit(app):
    p, _ = file()
    act(p, "return", "jtj-handler", reason="不属本部门职责")
    assert p.status == "registered" and p.unit is None and p.open_clock.kind == "route"
    before = snapshot(p)
    for code in ("nosuch", "", None):
        with pytest.raises(ValidationFailed) as err:
            act(p, "route", "intake", unit=code)
        assert "unit" in err.value.fields
    cgj = db.session.scalar(select(Unit).where(Unit.code == "cgj"))
    cgj.active = False
    db.session.commit()
    try:
        with pytest.raises(ValidationFailed):
            act(p, "route", "intake", unit="cgj")
    finally:
        cgj.active = True
        db.session.commit()
    assert snapshot(p) == before
    act(p, "route", "intake", unit="cgj")
    assert p.status == "routed" and p.unit.code == "cgj" and p.open_clock.unit.code == "cgj"
    # Re-routing before acceptance.
    act(p, "route", "intake", unit="zjj")
    assert p.unit.code == "zjj"


def test_assign_only_a_handler_of_the_unit(app):
    p, _ = file()
    act(p, "accept", "jtj-handler")
    before = snapshot(p)
    for username in ("dongcheng-handler", "jtj-leader", "intake", "nobody"):
        with pytest.raises(ValidationFailed) as err:
            act(p, "assign", "jtj-leader", handler=username)
        assert "handler" in err.value.fields
    assert snapshot(p) == before


def test_reports_go_to_the_discipline_office_only(app):
    p, _ = file(title="村干部截留补贴", category="jjkg-qh", township="dongcheng")
    assert p.unit.code == "jw"
    act(p, "return", "jw-handler", reason="测试改派")
    for code in ("dongcheng", "jtj", "xfj"):
        with pytest.raises(ValidationFailed):
            act(p, "route", "intake", unit=code)
    act(p, "route", "intake", unit="jw")
    assert p.unit.code == "jw"
    with pytest.raises(NotFound):
        act(p, "note", "dongcheng-leader", text="?")


def test_decline_names_the_proper_channel(app):
    p, code = file()
    act(p, "decline", "jtj-handler", reason="属于民事纠纷", channel="向人民法院起诉")
    assert p.status == "not_accepted" and p.open_clock is None
    last = citizen_view(p)["timeline"][-1]["text"]
    assert "属于民事纠纷" in last and "向人民法院起诉" in last
    with pytest.raises(ValidationFailed) as err:
        q, _ = file(title="又一件")
        act(q, "decline", "jtj-handler", reason="涉诉")
    assert "channel" in err.value.fields
    act(p, "close", "intake")
    assert p.status == "closed"


def test_answer_on_the_spot(app):
    p, _ = file(title="低保申请需要什么材料", category="zx-zc")
    assert p.unit.code == "xfj"
    act(p, "answer-on-spot", "intake", text="携带身份证、户口簿到乡镇民政办申请。")
    assert p.status == "closed" and p.open_clock is None
    view = citizen_view(p)
    assert view["reply"]["text"].startswith("携带身份证") and view["can_rate"]


def test_review_request_only_within_30_days_and_only_by_its_citizen(app):
    start = now()
    _freeze(start)
    p, code = file()
    act(p, "accept", "jtj-handler")
    act(p, "assign", "jtj-leader", handler="jtj-handler")
    act(p, "reply", "jtj-leader", text="已处理。")
    other, _ = file(title="别人的事", phone="13900001111")
    before = snapshot(p)
    with pytest.raises(NotFound):
        actions.perform(p, "review-request", CodeHolder(other.id), None, reason="冒名")
    with pytest.raises(Forbidden):
        act(p, "review-request", "jtj-leader", reason="单位代为申请")
    with pytest.raises(ValidationFailed):
        as_citizen(p, "review-request", reason=" ")
    # The window runs 30 days from the reply (to the next workday if it ends on a day off).
    window = p.open_clock
    assert window.kind == "review_request" and window.due_at >= start + timedelta(days=30)
    _freeze(window.due_at + timedelta(minutes=1))
    with pytest.raises(Conflict) as err:
        as_citizen(p, "review-request", reason="太晚了")
    assert "30 days" in str(err.value)
    assert snapshot(p) == before
    assert not citizen_view(p)["can_request_review"]
    # After the window the unit may close without a rating.
    act(p, "close", "jtj-leader")
    assert p.status == "closed"


def test_logged_in_citizen_acts_on_own_petition_only(app):
    from petitions.models import User

    me = User(username="13700000001", name="李四", role="citizen", phone="13700000001")
    me.set_password("secret-123")
    someone = User(username="13700000002", name="王五", role="citizen", phone="13700000002")
    someone.set_password("secret-123")
    db.session.add_all([me, someone])
    db.session.commit()
    p, _ = file(citizen=me, phone="13700000001")
    act(p, "accept", "jtj-handler")
    act(p, "assign", "jtj-leader", handler="jtj-handler")
    act(p, "reply", "jtj-leader", text="已处理。")
    with pytest.raises(NotFound):
        actions.request_review(p, "不是我的", actor=someone)
    actions.request_review(p, "不满意", actor=me)
    assert p.status == "under_review"


def test_rereview_closes(app):
    p, _ = file()
    act(p, "accept", "jtj-handler")
    act(p, "assign", "jtj-leader", handler="jtj-handler")
    act(p, "reply", "jtj-leader", text="答复")
    actions.request_review(p, "复查")
    act(p, "review-reply", "gov-leader", text="复查意见")
    actions.request_review(p, "复核")
    assert p.status == "under_review" and records.of(p).review_round == 2
    with pytest.raises(Conflict):
        act(p, "review-reply", "gov-leader", text="错轮次")
    act(p, "rereview-reply", "gov-leader", text="复核意见")
    assert p.status == "closed"
    types = [e["type"] for e in citizen_view(p)["timeline"]]
    assert types[-3:] == ["review_replied", "rereview_requested", "rereview_replied"]


def test_rating_once_per_reply(app):
    p, _ = file()
    act(p, "accept", "jtj-handler")
    act(p, "assign", "jtj-leader", handler="jtj-handler")
    act(p, "reply", "jtj-leader", text="答复")
    with pytest.raises(ValidationFailed):
        actions.rate(p, "great")
    actions.rate(p, "satisfied", "谢谢")
    with pytest.raises(Conflict):
        actions.rate(p, "unsatisfied")
    assert len(db.session.scalars(select(Rating).where(Rating.petition_id == p.id)).all()) == 1
    # Satisfied: the unit may close inside the window.
    act(p, "close", "jtj-leader")


def test_notes_are_internal(app):
    p, _ = file()
    act(p, "note", "jtj-handler", text="申请人情绪激动，注意沟通")
    assert _events(p)[-1].public is False
    assert all("情绪" not in e["text"] for e in citizen_view(p)["timeline"])


def test_duplicates_flagged_and_merged(app):
    start = now()
    _freeze(start)
    first, _ = file(title="东城街道门前道路坑洼")
    _freeze(start + timedelta(days=3))
    second, _ = file(title="东城街道门前的道路坑洼严重")
    other_phone, _ = file(title="东城街道门前道路坑洼", phone="13900002222")
    other_category, _ = file(title="东城街道门前道路坑洼", category="jtys-gj")
    def found(p):
        return [d.tracking_no for d in duplicates.find_possible_duplicates(p)]

    assert found(second) == [first.tracking_no]
    assert duplicates.find_possible_duplicates(second)[0].status == first.status
    assert found(first) == []
    assert found(other_phone) == []
    assert found(other_category) == []
    _freeze(start + timedelta(days=31))
    late, _ = file(title="东城街道门前道路坑洼")
    assert first.tracking_no not in found(late)
    assert second.tracking_no in found(late)
    # A page's petitions at once (the queues): the same answer as one by one, in one statement.
    page = [first, second, other_phone, other_category, late]
    at_once = duplicates.first_duplicates(page)
    assert {p.id: (at_once[p.id].tracking_no if at_once[p.id] else None) for p in page} == {
        p.id: next((d.tracking_no for d in duplicates.find_possible_duplicates(p, limit=1)), None) for p in page
    }
    assert at_once[second.id].tracking_no == first.tracking_no
    assert at_once[late.id].tracking_no == second.tracking_no
    assert duplicates.first_duplicates([]) == {}

    v_first = first.version
    with pytest.raises(ValidationFailed):
        act(first, "merge", "intake", duplicate_of=second.tracking_no)  # only into an earlier one
    act(second, "merge", "intake", duplicate_of=first.tracking_no)
    assert second.status == "closed" and second.duplicate_of_id == first.id
    assert _events(second)[-1].type == "merged"
    # One change, one event: the earlier petition does not change, and its staff page lists the
    # later one merged into it.
    assert _events(first)[-1].type == "routed"
    db.session.refresh(first)
    assert first.version == v_first and first.status == "routed"
    view = staff_view(user("intake"), first)
    assert [d["tracking_no"] for d in view["merged_here"]] == [second.tracking_no]
    assert first.tracking_no in citizen_view(second)["timeline"][-1]["text"]


def test_the_staff_view_lists_what_was_merged_here_with_its_record(app):
    """Intake's view of a petition that others were merged into and that repeats earlier ones:
    both lists, as each is found on its own (the earlier ones newest first); what was merged
    here is read in the statement of the petition's record, the earlier ones in one more.
    Another role's view lists what was merged here alone, with no statement of its own."""
    from sqlalchemy import event

    start = now()
    _freeze(start)
    oldest, _ = file(title="东城街道门前道路坑洼")
    _freeze(start + timedelta(hours=12))
    older, _ = file(title="东城街道门前的道路坑洼")
    file(title="路灯不亮")  # the same phone and category, not alike
    _freeze(start + timedelta(days=1))
    middle, _ = file(title="东城街道门前道路坑洼严重")
    _freeze(start + timedelta(days=2))
    later, _ = file(title="东城街道门前道路坑洼没人管")
    last, _ = file(title="东城街道门前道路坑洼还是没人管")
    act(later, "merge", "intake", duplicate_of=middle.tracking_no)
    act(last, "merge", "intake", duplicate_of=middle.tracking_no)
    db.session.refresh(middle)
    assert middle.status == "routed"

    intake, seen = user("intake"), []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        view = staff_view(intake, middle)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert [d["tracking_no"] for d in view["merged_here"]] == [later.tracking_no, last.tracking_no]
    expected = [d.tracking_no for d in duplicates.find_possible_duplicates(middle)]
    assert expected == [older.tracking_no, oldest.tracking_no]
    assert [d["tracking_no"] for d in view["possible_duplicates"]] == expected
    reading = [s for s in seen if "duplicate_of_id" in s]
    assert len(reading) == 2, reading
    assert "ratings" in reading[0] and "contact_phone" not in reading[0], reading
    assert "contact_phone" in reading[1] and "ratings" not in reading[1], reading
    assert [r.tracking_no for r in duplicates.merged_into(middle)] == [later.tracking_no, last.tracking_no]

    seen.clear()
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        handler = staff_view(user("supervisor"), middle)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert [d["tracking_no"] for d in handler["merged_here"]] == [later.tracking_no, last.tracking_no]
    assert handler["possible_duplicates"] == []
    assert [s for s in seen if "duplicate_of_id" in s or "contact_phone" in s] == [reading[0]]


def test_leader_inbox(app):
    from petitions.services.access import leader_inbox

    drafted, _ = file(title="待签发")
    act(drafted, "accept", "jtj-handler")
    act(drafted, "assign", "jtj-leader", handler="jtj-handler")
    act(drafted, "reply", "jtj-handler", text="草稿")
    extending, _ = file(title="待审批延期")
    act(extending, "accept", "jtj-handler")
    act(extending, "request-extension", "jtj-handler", days=7, reason="需协调")
    inbox = leader_inbox(user("jtj-leader"))
    assert drafted in inbox.drafts and extending not in inbox.drafts
    assert extending in inbox.extensions and drafted not in inbox.extensions
    assert leader_inbox(user("jtj-handler")).drafts == []
    assert drafted not in leader_inbox(user("gov-leader")).drafts
    act(drafted, "sign-reply", "jtj-leader")
    act(extending, "approve-extension", "jtj-leader")
    inbox = leader_inbox(user("jtj-leader"))
    assert drafted not in inbox.drafts and extending not in inbox.extensions
    # A review draft waits for the superior unit's leader, not the handling unit's.
    actions.request_review(drafted, "复查")
    act(drafted, "review-reply", "gov-handler", text="复查意见草稿")
    assert drafted in leader_inbox(user("gov-leader")).drafts
    assert drafted not in leader_inbox(user("jtj-leader")).drafts
