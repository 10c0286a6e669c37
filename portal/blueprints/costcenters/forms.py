from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from portal.blueprints.once import OnceForm
from portal.blueprints.params import coerce_id
from portal.domain.catalog import CODE_MAX


def optional_id(value):
    return coerce_id(value)


class CostCenterForm(OnceForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=CODE_MAX)],
                       description=_l("Short and stable, e.g. ADM or PROD."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    manager_id = SelectField(
        _l("Manager"), coerce=optional_id,
        description=_l("Approval rules can route requisitions to the cost centre's manager."),
    )
