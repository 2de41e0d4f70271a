"""Forms of the staff face (Flask-WTF: CSRF on every one).

They carry input and the CSRF check only. What an action requires, and whether it is
allowed at all, is decided by petitions.services.actions.perform; its messages come back beside
the fields.
"""

from __future__ import annotations

from functools import cache

from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from petitions.i18n import lazy_gettext as _l
from petitions.models import Channel
from petitions.web.citizen.forms import FilingForm
from petitions.web.forms import Form, MenuField

CHANNEL_LABELS = {
    Channel.LETTER.value: _l("Letter"),
    Channel.PHONE.value: _l("Phone call"),
    Channel.VISIT.value: _l("Visit in person"),
}


class StaffFilingForm(FilingForm):
    """The citizen's filing form, plus how the petition came in and the address as told; its
    labels speak to the officer who fills it in, about the citizen. (Fields in the page's order,
    which is also the order of the error summary.)"""

    channel = MenuField(
        _l("How did the petition come in?"),
        choices=[SelectChoice(code, label) for code, label in CHANNEL_LABELS.items()],
        validate_choice=False,
        default=Channel.VISIT.value,
    )
    category = MenuField(_l("Category of the matter"), validate_choice=False)
    township = MenuField(_l("Township or area concerned"), validate_choice=False)
    title = StringField(_l("Title"))
    content = TextAreaField(_l("The matter, as the citizen told or wrote it"))
    attachments = MultipleFileField(_l("Scans or photos of the letter and documents (optional)"))
    contact_name = StringField(_l("The citizen's name"))
    contact_phone = StringField(_l("The citizen's mobile number"))
    address = StringField(_l("The citizen's address (optional)"))
    anonymous = BooleanField(_l("The citizen files this report anonymously"))
    public_consent = BooleanField(
        _l("The citizen agrees that the bureau may publish the petition and its reply, without name or phone number.")
    )


class ActionForm(Form):
    """One action on a petition: the version the officer saw plus whatever fields the action takes.

    The page shows only the fields of the action's rule (petitions.domain.workflow); the rest stay
    empty and are not passed on.
    """

    version = HiddenField(validators=[DataRequired()])
    unit = MenuField(_l("Send to unit"), validate_choice=False)
    handler = MenuField(_l("Handler"), validate_choice=False)
    category = MenuField(_l("Category"), validate_choice=False)
    township = MenuField(_l("Township or area"), validate_choice=False)
    channel = MenuField(_l("Proper channel for the citizen"), validate_choice=False)
    duplicate_of = StringField(_l("Tracking number of the earlier petition"))
    days = StringField(_l("Days of extension (1 to 30)"))
    reason = TextAreaField(_l("Reason"))
    text = TextAreaField(_l("Text"))
    # A follow-up (回访): how it went, with whom, what the citizen thinks.
    outcome = MenuField(
        _l("Outcome"),
        choices=[
            SelectChoice("reached", _l("Reached the citizen")),
            SelectChoice("unreachable", _l("Could not reach the citizen")),
            SelectChoice("declined", _l("The citizen did not want to talk")),
        ],
        validate_choice=False,
    )
    spoke_with = StringField(_l("Spoke with"))
    citizen_view = MenuField(
        _l("The citizen's view"),
        choices=[
            SelectChoice("", _l("(not asked)")),
            SelectChoice("satisfied", _l("Satisfied")),
            SelectChoice("basically_satisfied", _l("Basically satisfied")),
            SelectChoice("unsatisfied", _l("Unsatisfied")),
        ],
        validate_choice=False,
    )
    notes = TextAreaField(_l("Notes"))
    # Where to go back after success ("intake": the intake queue).
    back = HiddenField()


@cache
def action_form_with(fields: frozenset[str]) -> type[ActionForm]:
    """ActionForm with only `fields` and the version, for the empty forms of a page: binding a
    field costs more than rendering it, and each action shows only a few."""
    dropped = {
        name: None
        for name in dir(ActionForm)
        if hasattr(getattr(ActionForm, name), "_formfield") and name not in fields and name != "version"
    }
    return type("ActionForm", (ActionForm,), dropped)
