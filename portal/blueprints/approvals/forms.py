"""Forms of the approval pages: a decision, the policy's steps and settings, the preview and
delegations. Select choices come from tenant-scoped queries passed in by the views."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.blueprints.fields import DayField, MoneyField, WholeNumberField
from portal.blueprints.once import OnceForm
from portal.blueprints.params import coerce_id
from portal.domain.approval import ApproverKind, Quorum
from portal.labels import APPROVER_KIND_LABELS, QUORUM_LABELS

DECISION_CHOICES = [
    SelectChoice("approve", _l("Approve")),
    SelectChoice("return", _l("Return")),
    SelectChoice("reject", _l("Reject")),
]

def _optional_int(value):
    return coerce_id(value)


class DecisionForm(FlaskForm):
    """Approve, return or reject one task, with a comment (required to return or reject: the
    service says so, so the inbox, the requisition page and the email link agree)."""

    decision = SelectField(_l("Decision"), choices=DECISION_CHOICES,
                           validators=[DataRequired(_l("Choose approve, return or reject."))])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])
    next = HiddenField()


class SettingsForm(FlaskForm):
    reminder_hours = WholeNumberField(
        _l("Reminder after (hours)"),
        validators=[InputRequired(_l("Enter a number of hours.")),
                    NumberRange(1, 720, _l("Enter 1 to 720 hours."))],
        render_kw={"inputmode": "numeric", "min": 1, "max": 720},
        description=_l("Approvers are reminded again once per period while a step waits."),
    )
    escalation_hours = WholeNumberField(
        _l("Escalation after (hours)"),
        validators=[InputRequired(_l("Enter a number of hours.")),
                    NumberRange(1, 1440, _l("Enter 1 to 1440 hours."))],
        render_kw={"inputmode": "numeric", "min": 1, "max": 1440},
    )
    escalation_user = SelectField(_l("Escalate to"), coerce=_optional_int, validate_choice=False,
                                  description=_l("Empty: the company admins."))
    category_required = BooleanField(
        _l("A requisition must name its category"),
        description=_l("Submitting is refused without a category. Steps with a category also "
                       "apply when any line's catalogue item is in it."))
    decide_once = BooleanField(
        _l("A person decides once per requisition"),
        description=_l("A later step that would go to someone already deciding an earlier step "
                       "goes to the next eligible approver, or else to the company admins."))

    def set_choices(self, users):
        self.escalation_user.choices = [SelectChoice("", _l("The company admins"))] + [
            SelectChoice(u.id, u.full_name) for u in users
        ]
        return self


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class StepForm(OnceForm):
    name = StringField(_l("Step name"), validators=[DataRequired(_l("Name the step.")),
                                                   Length(max=120)],
                       render_kw={"placeholder": _l("e.g. CFO approval")})
    min_amount = MoneyField(
        _l("Amount at or above"),
        validators=[Optional()],
        description=_l("Empty: any amount."),
    )
    cost_center = SelectField(_l("Cost centre"), coerce=_optional_int, validate_choice=False)
    category = SelectField(_l("Category"), coerce=_optional_int, validate_choice=False)
    approver_kind = RadioField(
        _l("Who approves"),
        choices=[SelectChoice(k, v) for k, v in APPROVER_KIND_LABELS.items()],
        default=ApproverKind.COST_CENTER_MANAGER.value,
        validators=[InputRequired(_l("Choose who approves."))],
    )
    approver_user = SelectField(_l("Person"), coerce=_optional_int, validate_choice=False)
    members = CheckboxesField(_l("Group members"), coerce=coerce_id, validate_choice=False)
    quorum = RadioField(_l("Who of the group must approve"),
                        choices=[SelectChoice(k, v) for k, v in QUORUM_LABELS.items()],
                        default=Quorum.ANY.value)
    quorum_n = WholeNumberField(_l("How many"), validators=[Optional(), NumberRange(1, 50)],
                            render_kw={"inputmode": "numeric", "min": 1})

    def set_choices(self, *, users, cost_centers, categories):
        self.cost_center.choices = [SelectChoice("", _l("Any cost centre"))] + [
            SelectChoice(c.id, c.label) for c in cost_centers
        ]
        self.category.choices = [SelectChoice("", _l("Any category"))] + [
            SelectChoice(c.id, c.name) for c in categories
        ]
        self.approver_user.choices = [SelectChoice("", _l("Choose a person"))] + [
            SelectChoice(u.id, u.full_name) for u in users
        ]
        self.members.choices = [SelectChoice(u.id, u.full_name) for u in users]
        return self

    def fill_from(self, step):
        """Show a saved step (GET of the edit page)."""
        self.name.data = step.name
        self.min_amount.data = step.min_amount
        self.cost_center.data = step.cost_center_id
        self.category.data = step.category_id
        self.approver_kind.data = step.approver_kind.value
        self.approver_user.data = step.approver_user_id
        self.members.data = [m.user_id for m in step.members]
        self.quorum.data = step.quorum.value
        self.quorum_n.data = step.quorum_n
        return self


class PreviewForm(FlaskForm):
    """Where would a requisition go? Read from the query string (a GET changes nothing)."""

    class Meta:
        csrf = False

    amount = MoneyField(_l("Amount (gross)"), validators=[InputRequired(_l("Enter an amount."))])
    cost_center = SelectField(_l("Cost centre"), coerce=_optional_int, validate_choice=False,
                              validators=[InputRequired(_l("Choose a cost centre."))])
    category = SelectField(_l("Category"), coerce=_optional_int, validate_choice=False)

    def set_choices(self, *, cost_centers, categories):
        self.cost_center.choices = [SelectChoice(c.id, c.label) for c in cost_centers]
        self.category.choices = [SelectChoice("", _l("No category"))] + [
            SelectChoice(c.id, c.name) for c in categories
        ]
        return self


class DelegationForm(OnceForm):
    delegate = SelectField(_l("Delegate"), coerce=_optional_int, validate_choice=False,
                           validators=[InputRequired(_l("Choose a delegate."))])
    starts_on = DayField(_l("From"), validators=[InputRequired(_l("Enter the first day."))])
    ends_on = DayField(_l("To"), validators=[InputRequired(_l("Enter the last day."))],
                        description=_l("The delegate decides until the end of this day."))

    def set_choices(self, users):
        self.delegate.choices = [SelectChoice("", _l("Choose a colleague"))] + [
            SelectChoice(u.id, u.full_name) for u in users
        ]
        return self
