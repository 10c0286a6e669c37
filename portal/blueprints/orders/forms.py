"""Forms of purchase orders: the buyer's cancel, revise and answer to a date proposal, the
supplier's date proposal and acknowledgement, and the "order from agreements" button."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.blueprints.fields import DayField, QuantityField, UnitPriceField
from portal.blueprints.once import OnceForm

MAX_TEXT = 2000


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[
        InputRequired(_l("Say why the order is cancelled.")), Length(max=MAX_TEXT)],
        description=_l("The supplier reads it."))


class RefuseForm(FlaskForm):
    reason = TextAreaField(_l("Why the date does not work"), validators=[
        InputRequired(_l("Say why the date does not work.")), Length(max=MAX_TEXT)])


class ButtonForm(FlaskForm):
    """A one-button action (accept a proposal, acknowledge)."""


class FromAgreementsForm(OnceForm):
    """Order an approved requisition at agreed prices (a create form: sent twice, acts once)."""


class ProposeForm(FlaskForm):
    delivery_date = DayField(_l("Date you can deliver on"),
                             validators=[InputRequired(_l("Enter the date you can deliver on."))])
    note = TextAreaField(_l("Note for the buyer"), validators=[Optional(), Length(max=MAX_TEXT)])


class _ReviseBase(FlaskForm):
    delivery_date = DayField(_l("Delivery date"), validators=[Optional()])
    delivery_address = TextAreaField(_l("Delivery address"), validators=[Optional(), Length(max=MAX_TEXT)])
    notes = TextAreaField(_l("Notes for the supplier"), validators=[Optional(), Length(max=MAX_TEXT)])

    def line_fields(self, line):
        return self[f"qty_{line.id}"], self[f"price_{line.id}"]


def revise_form(order, **kwargs) -> _ReviseBase:
    """The revise form of `order`: the header fields and a quantity and unit price per line."""

    class ReviseForm(_ReviseBase):
        pass

    for line in order.lines:
        setattr(ReviseForm, f"qty_{line.id}", QuantityField(
            _l("Quantity"), validators=[InputRequired(_l("Enter a quantity."))]))
        setattr(ReviseForm, f"price_{line.id}", UnitPriceField(
            _l("Unit price (net)"), positive=True, validators=[InputRequired(_l("Enter the price."))]))
    data = {"delivery_date": order.delivery_date, "delivery_address": order.delivery_address,
            "notes": order.notes}
    for line in order.lines:
        data[f"qty_{line.id}"], data[f"price_{line.id}"] = line.quantity, line.unit_price
    return ReviseForm(data=data, **kwargs)
