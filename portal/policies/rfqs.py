"""Rules of the buyer's RFQs. Buyers and admins run them; approvers read them (they follow the
requisitions they approved into sourcing). The state rules come from `portal.domain.rfq`; a
deadline (a moment) is checked by the services against the business clock (portal/services/clock.py), not here.
"""

from __future__ import annotations

from portal.domain import rfq as rules
from portal.domain.messages import N_, Msg
from portal.domain.rfq import RfqAction
from portal.domain.roles import Role
from portal.errors import InvalidTransition
from portal.policies.core import buyer_with, rule


def _runs_rfqs(user) -> bool:
    return buyer_with(user, Role.BUYER, Role.ADMIN)


def _state(obj, allowed: bool, text: str):
    """True, or the refusal naming the RFQ's status."""
    if allowed:
        return True
    return InvalidTransition(Msg(text, {"status": rules.status_word(obj.status)}))


@rule("rfqs.view")
def _rfqs_view(user, obj) -> bool:
    """Everyone of a buying company who works with requisitions reads its RFQs."""
    return buyer_with(user, Role.BUYER, Role.ADMIN, Role.APPROVER)


@rule("rfqs.create")
def _rfqs_create(user, obj) -> bool:
    """Buyers and admins put approved requisitions out for quotes."""
    return _runs_rfqs(user)


@rule("rfqs.edit")
def _rfqs_edit(user, obj):
    """Lines, suppliers, files and the header of a draft; after publishing only an amendment."""
    if not _runs_rfqs(user):
        return False
    if obj is None:
        return True
    return _state(obj, rules.editable(obj), N_(
        "Only a draft RFQ can be changed; this one is %(status)s. Publish an amendment instead."))


@rule("rfqs.publish")
def _rfqs_publish(user, obj):
    if not _runs_rfqs(user):
        return False
    return obj is None or _state(obj, rules.allowed(obj.status, RfqAction.PUBLISH), N_(
        "Only a draft RFQ can be published; this one is %(status)s."))


@rule("rfqs.amend")
def _rfqs_amend(user, obj):
    if not _runs_rfqs(user):
        return False
    return obj is None or _state(obj, str(obj.status) == rules.OPEN, N_(
        "Only an open RFQ can be amended; this one is %(status)s."))


@rule("rfqs.cancel")
def _rfqs_cancel(user, obj):
    if not _runs_rfqs(user):
        return False
    return obj is None or _state(obj, rules.allowed(obj.status, RfqAction.CANCEL), N_(
        "This RFQ is %(status)s and can no longer be cancelled."))


@rule("rfqs.close")
def _rfqs_close(user, obj):
    """Closing for quotes (the service checks the deadline or that everyone answered)."""
    if not _runs_rfqs(user):
        return False
    return obj is None or _state(obj, rules.allowed(obj.status, RfqAction.CLOSE), N_(
        "Only an open RFQ can be closed; this one is %(status)s."))


@rule("rfqs.open_quotes")
def _rfqs_open_quotes(user, obj):
    """Opening sealed quotes (the service checks that quoting is over)."""
    if not _runs_rfqs(user):
        return False
    if obj is None:
        return True
    if not obj.sealed or obj.opened_at is not None:
        return InvalidTransition(Msg(N_("The quotes of this RFQ are already visible.")))
    return _state(obj, str(obj.status) in (rules.OPEN, rules.CLOSED), N_(
        "The quotes of an RFQ that is %(status)s cannot be opened."))


@rule("rfqs.answer")
def _rfqs_answer(user, obj):
    """Answering a supplier's question, published to every invited supplier."""
    if not _runs_rfqs(user):
        return False
    rfq = getattr(obj, "rfq", obj)
    return rfq is None or _state(rfq, str(rfq.status) in (rules.OPEN, rules.CLOSED), N_(
        "Questions on an RFQ that is %(status)s can no longer be answered."))


@rule("rfqs.award")
def _rfqs_award(user, obj):
    """Awarding (comparison and award, helper C): buyers and admins, once quoting is over (the
    service checks the deadline and the sealed opening against the business clock (portal/services/clock.py))."""
    if not _runs_rfqs(user):
        return False
    return obj is None or _state(obj, str(obj.status) in (rules.OPEN, rules.CLOSED), N_(
        "Only a closed RFQ can be awarded; this one is %(status)s."))
