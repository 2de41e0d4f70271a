"""The queues at any size: keyset pages that walk every row once, in order, ties and undated
rows included; a capped count; the text search on Chinese words (through the bigram index
on PostgreSQL, a LIKE on SQLite)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.schema import CreateIndex

from petitions.domain.clocks import now
from petitions.extensions import db
from petitions.models import Petition
from petitions.services import queues
from tests.conftest import configure, is_postgres
from tests.handling import file, logged_in


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _many(count: int, title: str = "第{i}件") -> list[Petition]:
    return [file(title=title.format(i=i), phone=f"1390001{i:04d}")[0] for i in range(count)]


def _tie_and_blank(petitions: list[Petition]) -> None:
    """Give groups of petitions the same due time, and some none (as after a reply)."""
    base = now() + timedelta(days=3)
    for i, p in enumerate(petitions):
        due = None if i % 5 == 4 else base + timedelta(hours=i // 3)  # threes share a due time
        db.session.execute(update(Petition).where(Petition.id == p.id).values(due_at=due))
    db.session.commit()


def _to_dongcheng(own: list[Petition], reviewed: list[Petition]) -> None:
    """`own` become dongcheng's petitions; dongcheng is asked to review `reviewed`."""
    from petitions.models import ReviewRequest, Unit

    dongcheng = db.session.scalar(select(Unit.id).where(Unit.code == "dongcheng"))
    db.session.execute(update(Petition).where(Petition.id.in_([p.id for p in own])).values(unit_id=dongcheng))
    for p in reviewed:
        db.session.add(ReviewRequest(petition_id=p.id, kind="review", reason="不服", unit_id=dongcheng))
    db.session.commit()


def _walk(client, headers: dict[str, str], total: int, capped: bool = False, **query) -> list[str]:
    """Every page of the API queue by cursor, two rows a page: the tracking numbers in the
    order shown; each page says the list has `total` rows (`capped`: more than that)."""
    seen, after = [], None
    while True:
        args = {"per_page": 2, **query} | ({"after": after} if after else {})
        body = client.get("/api/v1/queue", query_string=args, headers=headers).get_json()
        seen += [i["tracking_no"] for i in body["items"]]
        assert body["total"] == total and body["total_capped"] is capped
        assert len(seen) <= (50 if capped else total)
        if not body["more"]:
            return seen
        after = body["next"]


def _expected_by_due() -> list[str]:
    rows = db.session.execute(select(Petition.tracking_no, Petition.due_at, Petition.id)).all()
    moment = now()
    ordered = sorted(rows, key=lambda r: (r.due_at is None, r.due_at or moment, r.id))
    return [r.tracking_no for r in ordered]


def test_the_api_queue_walks_every_row_once_in_order_with_ties_and_undated_rows(app, client, staff_token):
    _tie_and_blank(_many(23))
    headers = _auth(staff_token("intake"))
    seen, after, pages = [], None, 0
    while True:
        url = "/api/v1/queue?per_page=4" + (f"&after={after}" if after else "")
        body = client.get(url, headers=headers).get_json()
        seen += [i["tracking_no"] for i in body["items"]]
        pages += 1
        assert body["more"] == (body["next"] is not None)
        assert body["total"] == 23 and body["total_capped"] is False
        if not body["more"]:
            break
        after = body["next"]
        assert pages < 20
    assert seen == _expected_by_due()
    assert len(seen) == len(set(seen)) == 23 and pages == 6


def test_numbered_pages_agree_with_the_cursor_and_stop_at_the_counted_rows(app, client, staff_token):
    _tie_and_blank(_many(9))
    headers = _auth(staff_token("intake"))
    first = client.get("/api/v1/queue?per_page=4", headers=headers).get_json()
    second = client.get("/api/v1/queue?per_page=4&page=2", headers=headers).get_json()
    by_cursor = client.get(f"/api/v1/queue?per_page=4&after={first['next']}", headers=headers).get_json()
    assert [i["tracking_no"] for i in second["items"]] == [i["tracking_no"] for i in by_cursor["items"]]
    assert second["next"] == by_cursor["next"] and by_cursor["page"] == 0
    configure(app, queue_count_cap=5)
    capped = client.get("/api/v1/queue?per_page=4", headers=headers).get_json()
    assert capped["total"] == 5 and capped["total_capped"] is True
    # Numbered pages end at the counted rows; the cursor goes on.
    assert client.get("/api/v1/queue?per_page=4&page=3", headers=headers).get_json()["items"] == []
    assert client.get("/api/v1/queue?per_page=4&page=2", headers=headers).get_json()["items"]


@pytest.mark.parametrize("bad", ["x-1", "1-", "-1", "n-", "12345678901234567-1", "1.5-2"])
def test_a_forged_cursor_is_refused(app, client, staff_token, bad):
    headers = _auth(staff_token("intake"))
    assert client.get(f"/api/v1/queue?after={bad}", headers=headers).status_code == 422
    web = logged_in(app.test_client(), "intake")
    assert web.get(f"/staff/queue?after={bad}").status_code == 404


def test_the_cursor_reads_back_what_it_wrote():
    at = now().replace(microsecond=123456)
    assert queues.Cursor.parse(str(queues.Cursor(at, 42))) == queues.Cursor(at, 42)
    assert queues.Cursor.parse("n-7") == queues.Cursor(None, 7)
    assert queues.Cursor.parse("") is None
    # An id beyond the database's integers is past every row, not an error.
    assert queues.Cursor.parse("n-999999999999") == queues.Cursor(None, 2**31 - 1)


def test_a_cursor_past_every_row_answers_an_empty_page(app, client, staff_token):
    _many(2)
    headers = _auth(staff_token("intake"))
    for after in ("n-999999999999", "9999999999999999-999999999999", "0-0"):
        body = client.get(f"/api/v1/queue?per_page=100&after={after}", headers=headers)
        assert body.status_code == 200, after
    assert client.get("/api/v1/queue?after=n-999999999999", headers=headers).get_json()["items"] == []


def _walk_web(client, url: str) -> list[str]:
    seen, pages = [], 0
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += re.findall(r'href="/staff/petitions/([^"]+)"', html.split("<tbody>")[1].split("</tbody>")[0]) if (
            "<tbody>" in html
        ) else re.findall(r'<article[^>]*>.*?href="/staff/petitions/([^"]+)"', html, flags=re.S)
        found = re.search(r'href="([^"]*after=[^"]+)"[^>]*>下一页', html)
        url = unescape(found.group(1)) if found else ""
        pages += 1
        assert pages < 30
    return seen


def test_the_web_queue_walks_every_row_once_in_order(app):
    _tie_and_blank(_many(13))
    client = logged_in(app.test_client(), "supervisor")
    seen = _walk_web(client, "/staff/queue?status=all&per_page=3")
    unique = list(dict.fromkeys(seen))
    assert unique == _expected_by_due() and len(unique) == 13
    html = client.get("/staff/queue?status=all&per_page=3").get_data(as_text=True)
    assert "共 13 件" in html
    configure(app, queue_count_cap=10)
    assert "共 10+ 件" in client.get("/staff/queue?status=all&per_page=3").get_data(as_text=True)


def test_the_intake_queue_walks_every_row_once_oldest_first_with_equal_times(app):
    petitions = _many(11)
    same = now() - timedelta(hours=1)
    for p in petitions[:6]:  # six filed in the same microsecond
        db.session.execute(
            update(Petition).where(Petition.id == p.id).values(created_at=same, status="registered", unit_id=None)
        )
    for p in petitions[6:]:
        db.session.execute(update(Petition).where(Petition.id == p.id).values(status="registered", unit_id=None))
    db.session.commit()
    client = logged_in(app.test_client(), "intake")
    seen = []
    url = "/staff/intake?per_page=4"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += [m for m in re.findall(r'/staff/petitions/([A-Z0-9-]+)"', html)]
        found = re.search(r'href="([^"]*after=[^"]+)"[^>]*>下一页', html)
        url = unescape(found.group(1)) if found else ""
    unique = list(dict.fromkeys(seen))
    rows = db.session.execute(
        select(Petition.tracking_no).where(Petition.status == "registered").order_by(Petition.created_at, Petition.id)
    ).scalars().all()
    assert unique == list(rows) and len(unique) == 11


# ---------------------------------------------------------------- the text search


def _with_content(title: str, content: str, phone: str) -> Petition:
    petition, _ = file(title=title, phone=phone)
    db.session.execute(update(Petition).where(Petition.id == petition.id).values(content=content))
    db.session.commit()
    return petition


def test_the_search_finds_chinese_words_of_two_characters_and_more(app, client, staff_token):
    noise = _with_content("夜间施工扰民", "工地每晚十一点后仍有噪音，影响休息。", "13900020001")
    title_hit = _with_content("广场舞噪音太大", "每天晚上音响声音很大。", "13900020002")
    other = _with_content("路灯不亮", "小区门口路灯坏了。", "13900020003")
    headers = _auth(staff_token("intake"))

    def found(q: str) -> set[str]:
        body = client.get("/api/v1/queue", query_string={"q": q, "per_page": 100}, headers=headers).get_json()
        return {i["tracking_no"] for i in body["items"]}

    assert found("噪音") == {noise.tracking_no, title_hit.tracking_no}
    assert found("有噪音，影") == {noise.tracking_no}
    assert found("舞噪") == {title_hit.tracking_no}
    assert found("路灯") == {other.tracking_no}
    assert found("噪") == {noise.tracking_no, title_hit.tracking_no}  # one character: no index, still found
    assert found("噪声") == set()
    assert found(noise.tracking_no.lower()) == {noise.tracking_no}
    assert found("100%") == set() and found("_") == set()
    web = logged_in(app.test_client(), "intake").get("/staff/queue", query_string={"q": "噪音"}).get_data(as_text=True)
    assert noise.tracking_no in web and title_hit.tracking_no in web and other.tracking_no not in web


@pytest.mark.postgres
def test_on_postgresql_the_search_goes_through_the_bigram_index(app, postgres):
    _with_content("夜间施工扰民", "工地每晚十一点后仍有噪音。", "13900020001")
    stmt = queues.search(select(Petition.id), "噪音")
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql))
        assert "ix_petitions_search_bigrams" in plan, plan
        # The two-character pieces of a Chinese word.
        grams = conn.execute(text("SELECT petition_bigrams('施工噪音')")).scalar()
        assert sorted(grams) == sorted(["施工", "工噪", "噪音"])


@pytest.mark.postgres
def test_the_bigram_index_keeps_a_short_pending_list(app, postgres):
    """Every search reads the index's pending entries whole: the migrations and the model both
    keep them to 256 kB (32 pages) instead of PostgreSQL's 4 MB."""
    with db.engine.connect() as conn:
        options = conn.execute(
            text("SELECT reloptions FROM pg_class WHERE relname = 'ix_petitions_search_bigrams'")
        ).scalar()
    assert options == ["gin_pending_list_limit=256"]
    index = next(i for i in Petition.__table__.indexes if i.name == "ix_petitions_search_bigrams")
    assert "WITH (gin_pending_list_limit = 256)" in str(CreateIndex(index).compile(db.engine))


def test_the_search_is_a_like_with_the_bigram_condition_on_postgresql_only(app):
    longer = str(queues.search(select(Petition.id), "噪音扰民").compile(db.engine))
    assert "LIKE" in longer.upper()
    assert ("petition_bigrams" in longer) == is_postgres()
    # A word of two characters is its one bigram: on PostgreSQL the index answers it alone.
    two = str(queues.search(select(Petition.id), "噪音").compile(db.engine))
    assert ("LIKE" in two.upper()) != is_postgres()
    assert ("petition_bigrams" in two) == is_postgres()
    assert "LIKE" in str(queues.search(select(Petition.id), "噪 ").compile(db.engine)).upper()


def test_a_word_of_two_characters_finds_what_a_like_finds(app, client, staff_token):
    """Every two characters of the petitions' texts, in either case, and across the texts'
    edges: the search finds exactly the petitions that contain them (any case)."""
    made = [
        _with_content("Road 路灯不亮", "小区门口路灯坏了。aB", "13900020001"),
        _with_content("广场舞噪音太大", "每天晚上音响声音很大", "13900020002"),
        _with_content("噪音Ab扰民", "road works 夜间施工", "13900020003"),
    ]
    headers = _auth(staff_token("intake"))
    texts = {p.tracking_no: " ".join((p.tracking_no, p.title, p.content)) for p in made}
    words = {t[i : i + 2] for t in texts.values() for i in range(len(t) - 1)}
    words |= {w.upper() for w in words} | {"AB", "ab", "Ab", "OA", "声音", "音太", "灯小"}
    for q in sorted(words):
        if q.strip() != q:
            continue  # the queue trims what it is asked
        body = client.get("/api/v1/queue", query_string={"q": q, "per_page": 100}, headers=headers).get_json()
        found = {i["tracking_no"] for i in body["items"]} & set(texts)
        expected = {
            p.tracking_no
            for p in made
            if any(q.lower() in field.lower() for field in (p.tracking_no, p.title, p.content))
        }
        assert found == expected, q


def test_a_units_queue_merges_its_own_petitions_with_those_it_reviews(app, client, staff_token):
    petitions = _many(9)
    _tie_and_blank(petitions)
    own, reviewed = petitions[:5], petitions[5:8]
    _to_dongcheng(own, reviewed)
    seen = _walk(client, _auth(staff_token("dongcheng-handler")), 8)
    mine = {p.tracking_no for p in own + reviewed}
    assert seen == [n for n in _expected_by_due() if n in mine]


def test_statements_kept_per_shape_answer_with_each_callers_own_values(app, client, staff_token):
    """The API queue keeps its statements per shape (who sees it, which filters): two units'
    handlers, asked in turn, each get their own unit's rows and counts, and a search's words
    are its own."""
    from petitions.models import Unit

    petitions = _many(6)
    units = dict(db.session.execute(select(Unit.code, Unit.id).where(Unit.code.in_(["dongcheng", "jtj"]))).all())
    for i, p in enumerate(petitions):
        unit = units["dongcheng"] if i < 4 else units["jtj"]
        db.session.execute(update(Petition).where(Petition.id == p.id).values(unit_id=unit))
    db.session.commit()
    expected = {
        "dongcheng-handler": {p.tracking_no for p in petitions[:4]},
        "jtj-handler": {p.tracking_no for p in petitions[4:]},
    }
    headers = {name: _auth(staff_token(name)) for name in expected}
    for name in ["dongcheng-handler", "jtj-handler", "dongcheng-handler", "jtj-handler"]:
        body = client.get("/api/v1/queue?per_page=50", headers=headers[name]).get_json()
        assert {i["tracking_no"] for i in body["items"]} == expected[name]
        assert body["total"] == len(expected[name])
        # A page after a cursor, the same for each.
        first = client.get("/api/v1/queue?per_page=1", headers=headers[name]).get_json()
        rest = client.get(f"/api/v1/queue?per_page=50&after={first['next']}", headers=headers[name]).get_json()
        assert {i["tracking_no"] for i in first["items"] + rest["items"]} == expected[name]
    intake = _auth(staff_token("intake"))
    for words, title in [("第1件", petitions[1].title), ("第5件", petitions[5].title), ("第1件", petitions[1].title)]:
        body = client.get("/api/v1/queue", query_string={"q": words}, headers=intake).get_json()
        assert [i["title"] for i in body["items"]] == [title]


def test_a_search_walks_every_match_once_in_order_with_its_total_on_every_page(app, client, staff_token):
    """On PostgreSQL a search through the bigram index reads its rows and their total in one
    statement (queues.rows_page, `matched`); the pages walk every match once, dated by due time then
    undated, with the same total on each, and a page past the end still counts them."""
    matches = _many(11, title="噪音第{i}件")
    _many(3, title="路灯第{i}件")
    _tie_and_blank(matches)
    own, reviewed = matches[:6], matches[8:10]
    _to_dongcheng(own, reviewed)
    numbers = {p.tracking_no for p in matches}
    for who, wanted in [("intake", numbers), ("dongcheng-handler", {p.tracking_no for p in own + reviewed})]:
        headers = _auth(staff_token(who))
        seen = _walk(client, headers, len(wanted), q="噪音")
        assert seen == [n for n in _expected_by_due() if n in wanted]
        # A cursor past the last match: no rows, the same total.
        last = db.session.execute(
            select(Petition.id).where(Petition.tracking_no.in_(wanted)).order_by(Petition.id.desc())
        ).scalar()
        past = client.get("/api/v1/queue", query_string={"q": "噪音", "after": f"n-{last}"}, headers=headers)
        assert past.get_json()["items"] == [] and past.get_json()["total"] == len(wanted)


def test_a_word_in_more_petitions_than_the_cap_still_walks_every_match_in_order(
    app, client, staff_token, monkeypatch
):
    """A search whose matches pass what is read of them to be sorted (ten times the count's cap;
    here once) is read in order from the queue's index: the pages walk every match once,
    soonest due first, undated last, each saying "more than the cap"; at the cap and one above
    it, the count is exact."""
    monkeypatch.setattr(queues, "DENSE_CAPS", 1)
    matches = _many(11, title="噪音第{i}件")
    _many(3, title="路灯第{i}件")
    _tie_and_blank(matches)
    own, reviewed = matches[:6], matches[8:10]
    _to_dongcheng(own, reviewed)
    for who, wanted in [
        ("intake", {p.tracking_no for p in matches}),
        ("dongcheng-handler", {p.tracking_no for p in own + reviewed}),
    ]:
        headers = _auth(staff_token(who))
        in_order = [n for n in _expected_by_due() if n in wanted]
        for cap in (3, len(wanted) - 2, len(wanted) - 1):
            configure(app, queue_count_cap=cap)
            assert _walk(client, headers, cap, capped=True, q="噪音") == in_order
            assert _walk(client, headers, cap, capped=True, q="噪音第") == in_order
        for cap in (len(wanted), len(wanted) + 1):
            configure(app, queue_count_cap=cap)
            assert _walk(client, headers, len(wanted), q="噪音") == in_order
        configure(app, queue_count_cap=3)
        web = logged_in(app.test_client(), who)
        html = web.get("/staff/queue", query_string={"q": "噪音", "status": "all"}).get_data(as_text=True)
        assert "共 3+ 件" in html


@pytest.mark.postgres
def test_a_search_reads_no_more_matches_in_no_order_than_the_cap(app, postgres):
    """The statement that reads a search's matches to sort them stops at the cap + 1, however
    many petitions contain the word."""
    _many(12, title="噪音第{i}件")
    stmt = queues.search(select(Petition.id, Petition.due_at), "噪音")
    first = queues._matched([stmt], Petition.due_at, None)
    for cap in (1, 4, 11, 12, 20):
        rows = db.session.execute(first, {"read_cap": cap + 1, "want": 100, "search_words": "噪音"}).all()
        assert len(rows) == min(cap + 1, 12)
        assert {r.matched_total for r in rows} == {min(cap + 1, 12)}


def _plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


@pytest.mark.postgres
def test_a_search_counts_and_sorts_its_matches_by_id_and_key_alone(app, postgres):
    """The statement that reads a search's matches carries only their id and sort key through
    the count and the sort; the page's rows then read the columns the queue shows, by id, and
    they are the first matches in order, each with the count of them all."""
    from petitions.web.api.staff import QUEUE_COLUMNS

    matches = _many(12, title="噪音第{i}件")
    _many(3, title="路灯第{i}件")
    _tie_and_blank(matches)
    first = queues._matched([queues.search(select(*QUEUE_COLUMNS), "噪音")], Petition.due_at, None)
    values = {"read_cap": 100, "want": 5, "search_words": "噪音"}
    rows = db.session.execute(first, values).all()
    expected = [n for n in _expected_by_due() if n in {p.tracking_no for p in matches}][:5]
    assert [r.tracking_no for r in rows] == expected
    assert {r.matched_total for r in rows} == {12}
    assert all(r.title.startswith("噪音第") and r.status for r in rows)

    # A numbered page's: the same matches, after the first `skip` of them.
    later = queues._matched([queues.search(select(*QUEUE_COLUMNS), "噪音")], Petition.due_at, None, skip=True)
    skipped = {**values, "skip": 5}
    ordered = [n for n in _expected_by_due() if n in {p.tracking_no for p in matches}]
    assert [r.tracking_no for r in db.session.execute(later, skipped)] == ordered[5:10]

    for stmt, given in ((first, values), (later, skipped)):
        sql = str(stmt.compile(dialect=db.engine.dialect))
        plan = db.session.connection().exec_driver_sql("EXPLAIN (VERBOSE, FORMAT JSON) " + sql, given).scalar()
        nodes = list(_plan_nodes(plan[0]["Plan"]))
        counted = [n for n in nodes if n["Node Type"] == "WindowAgg"]
        assert counted, nodes
        for node in counted + [n for n in nodes if n["Node Type"] == "Sort" and "count" not in str(n)]:
            assert not any("title" in column or "contact_phone" in column for column in node["Output"]), node


@pytest.mark.postgres
def test_a_search_of_columns_beyond_the_petition_reads_them_with_its_matches(app, postgres):
    """A list that shows a column of another table (here its unit's code) is counted and
    sorted with all its columns: its page's rows are the same first matches."""
    from petitions.models import Unit

    matches = _many(6, title="噪音第{i}件")
    _tie_and_blank(matches)
    _to_dongcheng(matches, [])
    stmt = select(Petition.id, Petition.tracking_no, Petition.due_at, Unit.code).join(Unit, Unit.id == Petition.unit_id)
    first = queues._matched([queues.search(stmt, "噪音")], Petition.due_at, None)
    rows = db.session.execute(first, {"read_cap": 100, "want": 4, "search_words": "噪音"}).all()
    assert [r.tracking_no for r in rows] == [n for n in _expected_by_due() if n in {p.tracking_no for p in matches}][:4]
    assert {r.code for r in rows} == {"dongcheng"} and {r.matched_total for r in rows} == {6}


def _as_without_statistics(monkeypatch) -> None:
    """The bigram index as before its first ANALYZE (an earlier test's may have called 噪音
    dense): every word of two characters and more goes through the index."""
    from petitions.services import reference

    monkeypatch.setattr(queues, "_bigram_shares", lambda: ({}, 0.0))
    reference.invalidate()


@pytest.mark.postgres
def test_beyond_the_matches_read_a_search_walks_with_the_like_alone(app, postgres, client, staff_token, monkeypatch):
    """Beyond the matches read to be sorted, the pages come from the queue's own index with the
    LIKE alone: no statement after the first computes a row's bigrams (the API's queue and the
    web queue)."""
    from tests.test_reads_without_transaction import watched

    monkeypatch.setattr(queues, "DENSE_CAPS", 1)
    _as_without_statistics(monkeypatch)
    configure(app, queue_count_cap=3)
    _tie_and_blank(_many(9, title="噪音第{i}件"))
    headers = _auth(staff_token("intake"))
    web = logged_in(app.test_client(), "intake")
    for ask in (
        lambda: client.get("/api/v1/queue", query_string={"q": "噪音"}, headers=headers),
        lambda: web.get("/staff/queue", query_string={"q": "噪音", "status": "all"}),
    ):
        with watched() as seen:
            assert ask().status_code == 200
        searched = [s for s, _autocommit, _conn in seen if "ILIKE" in s.upper() or "petition_bigrams" in s]
        assert searched and "petition_bigrams" in searched[0]
        assert not any("petition_bigrams" in s for s in searched[1:]), searched
        assert any("ILIKE" in s.upper() for s in searched[1:])


@pytest.mark.postgres
def test_a_word_the_statistics_find_in_most_petitions_is_searched_with_the_like_alone(
    app, postgres, client, staff_token, monkeypatch
):
    """A word that the bigram index's statistics put in a large share of the petitions is
    searched without the index: in the queue's order with the LIKE, and its pages are the same."""
    from petitions.services import reference

    configure(app, queue_count_cap=2)
    matches = _many(30, title="噪音第{i}件")
    _tie_and_blank(matches)
    assert queues.search_shape("噪音")[0] == "grams"  # no statistics yet
    db.session.execute(text("ANALYZE petitions"))
    db.session.commit()
    reference.invalidate()
    petitions = db.session.scalar(select(func.count()).select_from(Petition))
    assert petitions > queues.DENSE_CAPS * 2
    assert len(matches) / petitions >= queues.DENSE_SHARE, "the test needs the word in a large share"
    assert queues.search_shape("噪音")[0] == "dense"
    assert queues.search_shape("噪音第29件")[0] == "grams"  # its bigrams together are rare
    assert queues.search_shape("路灯")[0] == "grams"
    wanted = {p.tracking_no for p in matches}
    in_order = [n for n in _expected_by_due() if n in wanted]
    assert _walk(client, _auth(staff_token("intake")), 2, capped=True, q="噪音") == in_order
    assert "petition_bigrams" not in str(queues.search(select(Petition.id), "噪音").compile(db.engine))


def test_a_word_is_dense_by_the_product_of_its_bigrams_shares(app, monkeypatch):
    """Every pair of digits of a number is common, the number itself is not: the estimate is
    the product of the bigrams' shares (as PostgreSQL's own), not the rarest one's."""
    from petitions.services import reference

    shares = {"（7": 0.11, "72": 0.3, "23": 0.3, "31": 0.3, "关于": 1.0, "于小": 1.0, "小区": 0.98}
    monkeypatch.setattr(queues, "_bigram_shares", lambda: (shares, 1_000_000.0))
    reference.invalidate()
    configure(app, queue_count_cap=1000)
    assert queues._dense("（7") and queues._dense("关于小区") and queues._dense("小区")
    assert not queues._dense("（7231") and not queues._dense("（72")  # 0.033 of the petitions
    assert not queues._dense("噪音") and not queues._dense("小区噪音")
    # A small database is never dense: reading all its matches costs little.
    monkeypatch.setattr(queues, "_bigram_shares", lambda: (shares, 9_000.0))
    reference.invalidate()
    assert not queues._dense("关于小区")


@pytest.mark.postgres
@pytest.mark.parametrize("cap", [20, 3])
def test_numbered_pages_of_a_search_agree_with_the_cursor(app, postgres, client, staff_token, monkeypatch, cap):
    """Numbered pages of a search (within the first `cap` matches, and beyond it) show what the
    cursor's pages show; and no statement that checks bigrams orders the table by an index of
    its own (which the planner would walk, computing every row's bigrams: minutes at a million)."""
    from tests.test_reads_without_transaction import watched

    monkeypatch.setattr(queues, "DENSE_CAPS", 1)
    _as_without_statistics(monkeypatch)
    configure(app, queue_count_cap=cap)
    _tie_and_blank(_many(9, title="噪音第{i}件"))
    _many(2, title="路灯第{i}件")
    headers = _auth(staff_token("intake"))
    with watched() as seen:
        by_cursor, after = [], None
        while True:
            args = {"q": "噪音", "per_page": 2} | ({"after": after} if after else {})
            body = client.get("/api/v1/queue", query_string=args, headers=headers).get_json()
            by_cursor.append([i["tracking_no"] for i in body["items"]])
            if not body["more"]:
                break
            after = body["next"]
        numbered = [
            [i["tracking_no"] for i in client.get(
                "/api/v1/queue", query_string={"q": "噪音", "per_page": 2, "page": n}, headers=headers
            ).get_json()["items"]]
            for n in range(1, len(by_cursor) + 1)
        ]
        web = logged_in(app.test_client(), "intake")
        assert web.get("/staff/queue", query_string={"q": "噪音", "status": "all"}).status_code == 200
    reachable = -(-cap // 2)  # numbered pages end at the counted rows
    assert numbered[:reachable] == by_cursor[:reachable]
    assert sum(len(page) for page in by_cursor) == 9
    grams = [s for s, _autocommit, _conn in seen if "petition_bigrams" in s]
    assert grams and not any(re.search(r"ORDER BY petitions\.", s) for s in grams), grams
