from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.blueprints.fields import CurrencyField, MoneyField, WholeNumberField
from portal.blueprints.once import OnceForm
from portal.blueprints.params import coerce_id
from portal.domain.messages import N_

POLICY_CHOICES = [
    SelectChoice("block", _l("Block: refuse approvals that exceed it")),
    SelectChoice("warn", _l("Warn: allow, record and flag the overrun")),
    SelectChoice("escalate", _l("Escalate: an extra approval by the budget owner")),
]
PERIOD_CHOICES = [SelectChoice("year", _l("Year")), SelectChoice("quarter", _l("Quarter")),
                  SelectChoice("month", _l("Month"))]


class BudgetForm(OnceForm):
    cost_center_id = SelectField(_l("Cost centre"), coerce=coerce_id, validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)],
                       description=_l("Leave empty to name it by the cost centre's code and the year, e.g. “IT 2026”."))
    period_kind = SelectField(_l("Period"), choices=PERIOD_CHOICES, default="year")
    year = WholeNumberField(_l("Year"), default=lambda: date.today().year,  # noqa: DTZ011
                            validators=[InputRequired(), NumberRange(min=2000, max=2100)])
    index = WholeNumberField(_l("Quarter or month number"), default=1,
                             validators=[Optional(), NumberRange(min=1, max=12)],
                             description=_l("1–4 for a quarter, 1–12 for a month; ignored for a year."))
    amount = MoneyField(_l("Amount"), validators=[InputRequired(_l("Enter the budget amount."))],
                        min_message=N_("A budget amount cannot be negative."))
    currency = CurrencyField(_l("Currency"))
    overrun_policy = SelectField(_l("When an approval would exceed it"), choices=POLICY_CHOICES, default="block")
    owner_id = SelectField(_l("Budget owner"), coerce=coerce_id, default=0,
                           description=_l("Decides escalated overruns; the company admins when empty."))


class ReviseForm(FlaskForm):
    amount = MoneyField(_l("New amount"), validators=[InputRequired(_l("Enter the budget amount."))],
                        min_message=N_("A budget amount cannot be negative."))
    overrun_policy = SelectField(_l("Overrun policy"), choices=POLICY_CHOICES)
    # The same words as the service's refusal, beside the field instead of a bare "required".
    reason = TextAreaField(_l("Why"), validators=[DataRequired(_l("Say why the budget changes.")),
                                                  Length(max=2000)])


class CloseForm(FlaskForm):
    reason = TextAreaField(_l("Why"), validators=[Optional(), Length(max=2000)])


class ImportForm(OnceForm):
    file = FileField(_l("CSV file"), validators=[FileRequired()])
