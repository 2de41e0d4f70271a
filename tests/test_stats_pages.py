"""The ranking page and a unit's own page: charts drawn, the change from the previous
period, who may see what."""

from __future__ import annotations

import pytest

from petitions.web.public import cache
from tests.test_stats import march  # noqa: F401  (the hand-built month)

pytestmark = pytest.mark.calendar


def login(client, user) -> None:
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_ranking_page_for_a_supervisor(client, march, demo_user):  # noqa: F811
    login(client, demo_user("supervisor"))
    html = client.get("/supervision/rankings?period=2026-03&measure=received").get_data(as_text=True)
    assert 'class="bar"' in html and "<polyline" in html
    # jtj first with 5 received, 2 in February: +3; rsj second, 0 before: +2.
    table = html[html.index("<table") :]
    assert table.index("县交通运输局") < table.index("县人力资源和社会保障局") < table.index("县统计局")
    assert "+3" in html and "+2" in html
    unit = client.get("/supervision/units/jtj?period=2026-03")
    assert unit.status_code == 200
    text = unit.get_data(as_text=True)
    assert "<polyline" in text and "80.0%" in text  # acceptance rate 4 / 5


def test_a_leader_sees_rankings_and_only_their_own_unit(client, march, demo_user):  # noqa: F811
    login(client, demo_user("jtj-leader"))
    assert client.get("/supervision/rankings?period=2026-03").status_code == 200
    assert client.get("/supervision/units/jtj?period=2026-03").status_code == 200
    assert client.get("/supervision/units/rsj?period=2026-03").status_code == 404


def test_citizens_and_visitors_are_kept_out(client, march, demo_user):  # noqa: F811
    response = client.get("/supervision/rankings")
    assert response.status_code == 302 and "login" in response.headers["Location"]
    assert client.get("/supervision/units/jtj").status_code == 302


def test_bad_input_on_the_pages(client, march, demo_user):  # noqa: F811
    login(client, demo_user("supervisor"))
    assert client.get("/supervision/rankings?measure=bogus").status_code == 422
    assert client.get("/supervision/rankings?period=2026-13").status_code == 422
    assert client.get("/supervision/rankings?period=2027").status_code == 422
    assert client.get("/supervision/units/nowhere").status_code == 404
