"""Rules of requisitions. The moves (submit, cancel) come from the domain's transition table
(`portal.domain.requisition.allowed_actions` and `MOVERS`): a status that allows no such move
refuses with InvalidTransition, an actor who is not the one to make it with PermissionDenied.
"""

from __future__ import annotations

from portal.domain.labels import requisition_status_word
from portal.domain.messages import N_, Msg
from portal.domain.requisition import (
    CANCEL_MOVES,
    MOVERS,
    NOT_THE_MOVER,
    Action,
    Party,
    RequisitionStatus,
    allowed_actions,
    refused_transition,
)
from portal.domain.roles import Role
from portal.errors import InvalidTransition
from portal.policies.core import buyer_with, is_buyer_org, refuse, rule


def parties(user, req) -> set[Party]:
    """How `user` stands to `req`: its requester, a company admin, both or neither."""
    found = set()
    if req.requester_id == user.id:
        found.add(Party.REQUESTER)
    if user.has_role(Role.ADMIN):
        found.add(Party.ADMIN)
    return found


def transition_refusal(req, action: Action) -> InvalidTransition:
    """The table's refusal, naming the status in the reader's words."""
    msg = refused_transition(req.status, action)
    return InvalidTransition(Msg(msg.text, {**msg.params, "status": requisition_status_word(req.status)}))


def _move(user, req, moves: tuple[Action, ...], *, wrong_status: Msg | None = None):
    """May `user` make one of `moves` on `req` now? The table decides which moves the status
    allows and who makes them."""
    if req is None or not is_buyer_org(user):
        return False
    mine = parties(user, req)
    possible = [a for a in moves if a in allowed_actions(req.status)]
    if possible:
        if any(a in allowed_actions(req.status, mine) for a in possible):
            return True
        return refuse(NOT_THE_MOVER[possible[0]])
    # The status allows none of the moves: who the actor is comes first (403 unless they make
    # the first, usual move: the requester's), then the state (InvalidTransition).
    if MOVERS[moves[0]] not in mine:
        return refuse(NOT_THE_MOVER[moves[0]])
    if wrong_status is not None:
        return InvalidTransition(wrong_status)
    return transition_refusal(req, moves[0])


@rule("requisitions.create")
def _req_create(user, obj):
    """Buyers raise requisitions."""
    if buyer_with(user, Role.BUYER):
        return True
    return refuse(N_("Only buyers raise requisitions."))


@rule("requisitions.view_all")
def _req_view_all(user, obj) -> bool:
    """Approvers and admins see every requisition of the company."""
    return buyer_with(user, Role.APPROVER, Role.ADMIN)


@rule("requisitions.view")
def _req_view(user, obj) -> bool:
    """The requester, and the company's approvers and admins."""
    if not is_buyer_org(user):
        return False
    if obj is None:
        return user.has_role(Role.BUYER, Role.APPROVER, Role.ADMIN)
    return obj.requester_id == user.id or user.has_role(Role.APPROVER, Role.ADMIN)


@rule("requisitions.edit")
def _req_edit(user, obj):
    """Only the requester, only while it is a draft (the table's editable statuses)."""
    from portal.domain.requisition import EDITABLE

    if not is_buyer_org(user):
        return False
    if obj is None:
        return user.has_role(Role.BUYER)
    if obj.requester_id != user.id:
        return refuse(N_("Only the requester can change this requisition."))
    if obj.status not in EDITABLE:
        return InvalidTransition(Msg(N_("Only a draft can be changed. This requisition is %(status)s."),
                                     {"status": requisition_status_word(obj.status)}))
    return True


@rule("requisitions.submit")
def _req_submit(user, obj):
    """The requester submits a draft."""
    return _move(user, obj, (Action.SUBMIT,), wrong_status=Msg(N_("Only a draft can be submitted.")))


@rule("requisitions.cancel")
def _req_cancel(user, obj):
    """The cancel rule, from the table: the requester cancels a draft or pending requisition, an
    admin an approved one."""
    return _move(user, obj, CANCEL_MOVES)


@rule("requisitions.duplicate")
def _req_duplicate(user, obj) -> bool:
    return buyer_with(user, Role.BUYER) and (obj is None or _req_view(user, obj))


@rule("requisitions.comment")
def _req_comment(user, obj) -> bool:
    return _req_view(user, obj)


# Files can be added while the requisition is still open for change or decision.
ATTACHABLE = frozenset({RequisitionStatus.DRAFT, RequisitionStatus.PENDING})


@rule("requisitions.attach")
def _req_attach(user, obj):
    """The requester attaches files to a draft or pending requisition."""
    if obj is None or not is_buyer_org(user):
        return False
    if obj.status not in ATTACHABLE:
        return InvalidTransition(Msg(N_("Files can be attached only to drafts and pending requisitions.")))
    if obj.requester_id != user.id:
        return refuse(N_("Only the requester can attach files."))
    return True
