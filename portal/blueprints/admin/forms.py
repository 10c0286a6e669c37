"""Forms of company administration: users, invitations, company profile, audit filters."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.blueprints.fields import CurrencyField, MoneyField
from portal.domain.roles import roles_for_kind
from portal.domain.taxid import EU_COUNTRIES
from portal.labels import role_label


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes; unknown values get our own message, not WTForms'."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validate_choice", False)
        super().__init__(*args, **kwargs)

    def pre_validate(self, form):
        known = {choice.value for choice in self.choices or []}
        if any(value not in known for value in self.data or []):
            raise ValidationError(_l("Unknown role."))
        if not self.data:
            raise ValidationError(_l("Choose at least one role."))


def role_choices(org) -> list[SelectChoice]:
    """The roles a user of this organisation's kind may hold."""
    return [SelectChoice(role.value, role_label(role)) for role in roles_for_kind(org.kind.value)]


class _RolesMixin:
    roles = CheckboxesField(_l("Roles"))
    approval_limit = MoneyField(
        _l("Approval limit"),
        validators=[Optional()],
        description=_l("For approvers: the largest amount they may approve. Empty: no limit."),
    )

    def set_org(self, org):
        self.roles.choices = role_choices(org)
        # Only buying companies have approvers.
        self.show_limit = any(choice.value == "approver" for choice in self.roles.choices)
        return self


class InviteForm(_RolesMixin, FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Email(message=_l("Enter a valid email address.")),
                    Length(max=254)],
    )
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])


class RolesForm(_RolesMixin, FlaskForm):
    pass


class UserFilterForm(FlaskForm):
    """The GET filters above the user list (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("All users")), SelectChoice("active", _l("Active")),
                 SelectChoice("deactivated", _l("Deactivated"))],
        validators=[Optional()],
    )
    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)],
                    render_kw={"placeholder": _l("Name or email"), "type": "search"})


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    area = SelectField(
        _l("Show"),
        choices=[SelectChoice("", _l("All events")), SelectChoice("users", _l("Users")),
                 SelectChoice("suppliers", _l("Suppliers")),
                 SelectChoice("org", _l("Company profile"))],
        validators=[Optional()],
    )


def country_choices() -> list[SelectChoice]:
    """EU countries by their name in the user's language."""
    locale = get_locale()
    names = locale.territories if locale is not None else {}
    pairs = sorted((names.get(code, code), code) for code in EU_COUNTRIES)
    return [SelectChoice(code, name) for name, code in pairs]


class OrganizationForm(FlaskForm):
    name = StringField(_l("Short name"), validators=[DataRequired(), Length(max=120)],
                       description=_l("Shown in the portal's header and to your partners."))
    legal_name = StringField(_l("Legal name"), validators=[DataRequired(), Length(max=200)],
                             description=_l("As registered; printed on orders and invoices."))
    tax_id = StringField(_l("Tax ID"), validators=[DataRequired(), Length(max=20)],
                         description=_l("NIP for Polish companies, EU VAT ID otherwise."))
    address_line = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    postal_code = StringField(_l("Postal code"), validators=[Optional(), Length(max=20)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    country = SelectField(_l("Country"), validators=[DataRequired()])
    currency = CurrencyField(_l("Default currency"), validators=[DataRequired()])
    locale = SelectField(_l("Language"),
                         choices=[SelectChoice("en", "English"), SelectChoice("pl", "Polski")],
                         validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()
