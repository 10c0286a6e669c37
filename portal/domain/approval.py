"""Approval routing: which steps apply to a requisition, and who may decide each.

Pure: the caller passes the policy's steps and a directory of the company's users as plain
data; the result says, per task, who approves, how many must, and why it was routed there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from portal.domain.messages import N_, Msg, decode_params
from portal.money import Money


class ApproverKind(StrEnum):
    USER = "user"
    COST_CENTER_MANAGER = "cost_center_manager"
    APPROVER_LIMIT = "approver_limit"
    GROUP = "group"


class Quorum(StrEnum):
    ANY = "any"
    ALL = "all"
    N_OF_M = "n_of_m"


class TaskStatus(StrEnum):
    WAITING = "waiting"  # a later step, not yet active
    PENDING = "pending"  # active: approvers may decide
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    CANCELLED = "cancelled"  # the requisition was cancelled, rejected or returned elsewhere


OPEN_TASK = frozenset({TaskStatus.WAITING, TaskStatus.PENDING})


@dataclass(frozen=True)
class StepSpec:
    position: int
    name: str
    approver_kind: ApproverKind
    min_amount: Decimal | None = None
    cost_center_id: int | None = None
    cost_center_code: str | None = None
    category_id: int | None = None
    category_code: str | None = None
    approver_user_id: int | None = None
    member_ids: tuple[int, ...] = ()
    quorum: Quorum = Quorum.ANY
    quorum_n: int | None = None
    step_id: int | None = None


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    active: bool = True
    is_approver: bool = False
    is_admin: bool = False
    approval_limit: Decimal | None = None  # None: no limit

    def covers(self, amount: Decimal) -> bool:
        return self.approval_limit is None or self.approval_limit >= amount


@dataclass(frozen=True)
class Facts:
    """What routing needs to know about the requisition."""

    amount: Decimal
    currency: str
    cost_center_id: int
    requester_id: int
    category_id: int | None = None
    cost_center_manager_id: int | None = None


@dataclass(frozen=True)
class PlannedTask:
    position: int
    name: str
    approver_ids: tuple[int, ...]
    quorum: Quorum
    required: int
    reason: Msg
    step_id: int | None = None
    fallback: bool = False


@dataclass
class Plan:
    tasks: list[PlannedTask] = field(default_factory=list)
    problem: Msg | None = None


def step_applies(step: StepSpec, facts: Facts) -> bool:
    """A step applies when every condition it sets holds (amount at or above the threshold)."""
    if step.min_amount is not None and facts.amount < step.min_amount:
        return False
    if step.cost_center_id is not None and step.cost_center_id != facts.cost_center_id:
        return False
    return step.category_id is None or step.category_id == facts.category_id


# Why a step applies, one whole sentence per combination of its conditions (amount, cost
# centre, category) and per fallback to the admins: the text is stored on the task and
# translated when shown, so it must be a msgid of the catalogue, not pieces joined here (and
# other languages need their own word order).
_REASONS = {
    (False, False, False): (
        N_("Rule “%(step)s” applies to every requisition"),
        N_("Rule “%(step)s” applies to every requisition; no eligible approver, so the company "
           "admins decide"),
    ),
    (True, False, False): (
        N_("Rule “%(step)s”: amount %(amount)s ≥ %(threshold)s"),
        N_("Rule “%(step)s”: amount %(amount)s ≥ %(threshold)s; no eligible "
           "approver, so the company admins decide"),
    ),
    (False, True, False): (
        N_("Rule “%(step)s”: cost centre is %(cost_center)s"),
        N_("Rule “%(step)s”: cost centre is %(cost_center)s; no eligible approver, so the "
           "company admins decide"),
    ),
    (False, False, True): (
        N_("Rule “%(step)s”: category is %(category)s"),
        N_("Rule “%(step)s”: category is %(category)s; no eligible approver, so the company "
           "admins decide"),
    ),
    (True, True, False): (
        N_("Rule “%(step)s”: amount %(amount)s ≥ %(threshold)s and cost centre is "
           "%(cost_center)s"),
        N_("Rule “%(step)s”: amount %(amount)s ≥ %(threshold)s and cost centre is "
           "%(cost_center)s; no eligible approver, so the company admins decide"),
    ),
    (True, False, True): (
        N_("Rule “%(step)s”: amount %(amount)s ≥ %(threshold)s and category is "
           "%(category)s"),
        N_("Rule “%(step)s”: amount %(amount)s ≥ %(threshold)s and category is "
           "%(category)s; no eligible approver, so the company admins decide"),
    ),
    (False, True, True): (
        N_("Rule “%(step)s”: cost centre is %(cost_center)s and category is %(category)s"),
        N_("Rule “%(step)s”: cost centre is %(cost_center)s and category is %(category)s; no "
           "eligible approver, so the company admins decide"),
    ),
    (True, True, True): (
        N_("Rule “%(step)s”: amount %(amount)s ≥ %(threshold)s and cost centre is "
           "%(cost_center)s and category is %(category)s"),
        N_("Rule “%(step)s”: amount %(amount)s ≥ %(threshold)s and cost centre is "
           "%(cost_center)s and category is %(category)s; no eligible approver, so the company "
           "admins decide"),
    ),
}


def _conditions(step: StepSpec, facts: Facts, *, fallback: bool = False) -> Msg:
    params: dict = {"step": step.name}
    if step.min_amount is not None:
        params.update(amount=Money(facts.amount, facts.currency),
                      threshold=Money(step.min_amount, facts.currency))
    if step.cost_center_id is not None:
        params["cost_center"] = step.cost_center_code or step.cost_center_id
    if step.category_id is not None:
        params["category"] = step.category_code or step.category_id
    key = (step.min_amount is not None, step.cost_center_id is not None,
           step.category_id is not None)
    return Msg(_REASONS[key][fallback], params)


def _candidates(step: StepSpec, facts: Facts, people: dict[int, Person]) -> list[int]:
    kind = step.approver_kind
    if kind == ApproverKind.USER:
        return [step.approver_user_id] if step.approver_user_id else []
    if kind == ApproverKind.COST_CENTER_MANAGER:
        return [facts.cost_center_manager_id] if facts.cost_center_manager_id else []
    if kind == ApproverKind.APPROVER_LIMIT:
        # An approver without a limit covers any amount (Person.covers), as everywhere else.
        return sorted(p.id for p in people.values() if p.is_approver and p.covers(facts.amount))
    return list(step.member_ids)


def _required(quorum: Quorum, quorum_n: int | None, eligible: int) -> int:
    if quorum == Quorum.ALL:
        return eligible
    if quorum == Quorum.N_OF_M:
        return max(1, min(quorum_n or 1, eligible))
    return 1


def eligible(person: Person | None, facts: Facts) -> bool:
    """May this person decide a task of this requisition? Never the requester; only active
    users; an approver whose limit is below the amount may not."""
    return (
        person is not None
        and person.active
        and person.id != facts.requester_id
        and person.covers(facts.amount)
    )


def route(steps: list[StepSpec], facts: Facts, people: dict[int, Person]) -> Plan:
    """Materialise the applicable steps, in order, with their approvers and the reason.

    A step whose approvers are all ineligible (the requester, inactive, limit too low) goes to
    the company admins who are eligible themselves (active, not the requester, limit covering
    the amount); if there are none, routing fails with a problem message and the requisition
    cannot be submitted.
    """
    plan = Plan()
    for step in sorted(steps, key=lambda s: s.position):
        if not step_applies(step, facts):
            continue
        reason = _conditions(step, facts)
        approvers = [pid for pid in _candidates(step, facts, people) if eligible(people.get(pid), facts)]
        fallback = False
        if not approvers:
            # Only admins who could actually approve: an admin who is also an approver with a
            # limit below the amount would leave the task stuck.
            approvers = sorted(p.id for p in people.values() if p.is_admin and eligible(p, facts))
            fallback = True
            reason = _conditions(step, facts, fallback=True)
        if not approvers:
            plan.problem = Msg(
                N_("Nobody can approve step “%(step)s”: ask your admin to fix the approval policy."),
                {"step": step.name},
            )
            return plan
        quorum = Quorum.ANY if fallback else step.quorum
        plan.tasks.append(
            PlannedTask(
                position=len(plan.tasks) + 1,
                name=step.name,
                approver_ids=tuple(dict.fromkeys(approvers)),
                quorum=quorum,
                required=_required(quorum, step.quorum_n, len(set(approvers))),
                reason=reason,
                step_id=step.step_id,
                fallback=fallback,
            )
        )
    return plan


def task_outcome(required: int, decisions: list[str | None]) -> TaskStatus:
    """A task's state from its approvers' decisions: one reject or return ends it; it is
    approved once `required` approvals are in."""
    if "reject" in decisions:
        return TaskStatus.REJECTED
    if "return" in decisions:
        return TaskStatus.RETURNED
    if sum(1 for d in decisions if d == "approve") >= required:
        return TaskStatus.APPROVED
    return TaskStatus.PENDING


# Amounts in reasons stored before they were typed: formatted strings ("1,234.50") next to a
# `currency` parameter, in a message id that says "%(amount)s %(currency)s".
_LEGACY_AMOUNTS = ("amount", "threshold", "over")


def reason_message(text: str, params: dict | None) -> Msg:
    """A task's stored routing reason (`ApprovalTask.reason`, `reason_params`) as a message.

    Tolerant of rows written before amounts were typed: their formatted amounts become `Money`
    and their message id the current one, so old and new rows read alike in every language.
    """
    params = decode_params(params or {})
    currency = params.get("currency")
    if currency and " %(currency)s" in text:
        for key in _LEGACY_AMOUNTS:
            value = params.get(key)
            if isinstance(value, str):
                try:
                    params[key] = Money(Decimal(value.replace(",", "").replace("\xa0", "")), currency)
                except ArithmeticError:
                    continue
        if all(not isinstance(params.get(key), str) for key in _LEGACY_AMOUNTS):
            text = text.replace(" %(currency)s", "")
            params.pop("currency")
    return Msg(text, params)
