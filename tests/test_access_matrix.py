"""Who may do what, through the real service: every action × every role × own unit / other unit.

"Own unit" is the unit that acts on the petition in the state the action needs (the handling
unit, or the county government for review opinions); "other unit" is an unrelated township.
For the bureau's roles (intake, supervisor, admin) "own unit" is a user of that role placed in
the acting unit, and "other unit" is the demo account at the bureau: their rights come from
the role, not the unit. A citizen's "own" is the query-code holder of that petition, "other"
the holder of another petition.

Expected answers are written by hand below: 200 (done), 403 (sees it, not theirs), 404 (out
of scope: the record does not exist for them), 409 (theirs, not in this state).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from petitions.domain import workflow as wf
from petitions.domain.errors import DomainError
from petitions.extensions import db
from petitions.models import Petition, Unit, User
from petitions.services import actions
from petitions.services.access import CodeHolder, can_view, visible_petitions_query
from tests.handling import act, file, snapshot, user

ROLES = ["citizen", "intake", "handler", "leader", "supervisor", "admin"]
BONDS = ["own", "other"]

# action → {(role, bond): expected status}; unlisted pairs answer 404 when the actor cannot see
# the petition and 403 when they can.
OK = 200
EXPECTED: dict[str, dict[tuple[str, str], int]] = {
    "register": {("intake", "own"): OK, ("intake", "other"): OK},
    "route": {("intake", "own"): OK, ("intake", "other"): OK},
    "return": {("handler", "own"): OK, ("leader", "own"): OK},
    "accept": {("handler", "own"): OK, ("leader", "own"): OK},
    "decline": {("handler", "own"): OK, ("leader", "own"): OK},
    "assign": {("leader", "own"): OK},
    "note": {("intake", "own"): OK, ("intake", "other"): OK, ("handler", "own"): OK, ("leader", "own"): OK},
    "reply": {("handler", "own"): OK, ("leader", "own"): OK},
    "sign-reply": {("leader", "own"): OK},
    "request-extension": {("handler", "own"): OK, ("leader", "own"): OK},
    "approve-extension": {("leader", "own"): OK},
    "reject-extension": {("leader", "own"): OK},
    "close": {("intake", "own"): OK, ("intake", "other"): OK, ("leader", "own"): OK},
    "urge": {("supervisor", "own"): OK, ("supervisor", "other"): OK},
    # From "routed" only the unit holding it answers on the spot; the bureau's intake officer
    # elsewhere may, but not in this state (409: registered petitions only).
    "answer-on-spot": {
        ("intake", "own"): OK,
        ("handler", "own"): OK,
        ("leader", "own"): OK,
        ("intake", "other"): 409,
    },
    "merge": {("intake", "own"): OK, ("intake", "other"): OK},
    "rate": {("citizen", "own"): OK},
    "review-request": {("citizen", "own"): OK},
    "rereview-request": {("citizen", "own"): OK},
    "review-reply": {("handler", "own"): OK, ("leader", "own"): OK},
    "rereview-reply": {("handler", "own"): OK, ("leader", "own"): OK},
    "follow-up": {("intake", "own"): OK, ("intake", "other"): OK, ("handler", "own"): OK, ("leader", "own"): OK},
    # The system's own rules: no account may take them.
    "card-yellow": {},
    "card-red": {},
    "card-urged": {},
}
SEE_EVERYTHING = {"intake", "supervisor", "admin"}


def test_every_action_is_in_the_matrix():
    assert set(EXPECTED) == set(wf.ACTIONS)


def _reply(p: Petition) -> None:
    act(p, "accept", "jtj-handler")
    act(p, "assign", "jtj-leader", handler="jtj-handler")
    act(p, "reply", "jtj-leader", text="答复")


# action → (bring a fresh petition to the state the action needs, fields, acting unit code)
def _ready(action: str) -> tuple[Petition, dict, str]:
    p, _ = file(title=f"矩阵测试 {action}")
    fields: dict = {}
    unit = "jtj"
    if action == "register":
        # Back in the intake queue: no unit holds it, so no unit sees it.
        act(p, "return", "jtj-handler", reason="改派")
    elif action == "route":
        fields = {"unit": "zjj"}  # re-routing before acceptance
    elif action == "return" or action == "decline":
        fields = {"reason": "不属职责", "channel": "向法院起诉"}
    elif action == "assign":
        act(p, "accept", "jtj-handler")
        fields = {"handler": "jtj-handler"}
    elif action == "note":
        fields = {"text": "内部备注"}
    elif action in ("reply", "request-extension"):
        act(p, "accept", "jtj-handler")
        act(p, "assign", "jtj-leader", handler="jtj-handler")
        fields = {"text": "答复", "days": 5, "reason": "需延期"}
    elif action == "sign-reply":
        act(p, "accept", "jtj-handler")
        act(p, "assign", "jtj-leader", handler="jtj-handler")
        act(p, "reply", "jtj-handler", text="草稿")
    elif action in ("approve-extension", "reject-extension"):
        act(p, "accept", "jtj-handler")
        act(p, "request-extension", "jtj-handler", days=5, reason="需延期")
        fields = {"reason": "不同意"}
    elif action == "close":
        _reply(p)
        actions.rate(p, "satisfied")
    elif action == "follow-up":
        _reply(p)
        fields = {"outcome": "reached", "citizen_view": "satisfied", "notes": "电话回访"}
    elif action == "urge":
        fields = {"text": "请抓紧办理"}
    elif action == "answer-on-spot":
        fields = {"text": "当场答复"}
    elif action == "merge":
        earlier, _ = file(title=f"矩阵测试 {action}")
        # The later one is `p`, filed after `earlier` below.
        p, earlier = _swap_if_needed(p, earlier)
        fields = {"duplicate_of": earlier.tracking_no}
    elif action in ("rate", "review-request"):
        _reply(p)
        fields = {"score": "unsatisfied", "reason": "不满意"}
    elif action == "rereview-request":
        _reply(p)
        actions.request_review(p, "复查")
        act(p, "review-reply", "gov-leader", text="复查意见")
        fields = {"reason": "仍不满意"}
    elif action in ("review-reply", "rereview-reply"):
        _reply(p)
        actions.request_review(p, "复查")
        if action == "rereview-reply":
            act(p, "review-reply", "gov-leader", text="复查意见")
            actions.request_review(p, "复核")
        fields = {"text": "意见"}
        unit = "gov"
    return p, fields, unit


def _swap_if_needed(a: Petition, b: Petition) -> tuple[Petition, Petition]:
    return (a, b) if a.id > b.id else (b, a)


def _actor(role: str, bond: str, unit_code: str, petition: Petition, stranger: Petition):
    if role == "citizen":
        return CodeHolder(petition.id if bond == "own" else stranger.id)
    if role in ("handler", "leader"):
        return user(f"{unit_code}-{role}" if bond == "own" else f"xicheng-{role}")
    if bond == "other":
        return user({"intake": "intake", "supervisor": "supervisor", "admin": "admin"}[role])
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    name = f"t-{role}-{unit_code}"
    found = db.session.scalar(select(User).where(User.username == name))
    if found is None:
        found = User(username=name, name=name, role=role, unit_id=unit.id, active=True)
        found.set_password("matrix-only-1")
        db.session.add(found)
        db.session.commit()
    return found


def _try(petition: Petition, action: str, actor, fields: dict) -> int:
    db.session.expire_all()
    current = db.session.get(Petition, petition.id)
    version = None if isinstance(actor, CodeHolder) else current.version
    try:
        actions.perform(current.tracking_no, action, actor, version, **fields)
    except DomainError as exc:
        return exc.status
    return OK


@pytest.mark.parametrize("action", wf.ACTIONS)
def test_role_matrix(app, action):
    stranger, _ = file(title="无关的另一件", phone="13900003333")
    shared, fields, unit_code = _ready(action)
    results: dict[tuple[str, str], int] = {}
    expected: dict[tuple[str, str], int] = {}
    successes = []
    for role in ROLES:
        for bond in BONDS:
            want = EXPECTED[action].get((role, bond))
            actor = _actor(role, bond, unit_code, shared, stranger)
            if want is None:
                want = 403 if can_view(actor, shared) else 404
                # Independent of can_view: who may see a petition at all.
                held = shared.unit_id is not None
                sees = role in SEE_EVERYTHING or (bond == "own" and (role == "citizen" or held))
                assert (want == 403) == sees, (role, bond)
            expected[(role, bond)] = want
            if want == OK:
                successes.append((role, bond))
                continue
            before = snapshot(shared)
            results[(role, bond)] = _try(shared, action, actor, fields)
            assert snapshot(shared) == before, f"a refused {action} by {role}/{bond} changed something"
    for role, bond in successes:
        fresh, fields, unit_code = _ready(action)
        results[(role, bond)] = _try(fresh, action, _actor(role, bond, unit_code, fresh, stranger), fields)
    assert results == expected


def test_the_handling_unit_does_not_write_the_review_opinion(app):
    p, _ = file()
    _reply(p)
    actions.request_review(p, "复查")
    before = snapshot(p)
    for username in ("jtj-handler", "jtj-leader"):
        assert can_view(user(username), p)
        with pytest.raises(DomainError) as err:
            act(p, "review-reply", username, text="自己复查自己")
        assert err.value.status == 403
    assert snapshot(p) == before


def test_queues_hold_only_what_each_may_see(app):
    mine, _ = file(title="交通局的件")
    township, _ = file(title="违建", category="cxjs-wj", township="xicheng")
    report, _ = file(title="举报西城街道干部", category="jjkg-wj", township="xicheng")
    reviewed, _ = file(title="复查中的件")
    _reply(reviewed)
    actions.request_review(reviewed, "复查")
    ours = {mine.id, township.id, report.id, reviewed.id}

    def seen(username: str) -> set[int]:
        return (
            set(db.session.scalars(visible_petitions_query(user(username)).with_only_columns(Petition.id)))
            & ours
        )

    assert seen("jtj-handler") == {mine.id, reviewed.id}
    assert seen("xicheng-leader") == {township.id}  # never the report about itself
    assert seen("jw-handler") == {report.id}
    assert seen("gov-leader") == {reviewed.id}
    assert seen("intake") == seen("supervisor") == seen("admin") == ours
    assert seen("dongcheng-handler") == set()
