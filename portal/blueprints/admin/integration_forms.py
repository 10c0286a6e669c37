"""Forms of the integration settings: API tokens and webhook endpoints."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField, StringField, URLField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.blueprints.admin.forms import PersonField
from portal.blueprints.fields import DayField, FastSelect
from portal.blueprints.once import OnceForm
from portal.blueprints.params import coerce_id
from portal.domain import api_scopes

# The API's areas in the pages' words (portal/domain/api_scopes.AREAS says what each covers).
AREA_LABELS = {
    "catalog": (_l("Catalog"), _l("Catalog items, price agreements, catalog and agreement imports")),
    "requisitions": (_l("Requisitions"), _l("Requisitions, budgets, budget imports")),
    "orders": (_l("Orders"), _l("RFQs, quotes, purchase orders, receipts")),
    "invoices": (_l("Invoices"), _l("Invoices, credit notes, payments")),
    "suppliers": (_l("Suppliers and customers"), _l("Supplier links and customers")),
    "webhooks": (_l("Webhooks"), _l("Webhook endpoints and their deliveries")),
}
LEVEL_LABELS = {api_scopes.READ: _l("Read"), api_scopes.WRITE: _l("Write")}


def area_rows() -> list[tuple[str, object, object]]:
    """(area, label, what it covers) for every area of the API, in the catalogue's order."""
    return [(area, *AREA_LABELS.get(area, (area, text))) for area, text in api_scopes.AREAS.items()]


def scope_label(scope: str) -> str:
    """"Invoices: write" for "invoices:write"."""
    area, _sep, level = scope.partition(":")
    label = AREA_LABELS.get(area, (area,))[0]
    return f"{label}: {str(LEVEL_LABELS.get(level, level)).lower()}"


class ChoiceBoxes(SelectMultipleField):
    """Several choices as checkboxes, refused with our own messages (`unknown`, `empty`)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, unknown=None, empty=None, **kwargs):
        kwargs.setdefault("validate_choice", False)
        super().__init__(*args, **kwargs)
        self.unknown, self.empty = unknown, empty

    def pre_validate(self, form):
        known = {choice.value for choice in self.choices or []}
        if any(value not in known for value in self.data or []):
            raise ValidationError(self.unknown)
        if not self.data:
            raise ValidationError(self.empty)


class ApiTokenForm(OnceForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)],
                       description=_l("Which system uses it, e.g. “ERP production”."))
    scopes = ChoiceBoxes(_l("Access"), unknown=_l("Unknown scope."),
                         empty=_l("Choose at least one scope."),
                         choices=[SelectChoice(s, s) for s in api_scopes.ALL_SCOPES])
    user = PersonField(_l("Acts as"), coerce=coerce_id, validators=[DataRequired()],
                       widget=FastSelect(),
                       description=_l("The token may do what this person may do, within its "
                                      "scopes. Give it a person whose roles fit the system."))
    expires_on = DayField(_l("Valid until"), validators=[Optional()],
                          render_kw={"min": "2000-01-01", "max": "2999-12-31"},
                          description=_l("Optional: the token stops working when this day ends "
                                         "(your company's time zone). Empty: until revoked."))

    def set_people(self, people, default_id: int | None = None):
        self.user.choices = [SelectChoice(p.id, f"{p.full_name} ({p.email})") for p in people]
        if self.user.data is None and default_id is not None:
            self.user.data = default_id
        return self


class _WebhookFields:
    url = URLField(_l("URL"), validators=[DataRequired(), Length(max=2000)],
                   render_kw={"placeholder": "https://erp.example.com/portal/webhooks",
                              "autocomplete": "off", "spellcheck": "false"},
                   description=_l("Where we POST the events, signed with the endpoint's secret. "
                                  "Must be https."))
    events = ChoiceBoxes(_l("Events"), unknown=_l("Unknown event."),
                         empty=_l("Choose at least one event."))
    description = StringField(_l("Description"), validators=[Optional(), Length(max=200)],
                              description=_l("For you: what receives these events."))

    def set_events(self, events: dict):
        self.events.choices = [SelectChoice(name, label) for name, label in events.items()]
        return self


class WebhookForm(_WebhookFields, OnceForm):
    """Register an endpoint."""


class WebhookEditForm(_WebhookFields, FlaskForm):
    """Change an endpoint's URL, events or description."""
