"""The texts' translations, looked up once per context.

Flask-Babel's `gettext` finds the context, its locale and that locale's translations anew on
every call (about fifty Python calls for one text); a page or an answer asks for dozens. Here
the context (a request, or the app context of a job) keeps the translations it found with the
locale they are for, and uses them again while that locale holds: the locale is chosen once
per request (petitions.web.select_locale), and `force_locale` sets another one, which finds
its own.

`gettext` and `lazy_gettext` behave as Flask-Babel's and keep their names, so the
catalogue's extraction finds the texts as before.
"""

from __future__ import annotations

from typing import Any

from babel import support
from flask.globals import _cv_app
from flask_babel import get_locale, get_translations
from flask_babel.speaklater import LazyString
from wtforms.i18n import messages_path


def translations() -> Any:
    """The translations of the context's locale (Flask-Babel's, kept while the locale holds).
    Reads Flask's current app context and Flask-Babel's state on it (`g._flask_babel`, where
    `force_locale` sets its locale) directly: through `flask.g` each read costs a proxy's lookup."""
    context = _cv_app.get(None)
    if context is None:
        return get_translations()
    babel = getattr(context.g, "_flask_babel", None)
    kept = getattr(babel, "petitions_translations", None)
    if kept is not None and kept[0] is getattr(babel, "babel_locale", None):
        return kept[1]
    found = get_translations()
    babel = context.g._flask_babel  # Flask-Babel's own state of this context, made by now
    babel.petitions_translations = (getattr(babel, "babel_locale", None), found)
    return found


def gettext(string: str, **variables: Any) -> str:
    """`string` in the request's language, formatted with `variables` (as Flask-Babel's)."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """A text translated when it is shown, in the language of the request showing it."""
    return LazyString(gettext, string, **variables)


_FORMS: dict[str, Any] = {}


def form_translations() -> Any:
    """The form library's own messages (a field left empty, a choice not offered) in the
    request's language, each catalogue read once per process (Flask-WTF reads it from disk
    again for each request)."""
    locale = str(get_locale() or "")
    found = _FORMS.get(locale)
    if found is None:
        found = _FORMS[locale] = support.Translations.load(messages_path(), [locale], domain="wtforms")
    return found
