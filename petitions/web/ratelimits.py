"""Rate limits per client address, shared by every face (web form, JSON API, Open311).

A filing through the form and one through the API count against the same budget:
the limit is on the client, not on the door it came in by. Staff tokens are exempt
(see create_app).

Guessing a secret (a query code, a password) is one budget, RATELIMIT_LOOKUP: every request
that checks one spends from it once, whichever face it came by. A view that checks a query
code does it through `code_holder` below, which spends before it checks, so that no door can
check codes without the limit (tests/test_query_code_limit.py holds every face to it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g

from petitions.extensions import limiter, settings
from petitions.models import Petition
from petitions.services import filing
from petitions.services.access import CodeHolder

filing_limit = limiter.shared_limit(lambda: settings().ratelimit_filing, scope="filing")
# New citizen accounts per client address (the form itself may be opened freely).
register_limit = limiter.shared_limit(
    lambda: settings().ratelimit_register, scope="register", methods=["POST"]
)
# The one look-up budget (Flask-Limiter's shared limit); spent only through spend_lookup().
_lookup = limiter.shared_limit(lambda: settings().ratelimit_lookup, scope="lookup")


def spend_lookup() -> None:
    """Spend one from the client's look-up budget, once per request; 429 when it is used up."""
    if g.get("lookup_spent"):
        return
    g.lookup_spent = True
    with _lookup:
        pass


def lookup_limit(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a view that guesses at a secret (log-in, tokens, look-ups): it spends first."""

    @functools.wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        spend_lookup()
        return view(*args, **kwargs)

    return limited


def code_holder(tracking_no: str, code: str) -> tuple[Petition, CodeHolder]:
    """The petition and its citizen for a tracking number + query code, after spending from the
    look-up budget (NotFound when either is wrong). Every face checks query codes through here."""
    spend_lookup()
    return filing.code_holder(tracking_no, code)
