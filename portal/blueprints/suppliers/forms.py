"""Forms of the buyer's supplier pages: filter, invite, terms, block and unblock."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from portal.blueprints.fields import CurrencyField, DayField, DaysField, MoneyField, PercentField
from portal.blueprints.once import OnceForm
from portal.domain.messages import N_
from portal.domain.terms import (
    KIND_LABELS,
    InvalidTerms,
    PaymentTerms,
    TermsKind,
    format_instalments,
    parse_instalments,
)
from portal.i18n import translate
from portal.labels import INVOICING_LABELS, LINK_STATUS_LABELS
from portal.models import InvoicingMode, LinkStatus


class PaymentTermsMixin:
    """The payment-terms fields (kind and its numbers) and the terms they make.

    After `validate()`, `payment_terms` is the PaymentTerms the fields describe; a domain
    refusal (instalments not adding up, a discount period too long) lands on its field. Filled
    from `obj.payment_terms` when the form shows a saved link or invitation.
    """

    terms_kind = SelectField(
        _l("Payment terms"),
        choices=[SelectChoice(kind.value, _l(label)) for kind, label in KIND_LABELS.items()],
        default=TermsKind.NET.value,
        invalid_choice_message=_l("Choose the payment terms."),
    )
    terms_days = DaysField(
        _l("Days"), validators=[Optional()], default=30,
        description=_l("Net days from the invoice date (or from the end of its month), 0 to 365."),
    )
    discount_percent = PercentField(
        _l("Early-payment discount (%)"), validators=[Optional()],
        description=_l("With the discount: e.g. 2 for 2 percent off."),
    )
    discount_days = DaysField(
        _l("Discount when paid within (days)"), validators=[Optional()],
        description=_l("With the discount: e.g. 10 for 2/10 net 30."),
    )
    instalments = StringField(
        _l("Instalments"), validators=[Optional(), Length(max=500)],
        description=_l("Percent/days per instalment, e.g. 50/30, 50/60. They add up to 100%."),
        render_kw={"placeholder": "50/30, 50/60"},
    )
    sample_date = DayField(
        _l("Sample invoice date"), validators=[Optional()],
        description=_l("Only for the preview of due dates; not saved."),
    )

    payment_terms: PaymentTerms | None = None

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        super().process(formdata, obj, data=data, extra_filters=extra_filters, **kwargs)
        terms = getattr(obj, "payment_terms", None)
        shown = self.meta.wrap_formdata(self, formdata) is None
        if shown and isinstance(terms, PaymentTerms):
            self.fill_terms(terms)

    def fill_terms(self, terms: PaymentTerms):
        """Show saved terms in the fields."""
        self.payment_terms = terms
        self.terms_kind.data = terms.kind.value
        self.terms_days.data = terms.days
        self.discount_percent.data = terms.discount_percent
        self.discount_days.data = terms.discount_days
        self.instalments.data = format_instalments(terms.instalments)
        return self

    def build_terms(self) -> PaymentTerms:
        """The PaymentTerms of the submitted fields; InvalidTerms (with the field at fault)."""
        kind = TermsKind(self.terms_kind.data)
        if kind == TermsKind.INSTALMENTS:
            return PaymentTerms.in_instalments(parse_instalments(self.instalments.data or ""))
        days = self.terms_days.data
        if kind == TermsKind.DISCOUNT:
            return PaymentTerms.early_discount(self.discount_percent.data,
                                               self.discount_days.data, days)
        return PaymentTerms(kind, days)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.terms_kind.errors or not self.terms_kind.data:
            return False
        try:
            self.payment_terms = self.build_terms()
        except InvalidTerms as problem:
            target = {
                "days": self.terms_days,
                "discount_percent": self.discount_percent,
                "discount_days": self.discount_days,
                "instalments": self.instalments,
            }.get(problem.field, self.terms_days)
            if not target.errors:
                target.errors = [*target.errors, translate(problem.msg)]
            return False
        return valid


def _terms_fields(cls):
    """The negotiated terms besides the payment terms, shared by the invitation and the edit."""
    cls.currency = CurrencyField(_l("Currency"))
    cls.credit_limit = MoneyField(
        _l("Credit limit"),
        validators=[Optional()],
        min_message=N_("The credit limit cannot be negative."),
        description=_l("Optional. Leave empty for no limit."),
    )
    return cls


@_terms_fields
class InviteSupplierForm(PaymentTermsMixin, OnceForm):
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
class TermsForm(PaymentTermsMixin, FlaskForm):
    invoicing = SelectField(
        _l("Invoicing"),
        choices=[SelectChoice(mode, label) for mode, label in INVOICING_LABELS.items()],
        default=InvoicingMode.PER_ORDER.value,
        invalid_choice_message=_l("Choose how the supplier invoices."),
        description=_l("Monthly: one invoice a month for everything received in it."),
    )
    price_tolerance = PercentField(
        _l("Price tolerance (%)"), validators=[Optional()],
        description=_l("How far an invoiced unit price may differ from the order's before the "
                       "invoice is flagged. Empty or 0: exactly the order price."),
    )


class TermsPreviewForm(PaymentTermsMixin, FlaskForm):
    """The terms fields read from the query string for the live preview (a GET: no CSRF)."""

    class Meta:
        csrf = False

    currency = CurrencyField(_l("Currency"))


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
