"""Forms of the buyer's supplier pages: filter, invite, terms, block and unblock."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Field, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)
from wtforms.widgets import TextInput

from portal.labels import LINK_STATUS_LABELS
from portal.models import LinkStatus
from portal.money import CURRENCIES, to_decimal
from portal.services.suppliers import MAX_CREDIT_LIMIT


class AmountField(Field):
    """A money amount typed by a person: `25000`, `25 000,50` or `25000.50`; never a float."""

    widget = TextInput()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            value = to_decimal(valuelist[0])
        except ValueError:
            self.data = None
            raise ValueError(_l("Enter an amount such as 25000 or 25000.50.")) from None
        if not value.is_finite():
            self.data = None
            raise ValueError(_l("Enter an amount such as 25000 or 25000.50."))
        if value.as_tuple().exponent < -2:
            self.data = None
            raise ValueError(_l("Use at most two decimal places."))
        self.data = value

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


def _terms_fields(cls):
    """The negotiated terms, shared by the invitation and the terms edit."""
    cls.payment_terms_days = IntegerField(
        _l("Payment terms (days)"),
        validators=[
            InputRequired(_l("Enter the payment terms in days.")),
            NumberRange(0, 365, _l("Payment terms must be between 0 and 365 days.")),
        ],
        default=30,
        description=_l("Net days from the invoice date, 0 to 365."),
        render_kw={"inputmode": "numeric", "min": 0, "max": 365},
    )
    cls.currency = SelectField(_l("Currency"), choices=[SelectChoice(c) for c in CURRENCIES])
    cls.credit_limit = AmountField(
        _l("Credit limit"),
        validators=[
            Optional(),
            NumberRange(min=Decimal(0), message=_l("The credit limit cannot be negative.")),
            NumberRange(max=MAX_CREDIT_LIMIT, message=_l("The credit limit is too large.")),
        ],
        description=_l("Optional. Leave empty for no limit."),
    )
    return cls


@_terms_fields
class InviteSupplierForm(FlaskForm):
    company_name = StringField(
        _l("Supplier company"), validators=[DataRequired(), Length(max=200)]
    )
    email = EmailField(
        _l("Contact email"),
        validators=[DataRequired(), Email(_l("Enter a valid email address.")), Length(max=254)],
        description=_l("The invitation link is sent here."),
    )
    full_name = StringField(_l("Contact name"), validators=[Optional(), Length(max=120)])


@_terms_fields
class TermsForm(FlaskForm):
    pass


class BlockForm(FlaskForm):
    comment = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(_l("Give a reason for blocking the supplier.")), Length(max=2000)],
        description=_l("Kept in the supplier's history."),
    )


class UnblockForm(FlaskForm):
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])


class ActionForm(FlaskForm):
    """A button that only carries the CSRF token (revoke, resend)."""


STATUS_CHOICES = [SelectChoice("", _l("All statuses"))] + [
    SelectChoice(status.value, LINK_STATUS_LABELS[status.value])
    for status in (LinkStatus.ACTIVE, LinkStatus.BLOCKED, LinkStatus.INVITED)
]


class SupplierFilterForm(FlaskForm):
    """The list's filters, read from the query string (no CSRF: a GET changes nothing)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)],
                    render_kw={"placeholder": _l("Name or tax ID"), "type": "search"})
    status = SelectField(_l("Status"), choices=STATUS_CHOICES, validate_choice=False)
