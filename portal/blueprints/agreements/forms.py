from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from portal.blueprints.fields import CurrencyField, DayField, DaysField, QuantityField, UnitPriceField
from portal.blueprints.once import OnceForm
from portal.blueprints.params import coerce_id
from portal.domain import agreements as rules
from portal.domain.agreements import Tier

TIER_ROWS = range(1, rules.MAX_TIERS + 1)


class _Terms:
    """The fields an agreement's create and edit forms share."""

    unit_price = UnitPriceField(_l("Unit price (net)"), positive=True,
                                validators=[InputRequired(_l("Enter the price."))])
    currency = CurrencyField(_l("Currency"))
    valid_from = DayField(_l("Valid from"), validators=[InputRequired(_l("Enter a date."))])
    valid_to = DayField(_l("Valid until"), validators=[Optional()],
                        description=_l("Leave empty for an agreement without an end date."))
    supplier_part_number = StringField(_l("Supplier's part number"),
                                       validators=[Optional(), Length(max=rules.PART_NUMBER_MAX)])
    lead_time_days = DaysField(_l("Lead time (days)"), maximum=rules.LEAD_TIME_MAX,
                               validators=[Optional()])

    def tier_rows(self):
        """(quantity field, price field) per tier row, for the template."""
        return [(self[f"tier_qty_{i}"], self[f"tier_price_{i}"]) for i in TIER_ROWS]

    def tiers(self) -> list[Tier]:
        """The tier rows filled in (a row with only one half filled keeps a None, which the
        service refuses with its message)."""
        found = []
        for qty, price in self.tier_rows():
            if qty.data is None and price.data is None:
                continue
            found.append(Tier(qty.data, price.data))
        return found

    def set_tiers(self, tiers: list[Tier]) -> None:
        for (qty, price), tier in zip(self.tier_rows(), tiers, strict=False):
            qty.data, price.data = tier.min_qty, tier.unit_price


for _i in TIER_ROWS:
    setattr(_Terms, f"tier_qty_{_i}", QuantityField(_l("From quantity"), validators=[Optional()]))
    setattr(_Terms, f"tier_price_{_i}", UnitPriceField(_l("Unit price"), positive=True,
                                                        validators=[Optional()]))


class AgreementForm(_Terms, OnceForm):
    link_id = SelectField(_l("Supplier"), coerce=coerce_id,
                          validators=[InputRequired(_l("Choose a supplier."))])
    item_sku = StringField(_l("Catalog item (SKU)"),
                           validators=[InputRequired(_l("Enter the SKU of a catalog item.")),
                                       Length(max=40)])


class AgreementEditForm(_Terms, FlaskForm):
    pass


class EndForm(FlaskForm):
    pass
