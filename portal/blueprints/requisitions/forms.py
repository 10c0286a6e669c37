"""Forms of the requisition pages: header, line, list filters, cancel, comment and upload.

The forms catch what a person can fix beside the field (a missing title, a quantity with too
many decimals); the services stay the gate and refuse anything that slips past.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from portal.blueprints.fields import (
    CurrencyField,
    DayField,
    FastSelect,
    MoneyField,
    QuantityField,
    UnitPriceField,
    WholeNumberField,
)
from portal.blueprints.once import OnceForm
from portal.blueprints.params import MAX_ID, coerce_id
from portal.domain.catalog import UNITS, format_rate
from portal.domain.messages import N_
from portal.labels import REQUISITION_STATUS_LABELS
from portal.models.base import utcnow
from portal.services.requisitions import MAX_JUSTIFICATION, VAT_RATES

C = SelectChoice


def int_or_none(value):
    """Select values arrive as text; "" (the blank option) means nothing chosen."""
    return coerce_id(value)


class RequisitionForm(OnceForm):
    """The header of a requisition: what, why, by when, booked where."""

    title = StringField(
        _l("Title"),
        validators=[DataRequired(_l("Enter a title.")), Length(max=200)],
        render_kw={"maxlength": 200, "placeholder": _l("e.g. Laptops for the new developers")},
    )
    justification = TextAreaField(
        _l("Justification"),
        validators=[
            Optional(),
            Length(max=MAX_JUSTIFICATION,
                   message=_l("The justification may be at most %(max)d characters.")),
        ],
        render_kw={"maxlength": MAX_JUSTIFICATION, "rows": 4},
        description=_l("Why the company needs this. Approvers read it first."),
    )
    needed_by = DayField(
        _l("Needed by"), validators=[Optional()],
        description=_l("Optional. The latest date the goods or service are useful."),
    )
    cost_center_id = SelectField(
        _l("Cost centre"), coerce=int_or_none, validate_choice=False,
        validators=[DataRequired(_l("Choose a cost centre."))],
    )
    category_id = SelectField(
        _l("Category"), coerce=int_or_none, validate_choice=False,
        description=_l("Optional. Some approval rules depend on it."),
    )
    currency = CurrencyField(_l("Currency"))

    def set_choices(self, cost_centers, categories) -> RequisitionForm:
        self.cost_center_id.choices = [C("", _l("Choose a cost centre…"))] + [
            C(cc.id, cc.label if cc.is_active else f"{cc.label} ({_l('inactive')})")
            for cc in cost_centers
        ]
        self.category_id.choices = [C("", _l("No category"))] + [
            C(cat.id, f"{cat.code} · {cat.name}") for cat in categories
        ]
        self.needed_by.render_kw = {"min": utcnow().date().isoformat()}
        return self

    def require_category(self) -> RequisitionForm:
        """The company's approval policy requires the category: say so, and refuse without."""
        self.category_id.validators = [DataRequired(_l("Choose a category: your company requires one."))]
        self.category_id.flags.required = True
        self.category_id.description = _l("Required by your company: approval rules depend on it.")
        return self

    def validate_needed_by(self, field):
        if field.data is not None and field.data < utcnow().date():
            raise ValidationError(_l("The needed-by date cannot be in the past."))


def unit_choices(current: str | None = None):
    from flask_babel import gettext

    choices = [C(code, gettext(label)) for code, label in UNITS]
    if current and current not in {code for code, _ in UNITS}:
        choices.append(C(current, current))
    return choices


VAT_CHOICES = [C(format_rate(rate), f"{format_rate(rate)} %") for rate in VAT_RATES]


class LineForm(OnceForm):
    """One line: a catalog item (`item_id`) or free text, with quantity, unit and price."""

    item_id = WholeNumberField(widget=HiddenInput(), validators=[Optional(), NumberRange(1, MAX_ID)])
    description = StringField(
        _l("Description"), validators=[Length(max=300)],
        render_kw={"maxlength": 300, "placeholder": _l("What to buy")},
    )
    quantity = QuantityField(
        _l("Quantity"), validators=[InputRequired(_l("Enter the quantity."))],
    )
    unit = SelectField(_l("Unit"), default="pcs",
                       invalid_choice_message=_l("Choose a unit from the list."))
    unit_price = UnitPriceField(
        _l("Unit price (net)"),
        validators=[InputRequired(_l("Enter an estimated unit price."))],
        min_message=N_("The unit price cannot be negative."),
    )
    vat_rate = SelectField(_l("VAT"), choices=VAT_CHOICES, default="23",
                           invalid_choice_message=_l("Choose a VAT rate of 23, 8, 5 or 0 %."))
    suggested_supplier_id = SelectField(
        _l("Suggested supplier"), coerce=int_or_none,
        invalid_choice_message=_l("Choose one of your active suppliers."),
    )

    def set_choices(self, suppliers, *, keep_unit: str | None = None) -> LineForm:
        """Units of the catalog (plus `keep_unit`, an unusual unit a line already has) and the
        suppliers with an active link."""
        self.unit.choices = unit_choices(keep_unit)
        self.suggested_supplier_id.choices = [C("", _l("No preference"))] + [
            C(org.id, org.name) for org in suppliers
        ]
        return self

    def validate_description(self, field):
        if not self.item_id.data and not (field.data or "").strip():
            raise ValidationError(_l("Describe what to buy, or pick a catalog item."))

    def values(self) -> dict:
        """Keyword arguments for services.requisitions.add_line / update_line (without item)."""
        return {
            "description": (self.description.data or "").strip(),
            "quantity": self.quantity.data,
            "unit": self.unit.data,
            "unit_price": self.unit_price.data,
            "vat_rate": Decimal(self.vat_rate.data),
            "suggested_supplier_id": self.suggested_supplier_id.data,
        }


class CancelForm(FlaskForm):
    comment = TextAreaField(
        _l("Reason (optional)"), validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 2, "maxlength": 2000},
    )


class CommentForm(OnceForm):
    body = TextAreaField(
        _l("Comment"),
        validators=[DataRequired(_l("Write a comment first.")), Length(max=4000)],
        render_kw={"rows": 3, "maxlength": 4000, "placeholder": _l("Ask or add something…")},
    )


class UploadForm(OnceForm):
    file = FileField(_l("File"))


class ActionForm(FlaskForm):
    """A button that only carries the CSRF token (submit, duplicate)."""


STATUS_CHOICES = [C("", _l("All statuses"))] + [
    C(value, label) for value, label in REQUISITION_STATUS_LABELS.items()
]
SORT_KEYS = ("created", "number", "needed_by", "amount", "status")


class FilterForm(FlaskForm):
    """The list's filters, read from the query string (no CSRF: a GET changes nothing)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Search"), validators=[Optional(), Length(max=100)],
        render_kw={"placeholder": _l("Number or title"), "type": "search"},
    )
    status = SelectField(_l("Status"), choices=STATUS_CHOICES, validate_choice=False,
                         widget=FastSelect())
    cost_center = SelectField(_l("Cost centre"), coerce=int_or_none, validate_choice=False,
                              widget=FastSelect())
    requester = SelectField(_l("Requester"), coerce=int_or_none, validate_choice=False,
                            widget=FastSelect())
    created_from = DayField(_l("Created from"), validators=[Optional()])
    created_to = DayField(_l("Created to"), validators=[Optional()])
    amount_min = MoneyField(_l("Gross from"), min_places=0, validators=[Optional()])
    amount_max = MoneyField(_l("Gross to"), min_places=0, validators=[Optional()])
    sort = HiddenField(default="created")
    dir = HiddenField(default="desc")

    def set_choices(self, cost_centers, requesters) -> FilterForm:
        # Labels translated once here: a lazy label is translated again at every use.
        self.status.choices = [C(c.value, str(c.label)) for c in STATUS_CHOICES]
        self.cost_center.choices = [C("", str(_l("All cost centres")))] + [
            C(cc.id, cc.label) for cc in cost_centers
        ]
        self.requester.choices = [C("", str(_l("Everyone")))] + [
            C(u.id, u.full_name) for u in requesters
        ]
        return self


class CatalogPickForm(FlaskForm):
    """A catalog item (and quantity) a new requisition starts with: the catalog's "Add to
    requisition" → "New requisition" carries them in the query string (a GET: no CSRF)."""

    class Meta:
        csrf = False

    item_id = WholeNumberField(validators=[Optional(), NumberRange(1, MAX_ID)])
    quantity = QuantityField(validators=[Optional()])


class CatalogSearchForm(FlaskForm):
    """The catalog picker of the line editor (a GET: no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Search the catalog"), validators=[Optional(), Length(max=100)],
        render_kw={"type": "search", "autocomplete": "off",
                   "placeholder": _l("SKU or name, e.g. papier or IT-")},
    )
