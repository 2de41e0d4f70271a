"""Fuzzing the JSON API with schemathesis against its own OpenAPI document (/api/v1/openapi.json).

Every operation of the document, public and staff, gets generated requests, valid and invalid
(schemathesis' positive and negative modes), sent to the app through WSGI: without a token, with
an intake officer's token and with a unit leader's. Besides requests generated from the schema
alone (which rarely name a real petition), path parameters are also drawn from real petitions
and real actions, and filings from real category and place codes, so that the answers of the
happy paths (the citizen's and the staff views, the actions) are checked against the document too.
The public rate limits are raised for the run (staff tokens are exempt anyway).

It fails on any 5xx, any answer whose status, content type, headers or body does not match the
document, or any crash. FUZZ_EXAMPLES (default 10) is the number of examples per strategy, which
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
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from petitions.domain import workflow as wf
from petitions.models import Category, Unit
from petitions.services import filing as intake
from tests.conftest import configure

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ACTIONS_PATH = "/api/v1/petitions/{tracking_no}/actions/{action}"


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
                    "title": st.text(min_size=0, max_size=120),
                    "content": st.text(min_size=0, max_size=300),
                    "category": st.sampled_from(categories),
                    "township": st.sampled_from(places),
                    "contact": st.fixed_dictionaries(
                        {
                            "name": st.text(max_size=70),
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
    headers = {} if who == "anonymous" else {"Authorization": f"Bearer {staff_token(who)}"}
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
