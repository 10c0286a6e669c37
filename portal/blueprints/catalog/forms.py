from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.blueprints.fields import CurrencyField, UnitPriceField, coerce_decimal
from portal.blueprints.once import OnceForm
from portal.blueprints.params import coerce_id
from portal.domain import catalog as rules
from portal.i18n import translate


def optional_id(value):
    """Select values: "" is no choice, anything else an id."""
    return coerce_id(value)


class PriceField(UnitPriceField):
    """A unit price read by the catalog's price rules, the same as the CSV import's (`12,50`,
    `1 234,5`; not negative, at most 4 decimal places), within what the column holds."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        try:
            self.data = rules.parse_price(valuelist[0])
        except rules.PriceProblem as exc:
            self.data = None
            raise ValueError(translate(exc.msg)) from None


class ItemForm(OnceForm):
    sku = StringField(_l("SKU"), validators=[DataRequired(), Length(max=rules.SKU_MAX)],
                      description=_l("Your own article code, unique in your company."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=rules.NAME_MAX)])
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=rules.DESCRIPTION_MAX)]
    )
    unit = SelectField(_l("Unit"), default=rules.DEFAULT_UNIT)
    category_id = SelectField(_l("Category"), coerce=optional_id, validate_choice=True)
    default_vat_rate = SelectField(
        _l("Default VAT rate"),
        coerce=coerce_decimal,
        choices=[SelectChoice(str(rate), f"{rate} %") for rate in rules.VAT_RATES],
        default=str(rules.DEFAULT_VAT_RATE),
    )
    list_price = PriceField(
        _l("List price (net)"),
        places=rules.PRICE_PLACES,
        validators=[Optional()],
        description=_l("Optional. Up to 4 decimal places; 12,50 or 12.50."),
    )
    currency = CurrencyField(_l("Currency"))
    preferred_supplier_id = SelectField(_l("Preferred supplier"), coerce=optional_id)
    is_active = BooleanField(_l("Active (offered when buyers pick from the catalog)"),
                             default=True)


class CategoryForm(OnceForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=rules.CODE_MAX)],
                       description=_l("Short and stable, e.g. IT or OFFICE; used in CSV imports."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])


class ImportForm(OnceForm):
    file = FileField(
        _l("CSV file"),
        validators=[
            FileRequired(_l("Choose a file.")),
            FileAllowed(["csv"], _l("Upload a .csv file (in Excel: Save as → CSV UTF-8).")),
        ],
        render_kw={"accept": ".csv,text/csv"},
    )
