"""Forms of the citizen face (Flask-WTF: CSRF on every one).

The forms only carry input and the CSRF check; the rules for a petition's fields live in
petitions.services.filing.validate, so that the web form and the API refuse exactly the same things.
"""

from __future__ import annotations

from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length

from petitions.i18n import lazy_gettext as _l
from petitions.web.forms import Form, MenuField


class FilingForm(Form):
    # Choices are filled per request from the database (see routes._fill_choices); an
    # unknown code is refused by intake.validate with its own message.
    category = MenuField(_l("What is it about?"), validate_choice=False)
    township = MenuField(_l("Which township or area does it concern?"), validate_choice=False)
    title = StringField(_l("Title"))
    content = TextAreaField(_l("Your matter in your own words"))
    attachments = MultipleFileField(_l("Photos or documents (optional)"))
    contact_name = StringField(_l("Your name"))
    contact_phone = StringField(_l("Your mobile number"))
    anonymous = BooleanField(_l("File this report anonymously"))
    public_consent = BooleanField(
        _l("The bureau may publish my petition and its reply, without my name or phone number.")
    )


class LookupForm(Form):
    tracking_no = StringField(
        _l("Tracking number"), validators=[DataRequired(_l("Please enter the tracking number."))]
    )
    code = StringField(_l("Query code"), validators=[DataRequired(_l("Please enter the query code."))])


class RegisterForm(Form):
    phone = StringField(
        _l("Mobile number"), validators=[DataRequired(_l("Please enter your mobile number."))]
    )
    name = StringField(
        _l("Your name"),
        validators=[
            DataRequired(_l("Please enter your name.")),
            Length(max=64, message=_l("The name may have at most 64 characters.")),
        ],
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(_l("Please choose a password.")),
            Length(min=8, max=128, message=_l("The password needs at least 8 characters.")),
        ],
    )
    confirm = PasswordField(
        _l("Password again"),
        validators=[
            DataRequired(_l("Please type the password again.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
    )


class LoginForm(Form):
    username = StringField(
        _l("Mobile number (staff: user name)"),
        validators=[DataRequired(_l("Please enter your mobile number."))],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Please enter your password."))])

