"""The supplier's invoice forms: a new draft from orders, the draft (header and a row of fields
per line), issuing, a credit note (whole or per line), the statement's period."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.blueprints.fields import DayField, DecimalInput, QuantityField, UnitPriceField
from portal.blueprints.invoices.forms import PeriodForm as BuyerPeriodForm
from portal.blueprints.once import OnceForm
from portal.domain import exemption
from portal.domain.vat import VAT_CODES
from portal.models.types import Exact

MAX_NOTES = 2000
MAX_DESCRIPTION = 300
MAX_REASON = 2000
LANGUAGES = (SelectChoice("pl", _l("Polish")), SelectChoice("en", _l("English")))
END_BEFORE_START = _l("The end of the period comes before its start.")
LINE_FIELDS = ("quantity", "unit_price", "vat_code", "description")


def exemption_kind_choices() -> list[SelectChoice]:
    return [SelectChoice(kind, _l(label)) for kind, label in exemption.KIND_LABELS.items()]


def vat_choices() -> list[SelectChoice]:
    return [SelectChoice(code.code, _l(code.label)) for code in VAT_CODES]


class NewInvoiceForm(OnceForm):
    """A draft from one or several of a customer's orders. Which orders may be invoiced is the
    service's to say (`draft_from_orders`): an order older than the page's list (the order's
    own "Invoice what was received" button) is as good as one shown."""

    orders = SelectMultipleField(_l("Orders to invoice"), coerce=int, choices=[],
                                 option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False),
                                 validate_choice=False)

    def validate_orders(self, field):
        if not field.data:
            raise ValidationError(_l("Choose at least one order to invoice."))


class ExchangeRateField(DecimalInput):
    """An exchange rate to PLN: NUMERIC(12, 6), greater than zero."""

    invalid_message = _l("Enter a rate such as 4,2512 or 4.2512.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, column=Exact(12, 6), positive=True, **kwargs)


class DraftForm(FlaskForm):
    """The draft's header; `draft_form(invoice)` adds the fields of each line
    (`line-<id>-quantity`, `-unit_price`, `-vat_code`, `-description`)."""

    language = SelectField(_l("Language of the invoice"), choices=LANGUAGES,
                           description=_l("The PDF is printed in this language."))
    sale_date = DayField(_l("Date of sale or delivery"), validators=[Optional()],
                         description=_l("Empty: the day the last of these goods was received."))
    notes = TextAreaField(_l("Notes printed on the invoice"), validators=[Optional(), Length(max=MAX_NOTES)],
                          render_kw={"rows": 3})
    annex15 = BooleanField(_l("Includes goods or services of annex 15 to the VAT act"),
                           description=_l("Above 15 000 PLN gross the invoice then carries the "
                                          "split-payment note (mechanizm podzielonej płatności)."))
    exchange_rate = ExchangeRateField(_l("Exchange rate to PLN"), validators=[Optional()],
                                      description=_l("The NBP average rate of the last working day "
                                                     "before the issue date."))
    exchange_rate_date = DayField(_l("Date of the rate"), validators=[Optional()])
    # The legal basis of the exemption of `zw` lines (art. 106e ust. 1 pkt 19): the service
    # requires and checks it (portal.domain.exemption), the form only reads it.
    exemption_basis_kind = SelectField(_l("Legal basis of the VAT exemption"), choices=exemption_kind_choices(),
                                       validate_choice=False)
    exemption_basis = StringField(_l("Provision"), validators=[Optional()],
                                  description=_l("As printed on the invoice, e.g. art. 43 ust. 1 pkt 37 ustawy o "
                                                 "VAT or art. 113 ust. 1 ustawy o VAT (small business)."),
                                  render_kw={"list": "exemption-provisions", "maxlength": exemption.MAX_BASIS,
                                             "autocomplete": "off", "spellcheck": "false"})

    line_ids: tuple[int, ...] = ()

    def line_row(self, line_id: int) -> dict:
        return {name: self[f"line-{line_id}-{name}"] for name in LINE_FIELDS}

    def line_values(self, line_id: int) -> dict:
        row = self.line_row(line_id)
        return {"quantity": row["quantity"].data, "unit_price": row["unit_price"].data,
                "vat_code": row["vat_code"].data, "description": (row["description"].data or "").strip() or None}


def draft_form(invoice, **kwargs) -> DraftForm:
    """The draft form of `invoice` with a row of fields per line, filled from the invoice (a GET)
    or from what was sent (a POST)."""

    class _Form(DraftForm):
        pass

    for line in invoice.lines:
        prefix = f"line-{line.id}-"
        setattr(_Form, prefix + "quantity", QuantityField(
            _l("Quantity"), validators=[InputRequired(_l("Enter a quantity."))]))
        setattr(_Form, prefix + "unit_price", UnitPriceField(
            _l("Unit price (net)"), validators=[InputRequired(_l("Enter the price."))]))
        setattr(_Form, prefix + "vat_code", SelectField(_l("VAT"), choices=vat_choices()))
        setattr(_Form, prefix + "description", StringField(
            _l("Description"), validators=[Optional(), Length(max=MAX_DESCRIPTION)]))
    _Form.line_ids = tuple(line.id for line in invoice.lines)
    data = {"language": invoice.language, "sale_date": invoice.sale_date, "notes": invoice.notes,
            "annex15": invoice.annex15, "exchange_rate": invoice.exchange_rate,
            "exchange_rate_date": invoice.exchange_rate_date,
            "exemption_basis_kind": invoice.exemption_basis_kind or exemption.ExemptionBasisKind.ACT.value,
            "exemption_basis": invoice.exemption_basis or ""}
    for line in invoice.lines:
        data.update({f"line-{line.id}-quantity": line.quantity, f"line-{line.id}-unit_price": line.unit_price,
                     f"line-{line.id}-vat_code": line.vat_code, f"line-{line.id}-description": line.description})
    return _Form(data=data, **kwargs)


class ButtonForm(FlaskForm):
    """A one-button action (issue, delete a draft)."""


class CreditNoteForm(OnceForm):
    """A credit note: the whole invoice, or some quantity of its lines (`credit-<line id>`
    fields, read by the view), with the reason printed on it."""

    scope = RadioField(_l("What to credit"), default="whole",
                       choices=[SelectChoice("whole", _l("The whole invoice (what remains of it)")),
                                SelectChoice("lines", _l("Some lines: enter the quantities below"))])
    reason = TextAreaField(_l("Reason for the correction"),
                           validators=[InputRequired(_l("Say why the invoice is corrected.")),
                                       Length(max=MAX_REASON)],
                           description=_l("Printed on the credit note; the customer reads it."),
                           render_kw={"rows": 2})


def credit_quantities(form_data, line_ids) -> tuple[dict[int, Decimal], dict[int, str]]:
    """The quantities typed per invoice line (`credit-<id>`), and a message per unreadable one."""
    from portal.blueprints.fields import parse_number

    quantities, problems = {}, {}
    for line_id in line_ids:
        text = (form_data.get(f"credit-{line_id}") or "").strip()
        if not text:
            continue
        value = parse_number(text)
        if value is None or value <= 0:
            problems[line_id] = text
        else:
            quantities[line_id] = value
    return quantities, problems


class PeriodForm(BuyerPeriodForm):
    """A statement's period, read from the query string: the buyer's form, in the supplier's words."""

    end_before_start = END_BEFORE_START
