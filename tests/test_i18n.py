"""Every message in the code and templates has a Chinese translation (Chinese is the default UI).

The messages are extracted exactly as `pybabel extract -F babel.cfg` would, so a string added
anywhere without its entry in translations/zh_CN/LC_MESSAGES/messages.po fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2), "_n": (1, 2)}


def extracted() -> dict[str, list[str]]:
    """msgid -> where it is used, for every translatable string of the project."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def catalog():
    with open(PO, "rb") as fh:
        return read_po(fh, locale="zh_CN")


def test_extraction_finds_the_messages_of_every_layer():
    found = extracted()
    # One from the domain, one from the web layer, one from a shared template, one from a face.
    assert "Please enter a title." in found
    assert "Too many requests. Please wait a moment and try again." in found
    assert "Qingshan County Petition Bureau" in found
    assert "Submit petition" in found


def test_every_message_has_a_chinese_translation():
    cat = catalog()
    missing = []
    for msgid, where in sorted(extracted().items()):
        entry = cat.get(msgid)
        text = entry.string if entry is not None else ""
        if isinstance(text, tuple | list):
            text = "" if not all(text) else text[0]
        if not text or (entry is not None and entry.fuzzy):
            missing.append(f"{msgid!r} ({where[0]})")
    assert not missing, "untranslated in messages.po:\n" + "\n".join(missing)


def test_placeholders_survive_translation():
    # A translation that drops or renames %(n)s would crash or mislead at run time.
    import re

    pattern = re.compile(r"%\((\w+)\)s")
    bad = []
    for entry in catalog():
        if not (entry.id and entry.string and isinstance(entry.id, str)):
            continue
        if set(pattern.findall(entry.id)) != set(pattern.findall(entry.string)):
            bad.append(entry.id)
    assert not bad, bad


@pytest.mark.parametrize(
    ("lang", "expected", "absent"),
    [
        ("zh_CN", "青山县信访局", "Qingshan County Petition Bureau"),
        ("en", "Qingshan County Petition Bureau", "青山县信访局"),
    ],
)
def test_pages_speak_the_chosen_language(client, lang, expected, absent):
    page = client.get(f"/?lang={lang}").get_data(as_text=True)
    assert expected in page
    assert absent not in page


def test_chinese_is_the_default_and_english_sticks_for_the_session(client):
    home = client.get("/").get_data(as_text=True)
    assert "我要信访" in home and 'lang="zh-CN"' in home
    client.get("/?lang=en")
    page = client.get("/track").get_data(as_text=True)
    assert "Look up a petition" in page
    assert 'lang="en"' in page
    client.get("/?lang=zh_CN")
    assert 'lang="zh-CN"' in client.get("/track").get_data(as_text=True)


def test_the_form_library_speaks_the_pages_language_and_reads_each_catalogue_once(app, monkeypatch):
    from babel import support
    from flask_babel import refresh
    from wtforms import StringField
    from wtforms.validators import DataRequired

    from petitions import i18n
    from petitions.web.forms import Form

    class Probe(Form):
        name = StringField(validators=[DataRequired()])

    read: list[str] = []
    load = support.Translations.load

    def counted(*args, **kwargs):
        read.append(kwargs.get("domain", ""))
        return load(*args, **kwargs)

    monkeypatch.setattr(support.Translations, "load", counted)
    monkeypatch.setattr(i18n, "_FORMS", {})
    for lang, expected in (("zh_CN", "该字段是必填字段。"), ("en", "This field is required."), ("zh_CN", "该字段是必填字段。")):
        with app.test_request_context(f"/?lang={lang}", method="POST", data={}):
            refresh()  # the test's app context outlives each request: choose the language anew
            form = Probe(meta={"csrf": False})
            assert not form.validate()
            assert form.name.errors == [expected]
    # One reading of the form library's catalogue per language, not one per request.
    assert read.count("wtforms") == 2


def test_templates_translate_with_plain_functions_that_escape_their_variables(app):
    """`_()` in a template: no context handed over (inside a loop Jinja copies the whole
    context for each call to a function that takes it), the translation as Markup, and its
    variables escaped."""
    from flask import render_template_string
    from flask_babel import refresh

    translate = app.jinja_env.globals["_"]
    assert getattr(translate, "jinja_pass_arg", None) is None
    assert app.jinja_env.globals["gettext"] is translate
    page = "{% for at in ['<b>'] %}{{ _('filed %(at)s', at=at) }}{% endfor %}|{{ _('Intake queue') }}"
    with app.test_request_context("/?lang=zh_CN"):
        refresh()
        chinese = render_template_string(page)
    with app.test_request_context("/?lang=en"):
        refresh()
        english = render_template_string(page)
    assert english == "filed &lt;b&gt;|Intake queue"
    assert "&lt;b&gt;" in chinese and "<b>" not in chinese and "Intake queue" not in chinese


def test_a_moment_shows_as_the_locale_formatter_shows_it_in_every_language(app):
    """The `local` filter's own rendering of its default pattern is the locale formatter's."""
    from datetime import UTC, datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from flask_babel import force_locale, format_datetime

    from petitions.web import LOCAL_TIME

    local = app.jinja_env.filters["local"]
    tz = ZoneInfo(app.extensions["settings"].timezone)
    moments = [
        datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 16, 5, 59, 999999, tzinfo=UTC),
        datetime(1999, 3, 7, 9, 1, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2030, 6, 15, 23, 59, tzinfo=UTC),
    ]
    with app.test_request_context("/"):
        for lang in ("zh_CN", "en"):
            with force_locale(lang):
                for moment in moments:
                    expected = format_datetime(moment.astimezone(tz), LOCAL_TIME, rebase=False)
                    assert local(moment) == expected
                    assert local(moment, "yyyy-MM-dd") == expected[:10]
        assert local(None) == ""
