"""Keyword suggestions of category (and unit) for the free text of a petition."""

from __future__ import annotations

from sqlalchemy import select

from petitions.extensions import db
from petitions.models import Category, Unit
from petitions.services import suggest


def _cat(code: str, keywords: str) -> Category:
    return Category(code=code, name=code, kind="grievance", keywords=keywords)


ROADS = _cat("roads", "道路,坑洼,修路,桥梁,路灯")
WAGES = _cat("wages", "欠薪,拖欠工资,农民工工资,讨薪,工钱")
AID = _cat("aid", "补贴,种粮补贴,农机补贴,惠农")
NOISE = _cat("noise", "噪音，噪声,施工扰民")  # a full-width comma separates too


def test_the_category_with_most_keywords_comes_first():
    text = "村里道路坑洼不平，路灯也坏了；另外老板拖欠工资"
    ranked = suggest.rank_categories(text, [WAGES, ROADS, AID])
    assert [(c.code, n) for c, n in ranked] == [("roads", 3), ("wages", 1)]


def test_no_keyword_no_suggestion_and_empty_text():
    assert suggest.rank_categories("想了解一下办事时间", [ROADS, WAGES]) == []
    assert suggest.rank_categories("   ", [ROADS, WAGES]) == []
    assert suggest.rank_categories("", [ROADS]) == []


def test_a_keyword_inside_a_longer_one_counts_once():
    # "种粮补贴" contains "补贴": one matter, one hit.
    assert suggest.rank_categories("今年的种粮补贴没有发", [AID]) == [(AID, 1)]


def test_ties_go_to_the_longer_keyword_then_catalogue_order():
    a = _cat("a", "工资")
    b = _cat("b", "拖欠工资")
    assert [c.code for c, _ in suggest.rank_categories("拖欠工资三个月", [a, b])] == ["b", "a"]
    c = _cat("c", "噪音")
    assert [x.code for x, _ in suggest.rank_categories("夜里噪音大", [NOISE, c])] == ["noise", "c"]


def test_limit():
    cats = [_cat(f"k{i}", "问题") for i in range(5)]
    assert len(suggest.rank_categories("问题", cats)) == suggest.LIMIT
    assert len(suggest.rank_categories("问题", cats, limit=5)) == 5


def test_on_the_demo_catalogue_with_the_unit_the_rules_give():
    township = db.session.scalar(select(Unit).where(Unit.code == "dongcheng"))
    found = suggest.suggest("小区物业费乱涨，电梯经常坏", township)
    assert found[0].category.code == "cxjs-wy"
    assert found[0].score == 3
    assert found[0].unit is not None and found[0].unit.code == "fcfw"
    # Without a place there is no unit to name.
    assert suggest.suggest("小区物业费乱涨", None)[0].unit is None


def test_inactive_categories_are_not_suggested():
    wy = db.session.scalar(select(Category).where(Category.code == "cxjs-wy"))
    wy.active = False
    db.session.commit()
    codes = [c.code for c, _ in suggest.suggest_category("小区物业费乱涨，电梯经常坏")]
    assert "cxjs-wy" not in codes


def test_suggestions_are_made_once_per_text_and_anew_when_the_catalogue_changes(monkeypatch):
    from petitions.services import reference

    township = db.session.scalar(select(Unit).where(Unit.code == "dongcheng"))
    made: list[str] = []
    rank = suggest._rank

    def counted(text, catalogue, limit):
        made.append(text)
        return rank(text, catalogue, limit)

    monkeypatch.setattr(suggest, "_rank", counted)
    text = "小区物业费乱涨，电梯经常坏"
    first = suggest.suggest(text, township)
    again = suggest.suggest(text, township)
    assert [s.category.code for s in again] == [s.category.code for s in first]
    assert made == [text]
    # Another place is another question.
    assert suggest.suggest(text, None)[0].unit is None
    assert len(made) == 2
    # A change to the catalogue is seen once the reference data is read again.
    wy = db.session.scalar(select(Category).where(Category.code == "cxjs-wy"))
    wy.active = False
    db.session.commit()
    reference.invalidate()
    assert "cxjs-wy" not in [s.category.code for s in suggest.suggest(text, township)]
    assert len(made) == 3
