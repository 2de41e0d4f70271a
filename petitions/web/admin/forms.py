"""Forms of the admin face. They check types and presence; the rules that need the
database (unique codes, active units, reports to the discipline office) live in
`petitions.services.admin` and come back as messages beside the fields."""

from __future__ import annotations

from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from petitions.i18n import lazy_gettext as _l
from petitions.models import CategoryKind, Role, UnitKind
from petitions.web.forms import Form

UNIT_KIND_LABELS = {
    UnitKind.TOWNSHIP: _l("Township or sub-district"),
    UnitKind.COMMITTEE: _l("Urban management committee"),
    UnitKind.DEPARTMENT: _l("County department"),
    UnitKind.BUREAU: _l("Petition bureau"),
    UnitKind.DISCIPLINE: _l("Discipline inspection office"),
    UnitKind.GOVERNMENT: _l("County government"),
}
CATEGORY_KIND_LABELS = {
    CategoryKind.GRIEVANCE: _l("Claim or grievance"),
    CategoryKind.SUGGESTION: _l("Suggestion or opinion"),
    CategoryKind.REPORT: _l("Report or accusation"),
    CategoryKind.CONSULTATION: _l("Consultation"),
}
ROLE_LABELS = {
    Role.CITIZEN: _l("Citizen"),
    Role.INTAKE: _l("Intake officer"),
    Role.HANDLER: _l("Handler"),
    Role.LEADER: _l("Unit leader"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.ADMIN: _l("Administrator"),
}
NONE = 0  # the "none" / "any" choice of an optional select


# Within the database's integers (a larger number was a 500 on PostgreSQL).
_SORT_ORDER = NumberRange(-1_000_000, 1_000_000, _l("A whole number between -1000000 and 1000000."))


def _int_or_none(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return NONE


def _days(label) -> IntegerField:
    return IntegerField(
        label,
        validators=[Optional(), NumberRange(1, 365, _l("Between 1 and 365 days, or empty for the default."))],
    )


class UnitForm(Form):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Please enter a code.")), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(_l("Please enter a name.")), Length(max=100)])
    name_en = StringField(_l("English name (optional)"), validators=[Optional(), Length(max=100)])
    kind = SelectField(_l("Kind"), choices=list(UNIT_KIND_LABELS.items()))
    parent_id = SelectField(_l("Parent unit"), coerce=_int_or_none)
    leader_id = SelectField(_l("Signing leader"), coerce=_int_or_none)
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    phone = StringField(_l("Telephone"), validators=[Optional(), Length(max=32)])
    sort_order = IntegerField(_l("Sort order"), default=0, validators=[Optional(), _SORT_ORDER])
    active = BooleanField(_l("Active"), default=True)


class CategoryForm(Form):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Please enter a code.")), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(_l("Please enter a name.")), Length(max=100)])
    name_en = StringField(_l("English name (optional)"), validators=[Optional(), Length(max=100)])
    kind = SelectField(_l("Kind of petition"), choices=list(CATEGORY_KIND_LABELS.items()))
    parent_id = SelectField(_l("Parent category"), coerce=_int_or_none)
    keywords = TextAreaField(_l("Keywords (comma-separated)"), validators=[Optional(), Length(max=2000)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    accept_days_statutory = _days(_l("Acceptance decision: statutory days"))
    accept_days_committed = _days(_l("Acceptance decision: committed days"))
    handle_days_statutory = _days(_l("Handling: statutory days"))
    handle_days_committed = _days(_l("Handling: committed days"))
    sort_order = IntegerField(_l("Sort order"), default=0, validators=[Optional(), _SORT_ORDER])
    active = BooleanField(_l("Active"), default=True)


class RuleForm(Form):
    category_id = SelectField(_l("Category"), coerce=_int_or_none)
    township_id = SelectField(_l("Township"), coerce=_int_or_none)
    unit_id = SelectField(_l("Responsible unit"), coerce=_int_or_none)
    priority = IntegerField(
        _l("Priority"),
        default=0,
        validators=[
            Optional(),
            NumberRange(-1000, 1000, _l("A whole number between -1000 and 1000.")),
        ],
    )
    active = BooleanField(_l("Active"), default=True)


class UserForm(Form):
    username = StringField(
        _l("User name"), validators=[DataRequired(_l("Please enter a user name.")), Length(max=64)]
    )
    name = StringField(_l("Name"), validators=[DataRequired(_l("Please enter a name.")), Length(max=64)])
    phone = StringField(_l("Mobile number"), validators=[Optional(), Length(max=20)])
    role = SelectField(_l("Role"), choices=list(ROLE_LABELS.items()))
    unit_id = SelectField(_l("Unit"), coerce=_int_or_none)
    active = BooleanField(_l("Active"), default=True)
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=128)])


class PreviewForm(Form):
    """Which unit would a petition of this category and place go to now? (GET, no CSRF)"""

    class Meta:
        csrf = False

    category = SelectField(_l("Category"), coerce=_int_or_none)
    township = SelectField(_l("Township"), coerce=_int_or_none)
