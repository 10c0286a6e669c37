"""Forms of the supplier-facing pages: registering from an invitation, accepting one."""

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from portal.blueprints.fields import CurrencyField
from portal.domain.passwords import password_problems
from portal.domain.taxid import EU_COUNTRIES, InvalidTaxId, normalize_tax_id
from portal.i18n import translate


def country_choices() -> list[SelectChoice]:
    """EU countries (tax IDs are validated as NIP or EU VAT IDs), named in the page's language."""
    territories = get_locale().territories if get_locale() else {}
    names = {code: territories.get(code, code) for code in EU_COUNTRIES}
    return [SelectChoice(code, name) for code, name in sorted(names.items(), key=lambda i: i[1])]


class RegisterSupplierForm(FlaskForm):
    """A new supplier organisation and its first user, from an invitation."""

    name = StringField(_l("Company name"), validators=[DataRequired(), Length(max=120)],
                       description=_l("The short name your customers know you by."))
    legal_name = StringField(_l("Legal name"), validators=[DataRequired(), Length(max=200)])
    country = SelectField(_l("Country"), default="PL")
    tax_id = StringField(
        _l("Tax ID"),
        validators=[DataRequired(), Length(max=30)],
        description=_l("NIP for a Polish company, the EU VAT ID otherwise."),
    )
    address_line = StringField(_l("Street and number"), validators=[Optional(), Length(max=200)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=20)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    currency = CurrencyField(_l("Invoicing currency"))
    locale = SelectField(_l("Language"), choices=[SelectChoice("en", "English"), SelectChoice("pl", "Polski")])
    full_name = StringField(_l("Your full name"), validators=[DataRequired(), Length(max=120)])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=128)],
        description=_l("At least 12 characters. A phrase of several words is easy to remember."),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email
        self.country.choices = country_choices()

    def validate_tax_id(self, field):
        try:
            normalize_tax_id(field.data, self.country.data)
        except InvalidTaxId as exc:
            raise ValidationError(translate(exc.msg)) from exc

    def validate_password(self, field):
        problems = password_problems(
            field.data or "",
            email=self.email,
            min_length=current_app.config["PASSWORD_MIN_LENGTH"],
        )
        if problems:
            raise ValidationError(" ".join(translate(p) for p in problems))


class AcceptInvitationForm(FlaskForm):
    """Accepting for one's own organisation: a button carrying the CSRF token."""
