"""The supplier's forms of an RFQ: the quote (header and a row of fields per RFQ line),
declining, asking a question, confirming after an amendment."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.blueprints.fields import DayField, DaysField, MoneyField, UnitPriceField
from portal.blueprints.once import OnceForm
from portal.services.sourcing import quotes as service
from portal.services.sourcing.quotes import QuoteLineInput

LINE_FIELDS = ("unit_price", "lead_time_days", "delivery_date", "alternative", "note")


class QuoteForm(FlaskForm):
    """The quote's header; `quote_form(lines)` adds the fields of each RFQ line."""

    supplier_reference = StringField(_l("Your quote number"),
                                     validators=[Optional(), Length(max=service.MAX_REFERENCE)],
                                     description=_l("Your own reference, printed on your offer."))
    valid_until = DayField(_l("Offer valid until"), validators=[Optional()],
                           description=_l("At least until the response deadline."))
    freight = MoneyField(_l("Freight"), validators=[Optional()])
    other_charges = MoneyField(_l("Other charges"), validators=[Optional()])
    charges_note = StringField(_l("Note on charges"),
                               validators=[Optional(), Length(max=service.MAX_CHARGES_NOTE)])
    notes = TextAreaField(_l("Notes for the buyer"),
                          validators=[Optional(), Length(max=service.MAX_NOTES)],
                          render_kw={"rows": 4})
    attachment = FileField(_l("Attach an offer document"))

    line_ids: tuple[int, ...] = ()

    def line_row(self, line_id: int) -> dict:
        """The fields of one RFQ line, by name (for the template)."""
        return {name: self[f"line_{line_id}_{name}"] for name in LINE_FIELDS}

    def line_inputs(self) -> dict[int, QuoteLineInput]:
        def value(name, field):
            return (field.data or "") if name in ("alternative", "note") else field.data

        return {line_id: QuoteLineInput(**{name: value(name, field)
                                           for name, field in self.line_row(line_id).items()})
                for line_id in self.line_ids}

    def values(self) -> dict:
        """What `save_draft` / `revise` take."""
        return {
            "supplier_reference": self.supplier_reference.data or "",
            "valid_until": self.valid_until.data, "notes": self.notes.data or "",
            "freight": self.freight.data, "other_charges": self.other_charges.data,
            "charges_note": self.charges_note.data or "", "lines": self.line_inputs(),
        }

    def fill(self, quote) -> None:
        """Show a saved quote's values (a GET)."""
        for name in ("supplier_reference", "valid_until", "notes", "charges_note"):
            self[name].data = getattr(quote, name)
        self.freight.data = quote.freight or None
        self.other_charges.data = quote.other_charges or None
        for line in quote.lines:
            if line.rfq_line_id in self.line_ids:
                for name, field in self.line_row(line.rfq_line_id).items():
                    field.data = getattr(line, name)


def quote_form(rfq_lines, **kwargs) -> QuoteForm:
    """A quote form with a row of fields per RFQ line (`line_<id>_<field>`)."""

    class _Form(QuoteForm):
        pass

    for line in rfq_lines:
        prefix = f"line_{line.id}_"
        setattr(_Form, prefix + "unit_price", UnitPriceField(
            _l("Unit price (net)"), positive=True, validators=[Optional()]))
        setattr(_Form, prefix + "lead_time_days", DaysField(
            _l("Lead time (days)"), maximum=service.MAX_LEAD_TIME, validators=[Optional()]))
        setattr(_Form, prefix + "delivery_date", DayField(_l("Delivery date"), validators=[Optional()]))
        setattr(_Form, prefix + "alternative", StringField(
            _l("Alternative offered"), validators=[Optional(), Length(max=service.MAX_ALTERNATIVE)]))
        setattr(_Form, prefix + "note", StringField(
            _l("Line note"), validators=[Optional(), Length(max=service.MAX_LINE_NOTE)]))
    _Form.line_ids = tuple(line.id for line in rfq_lines)
    return _Form(**kwargs)


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Why do you decline?"),
                           validators=[InputRequired(_l("Tell the buyer why you decline.")),
                                       Length(max=service.MAX_REASON)],
                           description=_l("The buyer reads this; other suppliers never do."),
                           render_kw={"rows": 4})


class QuestionForm(OnceForm):
    body = TextAreaField(_l("Your question"),
                         validators=[InputRequired(_l("Write your question first.")),
                                     Length(max=service.MAX_QUESTION)],
                         description=_l("The buyer publishes the answer to every invited supplier "
                                        "without your company's name."),
                         render_kw={"rows": 3})


class ConfirmForm(FlaskForm):
    pass
