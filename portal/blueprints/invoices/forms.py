"""Forms of the buyer's invoices: approve (with the reason an admin gives to override a
mismatch), dispute, record a payment; the statement's period."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField, ValidationError
from wtforms.validators import InputRequired, Length, Optional

from portal.blueprints.fields import DayField, MoneyField
from portal.blueprints.once import OnceForm

MAX_TEXT = 2000


class ApproveForm(FlaskForm):
    override_reason = TextAreaField(
        _l("Why approve it anyway"), validators=[Optional(), Length(max=MAX_TEXT)],
        description=_l("The invoice does not match its orders and receipts: say why it is right to pay it."))


class DisputeForm(FlaskForm):
    reason = TextAreaField(_l("What is wrong"), validators=[
        InputRequired(_l("Say what is wrong with the invoice.")), Length(max=MAX_TEXT)],
        description=_l("The supplier reads it and may issue a credit note."))


class PaymentForm(OnceForm):
    """Record a payment (a create form: sent twice, recorded once)."""

    paid_on = DayField(_l("Paid on"), validators=[InputRequired(_l("Enter the day it was paid."))])
    amount = MoneyField(_l("Amount"), positive=True, validators=[InputRequired(_l("Enter the amount paid."))])
    reference = StringField(_l("Reference"), validators=[Optional(), Length(max=100)],
                            description=_l("The bank transfer's title or number."))
    take_discount = BooleanField(_l("Take the early-payment discount"))


class PeriodForm(FlaskForm):
    """The statement's period, from the query string (the supplier's statement form is this one,
    with its own words for an end before the start)."""

    class Meta:
        csrf = False

    end_before_start = _l("The last day cannot be before the first.")

    start = DayField(_l("From"), validators=[Optional()])
    end = DayField(_l("To"), validators=[Optional()])

    def validate_end(self, field):
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(self.end_before_start)
