"""The RFQ lifecycle after drafting: publish with a deadline, numbered amendments, cancel,
close (after the deadline or early), the sealed opening, the deadline sweep, and clarifications
published anonymously to every invited supplier.

Part of `portal.services.sourcing.rfqs` (which re-exports it); the caller commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from portal.domain import rfq as rules
from portal.domain.messages import N_, Msg
from portal.domain.rfq import RfqAction
from portal.errors import InvalidTransition
from portal.extensions import db
from portal.models import LinkStatus
from portal.models.base import utcnow
from portal.models.rfq import (
    InvitationStatus,
    Rfq,
    RfqClarification,
    RfqQuestion,
    RfqStatus,
)
from portal.policies import enforce
from portal.services import audit
from portal.services.catalog import FieldProblem
from portal.services.locks import lock_requisition
from portal.services.sourcing.rfq_drafting import (
    _move,
    _now,
    _tell_suppliers,
    _text,
    _unsource,
    mirror_on_invitations,
    source_requisitions,
)

# --- the lifecycle -----------------------------------------------------------------------------


def publish(rfq: Rfq, actor, *, deadline: datetime | None, now: datetime | None = None) -> Rfq:
    """Send a draft to its invited suppliers with a response deadline (aware, in the future).
    Needs at least one line and one invited supplier whose link is still active. Notifies
    every invited supplier. Raises InvalidTransition, FieldProblem."""
    enforce(actor, "rfqs.publish", rfq)
    now = _now(now)
    problem = rules.deadline_problem(deadline, now)
    if problem:
        raise FieldProblem(problem, "deadline")
    if not rfq.lines:
        raise FieldProblem(Msg(N_("Add at least one line before publishing.")), "")
    if not rfq.invitations:
        raise FieldProblem(Msg(N_("Invite at least one supplier before publishing.")), "")
    for invitation in rfq.invitations:
        if invitation.link.status != LinkStatus.ACTIVE:
            raise FieldProblem(Msg(N_(
                "%(name)s is no longer an active supplier: remove it before publishing."),
                {"name": invitation.supplier.name}), "")
    _move(rfq, RfqAction.PUBLISH)
    rfq.deadline = deadline
    rfq.published_at = now
    mirror_on_invitations(rfq)
    audit.record(actor=actor, action="rfq.published", obj=rfq,
                 summary={"deadline": deadline, "suppliers": len(rfq.invitations)})
    _tell_suppliers(rfq, N_("%(buyer)s asks you to quote on %(number)s \u201c%(title)s\u201d by "
                            "%(deadline)s."), deadline=deadline)
    db.session.flush()
    return rfq


def amend(rfq: Rfq, actor, *, note: str, deadline: datetime | None = None,
          description: str | None = None, now: datetime | None = None) -> Rfq:
    """A numbered amendment of an open RFQ: a note for the suppliers and optionally a new
    deadline (in the future) or description. Every invited supplier is told; those who already
    quoted are asked to confirm their quote or revise it. An open RFQ past its deadline is
    amended only with a new deadline. Raises InvalidTransition, FieldProblem."""
    enforce(actor, "rfqs.amend", rfq)
    now = _now(now)
    note = _text(note, "note", required=True,
                 missing=N_("Say what changed: the suppliers read this note."))
    changes = {}
    if deadline is not None:
        problem = rules.deadline_problem(deadline, now)
        if problem:
            raise FieldProblem(problem, "deadline")
        if deadline != rfq.deadline:
            changes["deadline"] = (rfq.deadline, deadline)
    elif rules.past_deadline(rfq, now):
        raise FieldProblem(Msg(N_(
            "The response deadline has passed: set a new one to amend this RFQ.")), "deadline")
    if description is not None:
        description = _text(description, "description")
        if description != rfq.description:
            changes["description"] = (rfq.description, description)
    rfq.amendment += 1
    for invitation in rfq.invitations:  # each supplier's API list syncs on its invitation's updated_at
        invitation.updated_at = utcnow()
    if "deadline" in changes:
        rfq.deadline = deadline
        mirror_on_invitations(rfq)
    if "description" in changes:
        rfq.description = description
    audit.record(actor=actor, action="rfq.amended", obj=rfq, comment=note,
                 summary={"amendment": rfq.amendment}, changes=changes)
    quoted = [i for i in rfq.invitations if i.status == InvitationStatus.QUOTED]
    others = [i for i in rfq.invitations if i.status != InvitationStatus.QUOTED]
    _tell_suppliers(rfq, N_("%(buyer)s amended %(number)s \u201c%(title)s\u201d (amendment "
                            "%(amendment)s): %(note)s Answer by %(deadline)s."),
                    others, amendment=rfq.amendment, note=note, deadline=rfq.deadline)
    _tell_suppliers(rfq, N_("%(buyer)s amended %(number)s \u201c%(title)s\u201d (amendment "
                            "%(amendment)s): %(note)s Please confirm your quote or revise it "
                            "by %(deadline)s."),
                    quoted, amendment=rfq.amendment, note=note, deadline=rfq.deadline)
    db.session.flush()
    return rfq


def cancel(rfq: Rfq, actor, *, reason: str, now: datetime | None = None) -> Rfq:
    """Cancel a draft, open or closed RFQ with a reason: its requisitions go back to approved
    (ready for another RFQ) and, once published, the invited suppliers are told."""
    enforce(actor, "rfqs.cancel", rfq)
    now = _now(now)
    reason = _text(reason, "reason", required=True,
                   missing=N_("Give a reason: the invited suppliers read it."))
    published = rfq.status != RfqStatus.DRAFT
    _move(rfq, RfqAction.CANCEL)
    rfq.cancelled_at = now
    rfq.cancel_reason = reason
    mirror_on_invitations(rfq)
    audit.record(actor=actor, action="rfq.cancelled", obj=rfq, comment=reason)
    for req in source_requisitions(rfq):
        lock_requisition(req, tasks=False)
        _unsource(req, actor, rfq, why="rfq_cancelled")
    if published:
        _tell_suppliers(rfq, N_("%(buyer)s cancelled %(number)s \u201c%(title)s\u201d: "
                                "%(reason)s"), reason=reason)
    db.session.flush()
    return rfq


def close(rfq: Rfq, actor, *, now: datetime | None = None) -> Rfq:
    """Close an open RFQ for quotes: after its deadline, or early once every invited supplier
    quoted or declined. Raises InvalidTransition otherwise."""
    enforce(actor, "rfqs.close", rfq)
    now = _now(now)
    if not rules.may_close(rfq, rfq.invitations, now):
        raise InvalidTransition(Msg(N_(
            "Quotes are accepted until %(deadline)s. You can close earlier once every invited "
            "supplier has quoted or declined."), {"deadline": rfq.deadline}))
    early = not rules.past_deadline(rfq, now)
    _close(rfq, actor, now, early=early)
    db.session.flush()
    return rfq


def _close(rfq: Rfq, actor, when: datetime, *, early: bool) -> None:
    _move(rfq, RfqAction.CLOSE)
    rfq.closed_at = when
    mirror_on_invitations(rfq)
    audit.record(actor=actor, action="rfq.closed", obj=rfq, summary={"early": early})


def open_quotes(rfq: Rfq, actor, *, now: datetime | None = None) -> Rfq:
    """Open a sealed RFQ's quotes: only once quoting is over (closed, or past the deadline,
    which this records as the close). Records who opened them and when (audit rfq.opened).
    Raises InvalidTransition before the deadline or when not sealed / already opened."""
    enforce(actor, "rfqs.open_quotes", rfq)
    now = _now(now)
    if not rules.may_open(rfq, now):
        raise InvalidTransition(Msg(N_(
            "The quotes stay sealed until the deadline (%(deadline)s) or until the RFQ is "
            "closed early."), {"deadline": rfq.deadline}))
    if rfq.status == RfqStatus.OPEN:
        _close(rfq, actor, now, early=False)
    rfq.opened_at = now
    rfq.opened_by_id = actor.id
    audit.record(actor=actor, action="rfq.opened", obj=rfq,
                 summary={"opened_by": actor.full_name, "at": now})
    db.session.flush()
    return rfq


def expire_deadlines(now: datetime | None = None) -> int:
    """Record the close of every open RFQ (in the current scope) whose deadline has passed,
    as of its deadline, by the system. Quoting already stopped at the deadline
    (`domain.accepting_quotes`); this only makes the status say so. Returns how many."""
    now = _now(now)
    due = list(db.session.scalars(
        select(Rfq).where(Rfq.status == RfqStatus.OPEN, Rfq.deadline <= now)))
    for rfq in due:
        _close(rfq, None, rfq.deadline, early=False)
    db.session.flush()
    return len(due)


# --- clarifications ----------------------------------------------------------------------------


def _publish_clarification(rfq: Rfq, actor, question: str, answer: str,
                           now: datetime) -> RfqClarification:
    clarification = RfqClarification(question=question, answer=answer, published_by_id=actor.id,
                                     published_at=now)
    rfq.clarifications.append(clarification)
    db.session.flush()
    audit.record(actor=actor, action="rfq.clarification_published", obj=rfq,
                 summary={"clarification": clarification.id})
    _tell_suppliers(rfq, N_("%(buyer)s published a clarification on %(number)s "
                            "\u201c%(title)s\u201d."))
    return clarification


def answer_question(question: RfqQuestion, actor, *, answer: str,
                    question_text: str | None = None,
                    now: datetime | None = None) -> RfqClarification:
    """Answer a supplier's question: the question (as asked, or as the buyer rewords it to keep
    the asker unrecognisable) and the answer are published to every invited supplier without
    naming who asked. Raises InvalidTransition for an answered question or a finished RFQ."""
    enforce(actor, "rfqs.answer", question)
    if question.clarification_id is not None:
        raise InvalidTransition(Msg(N_("This question is already answered.")))
    text = _text(question.body if question_text is None else question_text, "question_text",
                 required=True, missing=N_("Enter the question as the suppliers will read it."))
    answer = _text(answer, "answer", required=True, missing=N_("Write the answer."))
    now = _now(now)
    clarification = _publish_clarification(question.rfq, actor, text, answer, now)
    question.clarification_id = clarification.id
    question.answered_at = now
    db.session.flush()
    return clarification


def publish_clarification(rfq: Rfq, actor, *, question: str, answer: str,
                          now: datetime | None = None) -> RfqClarification:
    """A clarification the buyer publishes unasked (a point several suppliers will wonder
    about): to every invited supplier."""
    enforce(actor, "rfqs.answer", rfq)
    question = _text(question, "question_text", required=True,
                     missing=N_("Enter the question as the suppliers will read it."))
    answer = _text(answer, "answer", required=True, missing=N_("Write the answer."))
    return _publish_clarification(rfq, actor, question, answer, _now(now))
