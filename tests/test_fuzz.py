"""Fuzzing the JSON API with schemathesis against its own OpenAPI document (/api/v1/openapi.json).

Every operation of the document, public and staff, gets generated requests, valid and invalid
(schemathesis' positive and negative modes), sent to the app through WSGI: without a token, with
an intake officer's token and with a unit leader's. Besides requests generated from the schema
alone (which rarely name a real petition), path parameters are also drawn from real petitions
and real actions, and filings from real category and place codes, so that the answers of the
happy paths (the citizen's and the staff views, the actions) are checked against the document too.
The public rate limits are raised for the run (staff tokens are exempt anyway).

Every check schemathesis has runs (as `--checks all` does): besides any 5xx, any answer whose
status, content type, headers or body does not match the document, and any crash, it fails when
the server accepts a request the document calls invalid (negative_data_rejection), or refuses one
the document calls valid (positive_data_acceptance), so the document must state what the server
enforces. One narrowing, written out below: a schema-valid request may still be refused with 422
for the rules that depend on the record and cannot be a schema (a code that names no category,
the contact a non-anonymous filing needs, what an action requires in the petition's state, a
period still to come), and only for the fields those rules name (DOMAIN_FIELDS). FUZZ_EXAMPLES (default 10) is the number of examples per strategy, which
keeps it to about twenty seconds on two cores in `make test`; `FUZZ_EXAMPLES=500 pytest tests/test_fuzz.py` is
the long run (README, "Fuzzing").
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import load_all_checks
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import select

from petitions.domain import workflow as wf
from petitions.models import Category, Unit
from petitions.services import filing as intake
from petitions.web.inputs import FORBIDDEN
from tests.conftest import configure

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
ACTIONS_PATH = "/api/v1/petitions/{tracking_no}/actions/{action}"

# The fields whose rules depend on the record, per operation: a schema-valid request may be
# refused with 422 naming these, and only these.
DOMAIN_FIELDS = {
    "POST /api/v1/petitions": {
        "category",  # names no selectable category
        "township",  # names no place
        "anonymous",  # only reports may be anonymous
        "contact.name",  # required unless anonymous
        "contact.phone",  # required unless anonymous; a mainland mobile number however typed
        "attachments",  # a JPEG, PNG or PDF by its first bytes
        "channel",  # letter, phone and visit only with an intake officer's token
        "Idempotency-Key",  # the same key with another body
    },
    "GET /api/v1/petitions/{tracking_no}": {"code"},  # required without a staff token
    "GET /api/v1/stats/units": {"period"},  # not begun yet
    f"POST {ACTIONS_PATH}": {  # what the action requires in the petition's state (workflow.RULES)
        "unit",
        "reason",
        "channel",
        "handler",
        "text",
        "days",
        "duplicate_of",
        "category",
        "township",
    },
}


def positive_data_acceptance_but_the_record(ctx, response, case):
    """positive_data_acceptance, but for a 422 that names only the operation's DOMAIN_FIELDS."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 422:
            fields = set((response.json().get("error") or {}).get("fields") or {})
            if fields and fields <= DOMAIN_FIELDS.get(case.operation.label, set()):
                return None
        raise


load_all_checks()
CHECKS = [
    positive_data_acceptance_but_the_record if check is positive_data_acceptance else check
    for check in REGISTERED_CHECKS.get_all()
]


@pytest.fixture()
def petitions_to_fuzz(db):
    """A petition routed to jtj (its leader acts on it) and one waiting in the intake queue."""
    routed = intake.file_petition(
        intake.Filing(
            title="门前道路坑洼",
            content="路面坑洼，雨天积水。",
            category="jtys-dl",
            township="dongcheng",
            contact_name="张三",
            contact_phone="13812345678",
        )
    )
    waiting = intake.file_petition(
        intake.Filing(
            title="桥梁护栏损坏",
            content="村口桥梁护栏损坏。",
            category="jtys-dl",
            contact_name="李四",
            contact_phone="13912345678",
            channel="open311",
        )
    )
    return [(f.petition.tracking_no, f.query_code) for f in (routed, waiting)]


def _text(min_size: int, max_size: int):
    """Text the document calls valid (petitions.web.inputs: no forbidden character; filled in)."""
    return st.text(min_size=min_size, max_size=max_size).filter(
        lambda t: not FORBIDDEN.search(t) and (min_size == 0 or t.strip())
    )


def _strategies(schema, db, petitions) -> list:
    numbers = [number for number, _code in petitions]
    codes = dict(petitions)
    categories = list(db.session.scalars(select(Category.code).where(Category.parent_id.is_not(None))))
    places = list(db.session.scalars(select(Unit.code).where(Unit.kind.in_(intake.PLACE_KINDS))))
    strategies = []
    for result in schema.get_all_operations():
        op = result.ok()
        for mode in GenerationMode:
            strategies.append(op.as_strategy(generation_mode=mode))
        names = {p.name for p in op.path_parameters}
        if op.path == ACTIONS_PATH:
            strategies.append(
                st.tuples(st.sampled_from(numbers), st.sampled_from(wf.STAFF_ACTIONS)).flatmap(
                    lambda pair, op=op: op.as_strategy(
                        path_parameters={"tracking_no": pair[0], "action": pair[1]}
                    )
                )
            )
        elif names == {"tracking_no"} and op.method.upper() == "GET":
            # The citizen's view with the real query code, and the staff view (no code).
            strategies.append(
                st.sampled_from(numbers).flatmap(
                    lambda n, op=op: op.as_strategy(
                        path_parameters={"tracking_no": n}, query={"code": codes[n]}
                    )
                )
            )
            strategies.append(
                st.sampled_from(numbers).flatmap(
                    lambda n, op=op: op.as_strategy(path_parameters={"tracking_no": n})
                )
            )
        elif names == {"tracking_no"}:
            strategies.append(
                st.sampled_from(numbers).flatmap(
                    lambda n, op=op: op.as_strategy(path_parameters={"tracking_no": n})
                )
            )
        elif op.path == "/api/v1/petitions" and op.method.upper() == "POST":
            filing = st.fixed_dictionaries(
                {
                    "title": _text(1, 100),
                    "content": _text(1, 300),
                    "category": st.sampled_from(categories),
                    "township": st.sampled_from(places),
                    "contact": st.fixed_dictionaries(
                        {
                            "name": _text(0, 64),
                            "phone": st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
                        }
                    ),
                    "anonymous": st.booleans(),
                    "channel": st.sampled_from(["web", "letter", "phone", "visit"]),
                }
            )
            strategies.append(filing.flatmap(lambda body, op=op: op.as_strategy(body=body)))
    return strategies


@pytest.mark.parametrize("who", ["anonymous", "intake", "jtj-leader"])
def test_fuzz_the_api(app, db, monkeypatch, staff_token, petitions_to_fuzz, who):
    configure(app, ratelimit_filing="100000 per minute")
    configure(app, ratelimit_lookup="100000 per minute")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # A body over its limit is refused unread with 413, which the document states: a rejection too.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    headers = {} if who == "anonymous" else {"Authorization": f"Bearer {staff_token(who)}"}
    if headers:
        # The token is the run's, not generated: a case that "drops" it would be sent with it anyway.
        schema.config.generation.with_security_parameters = False
    strategies = _strategies(schema, db, petitions_to_fuzz)
    labels = {result.ok().label for result in schema.get_all_operations()}
    assert {"POST /api/v1/petitions", "GET /api/v1/queue", f"POST {ACTIONS_PATH}"} <= labels
    answered: dict[str, set[int]] = {}

    # Each strategy on its own, EXAMPLES examples each: every operation is reached on every
    # run (drawn from one_of, an operation could go without a single example by chance).
    for strategy in strategies:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,  # nothing written to .hypothesis/ or .schemathesis/
            suppress_health_check=list(HealthCheck),
            print_blob=True,
        )
        @given(case=strategy)
        def fuzz(case):
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            answered.setdefault(case.operation.label, set()).add(response.status_code)

        try:
            fuzz()
        except Unsatisfiable:
            # Invalid data for an operation that takes none: nothing to send, nothing missed
            # (the operation is still reached by its other strategies; checked below).
            continue
    # Every operation was reached, and some answers were successes, not only refusals.
    assert set(answered) == labels, labels - set(answered)
    assert any(s < 300 for statuses in answered.values() for s in statuses), answered
