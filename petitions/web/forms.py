"""Form helpers every face shares: the filing form's choices, errors put back beside their
fields, the uploaded files."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, lru_cache
from typing import Any

from flask_babel import get_locale
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms.fields.choices import SelectChoice, SelectField
from wtforms.widgets import Select, html_params

from petitions.domain.errors import ValidationFailed
from petitions.extensions import settings
from petitions.i18n import form_translations
from petitions.i18n import lazy_gettext as _l
from petitions.models import UnitKind
from petitions.services import reference
from petitions.services.filing import Filing, Upload
from petitions.web.presenters import local_name

PLACE_KINDS = {UnitKind.TOWNSHIP.value, UnitKind.COMMITTEE.value}


class Form(FlaskForm):
    """Every form of the faces: Flask-WTF's, with the form library's messages read once per
    process and language (petitions.i18n.form_translations)."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form: Any) -> Any:
            return form_translations()


# The filing service names fields as the API does; the forms spell some of them differently.
_FORM_FIELD = {"contact.name": "contact_name", "contact.phone": "contact_phone"}


class KeptChoices(list):
    """A menu's choices made once for a reading of the reference data and a language
    (reference.derived) and shared by every request, which only read them. Their options are
    rendered once for each value chosen and kept with them (MenuSelect, menu())."""

    def __init__(self, choices: Any = ()) -> None:
        super().__init__(choices)
        # The values that can be chosen (a value outside them chooses none) and the options
        # rendered so far, by the value chosen: at most one per choice, and one for none.
        self.values = frozenset(str(c.value) for c in self)
        self.rendered: dict[str | None, str] = {}

    @cached_property
    def plain(self) -> tuple[tuple[str, str], ...]:
        """The choices' values and labels, as menu() keys its options."""
        return tuple((str(c.value), str(c.label)) for c in self)


def _kept_menu(name: str, make: Callable[[], Any]) -> Any:
    """`make()` once per reading of the reference data and language of the page."""
    return reference.derived((name, str(get_locale() or "")), make)


def _placeholder() -> SelectChoice:
    return SelectChoice("", str(_l("— Please choose —")))


def filing_choices() -> tuple[KeptChoices, KeptChoices]:
    """(categories grouped under their parent, places), from the cache: built once for each
    reading of the reference data and language."""
    return _kept_menu("filing choices", _build)


def unit_choices() -> KeptChoices:
    """The active units to choose from, built once per reading of the reference data and
    language (each action's form, on each row of a list, offers them)."""
    return _kept_menu("unit choices", lambda: _units(lambda u: u.active))


def _units(wanted: Callable[[Any], bool]) -> KeptChoices:
    return KeptChoices([_placeholder()] + [SelectChoice(u.code, local_name(u)) for u in reference.units() if wanted(u)])


def _build() -> tuple[KeptChoices, KeptChoices]:
    everything = reference.categories()
    categories = [_placeholder()]
    for top in (c for c in everything if c.parent_id is None and c.active):
        for child in (c for c in everything if c.parent_id == top.id and c.active):
            # The page's script shows the anonymity box only for reports.
            attrs = {"data-anonymous": "1"} if child.allows_anonymous else {}
            categories.append(SelectChoice(child.code, local_name(child), attrs, optgroup=local_name(top)))
    return KeptChoices(categories), _units(lambda u: u.kind in PLACE_KINDS and u.active)


class MenuSelect(Select):
    """WTForms' select, with the options of each menu (its choices and the one chosen) rendered
    once and kept: a staff page shows the same long menus of units and categories in several
    forms, and each rendering anew costs about a millisecond. The same HTML as Select's."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        if self.multiple:
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for k in self.validation_attrs:
            if k not in kwargs and getattr(flags, k, False):
                kwargs[k] = getattr(flags, k)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{self._options_of(field)}</select>")

    def _options_of(self, field: Any) -> str:
        choices = field.choices
        if not isinstance(choices, KeptChoices) or field.coerce is not str or not isinstance(field.data, str | None):
            return _options(self._menu(field))
        # Kept choices: which option is chosen follows from the field's value alone.
        chosen = field.data if field.data in choices.values else None
        html = choices.rendered.get(chosen)
        if html is None:
            html = choices.rendered[chosen] = _options(self._menu(field))
        return html

    @staticmethod
    def _menu(field: Any) -> tuple:
        """The menu as a key: each group's name and each choice's value, label, attributes and
        whether it is chosen."""
        groups = field.iter_groups() if field.has_groups() else [(None, field.iter_choices())]
        menu = tuple(
            (
                None if name is None else str(name),
                tuple(
                    (
                        str(c.value) if isinstance(c.value, bool) else c.value,
                        str(c.label or c.value),
                        tuple(sorted((c.render_kw or {}).items())),
                        bool(c.selected),
                    )
                    for c in choices
                ),
            )
            for name, choices in groups
        )
        return menu


class MenuField(SelectField):
    """A select whose menus render through MenuSelect."""

    widget = MenuSelect()


@lru_cache(maxsize=1024)
def _options(menu: tuple) -> str:
    html = []
    for name, choices in menu:
        if name is not None:
            html.append(f"<optgroup {html_params(label=name)}>")
        for value, label, attrs, selected in choices:
            options = {"value": value, **dict(attrs)}
            if selected:
                options["selected"] = True
            html.append(f"<option {html_params(**options)}>{escape(label)}</option>")
        if name is not None:
            html.append("</optgroup>")
    return "".join(html)


def menu(name: str, choices: list[SelectChoice], selected: str = "", id: str | None = None) -> Markup:
    """A plain <select> of `choices` with `selected` chosen, for pages that show one per row
    (the intake queue's "send to unit"): its options rendered once per menu and choice, and kept
    (kept choices give their values and labels without being read again for each row)."""
    plain = choices.plain if isinstance(choices, KeptChoices) else tuple((str(c.value), str(c.label)) for c in choices)
    options = _plain_options(plain, str(selected))
    return Markup(f'<select name="{escape(name)}" id="{escape(id or name)}">\n  {options}\n</select>')


@lru_cache(maxsize=1024)
def _plain_options(choices: tuple[tuple[str, str], ...], selected: str) -> str:
    return "".join(
        f'<option value="{escape(value)}"{" selected" if value == selected else ""}>{escape(label)}</option>'
        for value, label in choices
    )


def fill_filing_choices(form) -> None:
    """The category and place menus, of those two fields that `form` has."""
    if "category" not in form and "township" not in form:
        return
    categories, townships = filing_choices()
    if "category" in form:
        form.category.choices = categories
    if "township" in form:
        form.township.choices = townships


def put_errors(form, exc: ValidationFailed) -> None:
    for name, why in exc.text_fields().items():
        field = form._fields.get(_FORM_FIELD.get(name, name))
        if field is None:
            form.form_errors.append(why)
        else:
            field.errors = [*field.errors, why]


def uploads(form) -> list[Upload]:
    limit = settings().attachment_max_bytes
    found = []
    for storage in form.attachments.data or []:
        # A browser sends one empty part when no file was chosen.
        if storage is None or not storage.filename:
            continue
        # One byte more than allowed is enough to know a file is too large.
        found.append(Upload(filename=storage.filename, data=storage.stream.read(limit + 1)))
    return found


def filing_of(form, **extra) -> Filing:
    """The filing a web filing form describes; `extra`: what only one face adds (the staff
    entry's channel and address, the channels each face offers)."""
    return Filing(
        title=form.title.data,
        content=form.content.data,
        category=form.category.data,
        township=form.township.data,
        contact_name=form.contact_name.data,
        contact_phone=form.contact_phone.data,
        anonymous=bool(form.anonymous.data),
        public_consent=bool(form.public_consent.data),
        attachments=uploads(form),
        **extra,
    )
