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

from portal.blueprints.fields import CurrencyField, DayField, FastSelect, MoneyField
from portal.blueprints.once import OnceForm
from portal.blueprints.params import coerce_id
from portal.domain.audit_events import OBJECT_TYPES
from portal.domain.bank import format_iban
from portal.domain.exemption import KIND_LABELS, MAX_BASIS
from portal.domain.roles import roles_for_kind
from portal.domain.taxid import EU_COUNTRIES
from portal.labels import object_type_label, role_label
from portal.services.orgs import SETTINGS_FIELDS, time_zones


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


class InviteForm(_RolesMixin, OnceForm):
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


class PersonField(SelectField):
    """A person of the company by id; anything else is "choose from the list"."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_l("Choose a person from the list.")) from exc

    def pre_validate(self, form):
        try:
            super().pre_validate(form)
        except ValidationError as exc:
            raise ValidationError(_l("Choose a person from the list.")) from exc


class AuditFilterForm(FlaskForm):
    """The audit log's filters, read from the query string: every object type, any of the
    company's people, a date range. Unknown values are field errors, never a 500."""

    class Meta:
        csrf = False

    object_type = SelectField(_l("Object"), validators=[Optional()], widget=FastSelect(),
                              choices=[SelectChoice("", _l("All objects"))] + [
                                  SelectChoice(t, object_type_label(t)) for t in OBJECT_TYPES])
    actor = PersonField(_l("Who"), coerce=coerce_id, validators=[Optional()], widget=FastSelect())
    date_from = DayField(_l("From"), validators=[Optional()],
                         render_kw={"min": "2000-01-01", "max": "2100-12-31"})
    date_to = DayField(_l("To"), validators=[Optional()],
                       render_kw={"min": "2000-01-01", "max": "2100-12-31"})

    def set_actors(self, users):
        self.actor.choices = [SelectChoice("", _l("Anyone"))] + [
            SelectChoice(u.id, u.full_name) for u in users]
        return self

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The last day cannot be before the first."))


def country_choices() -> list[SelectChoice]:
    """EU countries by their name in the user's language."""
    locale = get_locale()
    names = locale.territories if locale is not None else {}
    pairs = sorted((names.get(code, code), code) for code in EU_COUNTRIES)
    return [SelectChoice(code, name) for name, code in pairs]


def time_zone_choices(current: str | None = None) -> list[SelectChoice]:
    """Every Region/City time zone, A to Z (the saved one kept even if no longer listed)."""
    zones = set(time_zones())
    if current:
        zones.add(current)
    return [SelectChoice(zone, zone.replace("_", " ")) for zone in sorted(zones)]


class IbanField(StringField):
    """An IBAN, shown in groups of four; the service validates and stores it compact."""

    def process_data(self, value):
        self.data = format_iban(value) if value else ""


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

    time_zone = SelectField(_l("Time zone"), validators=[DataRequired()],
                            description=_l("Dates on your documents (order and invoice dates, due dates, "
                                           "deadlines) are the days of this time zone."))
    iban = IbanField(_l("Bank account (IBAN)"), validators=[Optional(), Length(max=50)],
                     description=_l("Printed on your invoices: your customers pay to this account."),
                     render_kw={"autocomplete": "off", "spellcheck": "false"})
    bank_name = StringField(_l("Bank name"), validators=[Optional(), Length(max=100)],
                            description=_l("Leave empty to take the bank's name from the IBAN."))
    exemption_basis_kind = SelectField(
        _l("Usual legal basis of a VAT exemption"), validate_choice=False,
        choices=[SelectChoice("", _l("None")),
                 *(SelectChoice(kind, _l(label)) for kind, label in KIND_LABELS.items())],
        description=_l("For exempt (zw) lines: new invoice drafts start with it (each may change it)."))
    exemption_basis = StringField(_l("Provision"), validators=[Optional()],
                                  description=_l("E.g. art. 113 ust. 1 ustawy o VAT, or art. 43 ust. 1 pkt 37 "
                                                 "ustawy o VAT."),
                                  render_kw={"maxlength": MAX_BASIS, "autocomplete": "off"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()
        self.time_zone.choices = time_zone_choices(self.time_zone.data)
        org = kwargs.get("obj")
        if org is None or org.kind != "supplier":
            # Only a supplier is paid through the portal: a buyer has no bank account here.
            del self.iban
            del self.bank_name
            del self.exemption_basis_kind
            del self.exemption_basis

    def settings(self) -> dict:
        """The time zone and bank account fields the post carried (None: left as they are)."""
        sent = {name: self[name] for name in SETTINGS_FIELDS if name in self}
        return {name: (field.data if field.raw_data else None) for name, field in sent.items()}
