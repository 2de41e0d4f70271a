"""Titles alike enough to be the same matter (duplicates.similar_titles): one contains the other,
their difflib ratio reaches `duplicate_title_ratio`, or they share a keyword of the category;
the answer kept per pair of titles is the one computed in full."""

from __future__ import annotations

import difflib
import random

from petitions.extensions import settings
from petitions.services.duplicates import similar_titles
from tests.conftest import configure

WORDS = ("关于", "小区", "路灯", "不亮", "噪音", "扰民", "垃圾", "清运", "停车", "难")
WORDS += ("供水", "不稳", "道路", "破损", "的", "反映")


def _in_full(a: str, b: str, keywords: list[str], ratio: float) -> bool:
    a, b = a.strip(), b.strip()
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    if difflib.SequenceMatcher(None, a, b).ratio() >= ratio:
        return True
    return any(k in a and k in b for k in keywords)


def test_the_kept_answer_is_the_full_one_for_many_pairs(app):
    rng = random.Random(7)
    titles = ["".join(rng.choice(WORDS) for _ in range(rng.randint(1, 7))) for _ in range(120)] + ["", "  "]
    keywords = ["路灯", "噪音"]
    with app.app_context():
        for ratio in (0.6, 0.8):
            configure(app, duplicate_title_ratio=ratio)
            answers = []
            for _ in range(600):
                a, b = rng.choice(titles), rng.choice(titles)
                kw = keywords if rng.random() < 0.5 else []
                assert similar_titles(a, b, kw) is _in_full(a, b, kw, settings().duplicate_title_ratio), (a, b, kw)
                answers.append(similar_titles(a, b, kw))
            assert True in answers and False in answers


def test_a_keyword_of_the_category_makes_two_titles_alike(app):
    with app.app_context():
        assert not similar_titles("东门路灯坏了", "请修理西街的灯")
        assert similar_titles("东门路灯坏了", "西街路灯一直不亮", ["路灯"])
        assert not similar_titles("东门路灯坏了", "", ["路灯"])
