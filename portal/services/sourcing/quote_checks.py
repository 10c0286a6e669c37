"""The rules a quote's input and timing must meet, shared by the quote services: limits, the
deadline check (naming the deadline), per-line checks, and telling the buyer.

No reads of other suppliers here; nothing writes except `tell_buyer`'s notifications.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from portal.domain import rfq as rules
from portal.domain.messages import N_, Link, Msg
from portal.domain.vat import line_net
from portal.errors import InvalidTransition, ValidationProblem
from portal.models import Rfq
from portal.models.types import UnitPrice
from portal.services.notifications import notify_organization
from portal.services.requisitions import MAX_AMOUNT

MAX_REFERENCE = 60
MAX_NOTES = 5000
MAX_CHARGES_NOTE = 200
MAX_ALTERNATIVE = 300
MAX_LINE_NOTE = 2000
MAX_REASON = 2000
MAX_QUESTION = 2000
MAX_LEAD_TIME = 3650
MAX_UNIT_PRICE = UnitPrice().max_value
PRICE_PLACES = Decimal("0.0001")
# Who at the buyer hears of a quote, a decline or a question.
BUYER_ROLES = ("buyer", "admin")


class QuoteProblem(ValidationProblem):
    """Input a rule refuses; `field` names the form field it belongs beside ("valid_until",
    "line_<rfq_line_id>_unit_price", or "lines" for the lines as a whole)."""

    def __init__(self, message, field: str = ""):
        super().__init__(message)
        self.field = field


@dataclass
class QuoteLineInput:
    """What the supplier offers for one RFQ line; `unit_price` None = not quoted."""

    unit_price: Decimal | None = None
    lead_time_days: int | None = None
    delivery_date: date | None = None
    alternative: str = ""
    note: str = ""


# ---------------------------------------------------------------- checks


def require_accepting(rfq: Rfq, now: datetime) -> None:
    """Refuse once the RFQ no longer takes quotes, naming the deadline."""
    if rules.accepting_quotes(rfq, now):
        return
    if rules.past_deadline(rfq, now) and rfq.status in ("open", "closed"):
        raise InvalidTransition(Msg(N_(
            "The deadline for quotes was %(deadline)s. The buyer no longer accepts quotes or "
            "changes to this RFQ; nothing was saved."), {"deadline": rfq.deadline}))
    raise InvalidTransition(Msg(N_(
        "This RFQ is %(status)s and no longer takes quotes; nothing was saved."),
        {"status": rules.status_word(rfq.status)}))


def text_of(value: str | None, limit: int, field: str, what: str) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise QuoteProblem(Msg(N_("%(what)s may be at most %(n)s characters."),
                               {"what": Msg(what), "n": limit}), field)
    return value


def charge(value: Decimal | None, field: str) -> Decimal:
    value = Decimal("0.00") if value is None else value
    if value < 0:
        raise QuoteProblem(Msg(N_("A charge cannot be negative.")), field)
    if value > MAX_AMOUNT:
        raise QuoteProblem(Msg(N_("The amount is too large.")), field)
    if value != value.quantize(Decimal("0.01")):
        raise QuoteProblem(Msg(N_("Use at most %(places)s decimal places."), {"places": 2}), field)
    return value.quantize(Decimal("0.01"))


def line_values(rfq_line, given: QuoteLineInput, today: date, currency: str) -> dict:
    field = f"line_{rfq_line.id}_"
    price = given.unit_price
    if price is not None:
        if price <= 0:
            raise QuoteProblem(Msg(N_("Enter a price greater than zero, or leave the line empty.")),
                               field + "unit_price")
        if price > MAX_UNIT_PRICE:
            raise QuoteProblem(Msg(N_("The price is too large.")), field + "unit_price")
        if price != price.quantize(PRICE_PLACES):
            raise QuoteProblem(Msg(N_("Use at most %(places)s decimal places."), {"places": 4}),
                               field + "unit_price")
        price = price.quantize(PRICE_PLACES)
    net = None if price is None else line_net(rfq_line.quantity, price, currency)
    if net is not None and net > MAX_AMOUNT:
        raise QuoteProblem(Msg(N_("The line total is too large.")), field + "unit_price")
    lead = given.lead_time_days
    if lead is not None and not 0 <= lead <= MAX_LEAD_TIME:
        raise QuoteProblem(Msg(N_("Enter a lead time between 0 and %(n)s days."),
                               {"n": MAX_LEAD_TIME}), field + "lead_time_days")
    if given.delivery_date is not None and given.delivery_date < today:
        raise QuoteProblem(Msg(N_("The delivery date cannot be in the past.")),
                           field + "delivery_date")
    return {
        "unit_price": price, "net": net, "lead_time_days": lead,
        "delivery_date": given.delivery_date,
        "alternative": text_of(given.alternative, MAX_ALTERNATIVE, field + "alternative",
                             N_("The alternative offered")),
        "note": text_of(given.note, MAX_LINE_NOTE, field + "note", N_("A line note")),
    }


def deadline_day(rfq: Rfq) -> date:
    """The deadline's calendar day where the buyer set it."""
    return rfq.deadline.astimezone(ZoneInfo(rfq.time_zone or "Europe/Warsaw")).date()


def tell_buyer(rfq: Rfq, text: str, actor, **params) -> None:
    notify_organization(rfq.organization_id, text, roles=BUYER_ROLES,
                        link=Link("rfqs.detail", {"rfq_id": rfq.id}),
                        supplier=actor.organization.name, rfq=rfq.number, **params)
