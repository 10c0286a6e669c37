"""Forms of the buyer's RFQ pages: the header (new and edit), a typed line, inviting a supplier,
a file, publishing (the deadline), an amendment, cancel, and answering a question.

The response deadline is a `datetime-local` input read in the buyer organisation's time zone
(`DeadlineField`) and stored in UTC; the services check it is in the future.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, Field, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, StopValidation
from wtforms.widgets import DateTimeLocalInput

from portal.blueprints.fields import CurrencyField, DayField, QuantityField
from portal.blueprints.once import OnceForm
from portal.blueprints.params import coerce_id
from portal.blueprints.requisitions.forms import VAT_CHOICES, unit_choices
from portal.domain import rfq as rules
from portal.domain.messages import N_, Msg
from portal.i18n import translate

DEFAULT_ZONE = "Europe/Warsaw"


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


class DeadlineField(Field):
    """A moment typed as `YYYY-MM-DDTHH:MM` (the browser's datetime-local picker) in the time
    zone `tz_name` (the buyer organisation's); `data` is that moment in UTC. A wall-clock time
    that does not exist (the spring-forward hour) or occurs twice takes the zoneinfo reading
    (fold 0)."""

    widget = DateTimeLocalInput()

    def __init__(self, label=None, validators=None, *, tz_name: str | None = None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.tz_name = tz_name or DEFAULT_ZONE

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        if not text:
            self.data = None
            return
        try:
            local = datetime.strptime(text[:16], "%Y-%m-%dT%H:%M")  # noqa: DTZ007 - zone set below
        except ValueError:
            self.data = None
            raise ValueError(translate(Msg(N_("Enter a date and time such as "
                                              "2026-12-31 14:00.")))) from None
        self.data = local.replace(tzinfo=zone(self.tz_name)).astimezone(UTC)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return self.data.astimezone(zone(self.tz_name)).strftime("%Y-%m-%dT%H:%M")

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation


class _Header:
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter a title.")),
                                                 Length(max=rules.MAX_TITLE)],
                        render_kw={"maxlength": rules.MAX_TITLE,
                                   "placeholder": _l("e.g. Bearings for line 2, Q1")})
    description = TextAreaField(
        _l("Description for the suppliers"),
        validators=[Optional(), Length(max=rules.MAX_TEXT)],
        render_kw={"maxlength": rules.MAX_TEXT, "rows": 4},
        description=_l("What you need, quality requirements, delivery terms. Every invited "
                       "supplier reads it."))
    currency = CurrencyField(_l("Currency of the quotes"))
    sealed = BooleanField(_l("Sealed: prices stay hidden until the deadline"), default=True)
    allow_partial = BooleanField(_l("Suppliers may quote only some of the lines"))
    delivery_address = TextAreaField(_l("Delivery address"),
                                     validators=[Optional(), Length(max=1000)],
                                     render_kw={"rows": 2, "maxlength": 1000})
    needed_by = DayField(_l("Needed by"), validators=[Optional()])


def _line_id(value) -> int:
    """A requisition line's id as sent: an id in range, else a ValueError (an error beside the
    field), never a 20-digit number that overflows the database."""
    from portal.blueprints.params import coerce_id

    number = coerce_id(value)
    if number is None:
        raise ValueError(value)
    return number


class RfqForm(_Header, OnceForm):
    """A new RFQ: its header and the approved requisition lines it asks prices for."""

    requisition_line_ids = SelectMultipleField(_l("Requisition lines"), coerce=_line_id,
                                               validate_choice=False)


class RfqEditForm(_Header, FlaskForm):
    pass


class LineForm(OnceForm):
    description = StringField(_l("Description"), validators=[
        DataRequired(_l("Describe what you ask a price for.")), Length(max=300)],
        render_kw={"maxlength": 300})
    quantity = QuantityField(_l("Quantity"), validators=[InputRequired(_l("Enter the quantity."))])
    unit = SelectField(_l("Unit"), default="pcs",
                       invalid_choice_message=_l("Choose a unit from the list."))
    vat_rate = SelectField(_l("VAT"), choices=VAT_CHOICES, default="23",
                           invalid_choice_message=_l("Choose a VAT rate of 23, 8, 5 or 0 %."))
    notes = StringField(_l("Notes for the suppliers"), validators=[Optional(), Length(max=1000)])

    def with_units(self):
        self.unit.choices = unit_choices(self.unit.data)
        return self


class InviteForm(OnceForm):
    link_id = SelectField(_l("Supplier"), coerce=coerce_id, validate_choice=False,
                          validators=[InputRequired(_l("Choose a supplier."))])


class UploadForm(OnceForm):
    file = FileField(_l("File"))


class PublishForm(FlaskForm):
    deadline = DeadlineField(_l("Response deadline"),
                             validators=[InputRequired(_l("Set the response deadline."))])


class AmendForm(OnceForm):
    note = TextAreaField(_l("What changed"), validators=[
        DataRequired(_l("Say what changed: the suppliers read this note.")),
        Length(max=rules.MAX_TEXT)], render_kw={"rows": 3, "maxlength": rules.MAX_TEXT})
    deadline = DeadlineField(_l("New response deadline"), validators=[Optional()],
                             description=_l("Leave as it is to keep the deadline."))
    description = TextAreaField(_l("Description for the suppliers"),
                                validators=[Optional(), Length(max=rules.MAX_TEXT)],
                                render_kw={"rows": 4, "maxlength": rules.MAX_TEXT})


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(_l("Give a reason: the invited suppliers read it.")),
        Length(max=rules.MAX_TEXT)], render_kw={"rows": 2, "maxlength": rules.MAX_TEXT})


class AnswerForm(FlaskForm):
    question_text = TextAreaField(
        _l("Question as the suppliers will read it"),
        validators=[DataRequired(_l("Enter the question as the suppliers will read it.")),
                    Length(max=rules.MAX_TEXT)], render_kw={"rows": 2},
        description=_l("Reword it if it gives away who asked."))
    answer = TextAreaField(_l("Answer"), validators=[DataRequired(_l("Write the answer.")),
                                                     Length(max=rules.MAX_TEXT)],
                           render_kw={"rows": 3})


class ButtonForm(FlaskForm):
    """A one-button action (close early, open quotes, remove a line or a supplier)."""
