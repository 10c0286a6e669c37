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
class LineFacts:
    """A requisition line as routing sees it: its number and text (for the reason), category."""

    position: int
    description: str
    category_id: int | None
    category_code: str | None = None


@dataclass(frozen=True)
class Facts:
    """What routing needs to know about the requisition."""

    amount: Decimal
    currency: str
    cost_center_id: int
    requester_id: int
    category_id: int | None = None
    cost_center_manager_id: int | None = None
    # The lines' categories (from their catalogue items): a step with a category applies when
    # the header or any line is in it, so leaving the optional header empty does not bypass it.
    lines: tuple[LineFacts, ...] = ()


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
    return step.category_id is None or _category_match(step, facts) is not None


def _category_match(step: StepSpec, facts: Facts) -> str | LineFacts | None:
    """What puts the requisition in the step's category: "header", the first such line, or None.

    Categories are flat (no parents), so a match is an equal id."""
    if facts.category_id == step.category_id:
        return "header"
    return next((line for line in facts.lines if line.category_id == step.category_id), None)


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


def _conditions(step: StepSpec, facts: Facts) -> Msg:
    params: dict = {"step": step.name}
    if step.min_amount is not None:
        params.update(amount=Money(facts.amount, facts.currency),
                      threshold=Money(step.min_amount, facts.currency))
    if step.cost_center_id is not None:
        params["cost_center"] = step.cost_center_code or step.cost_center_id
    if step.category_id is not None:
        params["category"] = step.category_code or step.category_id
        match = _category_match(step, facts)
        if isinstance(match, LineFacts):
            # A line's text may be 300 characters long: the reason names it, it does not quote it.
            text = match.description if len(match.description) <= 40 else match.description[:39] + "…"
            params["category"] = Msg(N_("%(category)s (line %(line)s “%(description)s”)"),
                                     {"category": params["category"], "line": match.position,
                                      "description": text})
    key = (step.min_amount is not None, step.cost_center_id is not None,
           step.category_id is not None)
    # The second sentence of each pair is only read from rows stored before the reason said
    # why a step fell back (`_FALLBACK`); it stays in the table so it stays in the catalogue.
    return Msg(_REASONS[key][0], params)


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


def _why_nobody(step: StepSpec, candidates: list[int], facts: Facts, people: dict[int, Person]) -> Msg:
    """Why none of the step's approvers may decide (the first half of a fallback reason)."""
    amount = Money(facts.amount, facts.currency)
    if len(candidates) == 1:
        person = people.get(candidates[0])
        if person is None:
            return Msg(N_("no approver is named"))
        if person.id == facts.requester_id:
            return Msg(N_("%(name)s raised the requisition"), {"name": person.name})
        if not person.active:
            return Msg(N_("%(name)s is deactivated"), {"name": person.name})
        return Msg(N_("%(name)s may approve up to %(limit)s, less than %(amount)s"),
                   {"name": person.name, "limit": Money(person.approval_limit, facts.currency),
                    "amount": amount})
    if step.approver_kind == ApproverKind.COST_CENTER_MANAGER:
        return Msg(N_("the cost centre has no manager"))
    if step.approver_kind == ApproverKind.GROUP and candidates:
        return Msg(N_("no group member may approve %(amount)s"), {"amount": amount})
    if step.approver_kind == ApproverKind.APPROVER_LIMIT:
        return Msg(N_("no approver may approve %(amount)s"), {"amount": amount})
    return Msg(N_("no approver is named"))


# How a reason goes on after the rule's condition: a step fell to the admins, or (one person
# decides once per requisition) someone deciding an earlier step was left out. Whole clauses,
# one per case, the same person or several, so that each language has its own word order.
_FALLBACK = N_("%(rule)s; %(why)s, so the company admins decide")
_FALLBACK_AGAIN = N_("%(rule)s; %(why)s, so the company admins decide; they already decide on "
                     "an earlier step, but nobody else may, so the same people decide again")
_ONCE = {
    # (what happened, one person left out?) -> clause
    ("next", True): N_("%(rule)s; %(names)s already decides on step “%(earlier)s”, so the other "
                       "eligible approvers decide"),
    ("next", False): N_("%(rule)s; %(names)s already decide on earlier steps, so the other "
                        "eligible approvers decide"),
    ("admins", True): N_("%(rule)s; %(names)s already decides on step “%(earlier)s” and a person "
                         "decides once per requisition, so the company admins decide"),
    ("admins", False): N_("%(rule)s; %(names)s already decide on earlier steps and a person "
                          "decides once per requisition, so the company admins decide"),
    ("again", True): N_("%(rule)s; %(names)s already decides on step “%(earlier)s”, but nobody "
                        "else may decide, so the same person decides again"),
    ("again", False): N_("%(rule)s; %(names)s already decide on earlier steps, but nobody else "
                         "may decide, so the same people decide again"),
}


def _once_reason(case: str, rule: Msg, left_out: list[int], deciders: dict[int, str],
                 people: dict[int, Person]) -> Msg:
    names = ", ".join(people[pid].name if pid in people else str(pid) for pid in left_out)
    return Msg(_ONCE[case, len(left_out) == 1],
               {"rule": rule, "names": names, "earlier": deciders[left_out[0]]})


def _admins(facts: Facts, people: dict[int, Person]) -> list[int]:
    # Only admins who could actually approve: an admin who is also an approver with a limit
    # below the amount would leave the task stuck.
    return sorted(p.id for p in people.values() if p.is_admin and eligible(p, facts))


def _assign(step: StepSpec, facts: Facts, people: dict[int, Person], deciders: dict[int, str],
            decide_once: bool) -> tuple[list[int], Msg, bool]:
    """Who decides one applicable step, why, and whether it fell to the admins."""
    rule = _conditions(step, facts)
    candidates = _candidates(step, facts, people)
    approvers = [pid for pid in candidates if eligible(people.get(pid), facts)]
    if approvers:
        left_out = [pid for pid in approvers if pid in deciders] if decide_once else []
        if not left_out:
            return approvers, rule, False
        others = [pid for pid in approvers if pid not in deciders]
        if others:
            return others, _once_reason("next", rule, left_out, deciders, people), False
        admins = [pid for pid in _admins(facts, people) if pid not in deciders]
        if admins:
            return admins, _once_reason("admins", rule, left_out, deciders, people), True
        return approvers, _once_reason("again", rule, left_out, deciders, people), False
    why = _why_nobody(step, candidates, facts, people)
    admins = _admins(facts, people)
    fresh = [pid for pid in admins if pid not in deciders] if decide_once else admins
    if fresh:
        return fresh, Msg(_FALLBACK, {"rule": rule, "why": why}), True
    return admins, Msg(_FALLBACK_AGAIN, {"rule": rule, "why": why}), True


def route(steps: list[StepSpec], facts: Facts, people: dict[int, Person], *,
          decide_once: bool = False) -> Plan:
    """Materialise the applicable steps, in order, with their approvers and the reason.

    A step whose approvers are all ineligible (the requester, inactive, limit too low) goes to
    the company admins who are eligible themselves (active, not the requester, limit covering
    the amount), and the reason says why; if there are none, routing fails with a problem
    message and the requisition cannot be submitted.

    With `decide_once` (the company's "a person decides once per requisition"), a step that
    would go to someone already deciding an earlier step goes to its other eligible approvers,
    else to the company admins not yet deciding, else (nobody else may) to the same person;
    the reason says which.
    """
    plan = Plan()
    deciders: dict[int, str] = {}  # who decides an earlier step -> its name
    for step in sorted(steps, key=lambda s: s.position):
        if not step_applies(step, facts):
            continue
        approvers, reason, fallback = _assign(step, facts, people, deciders, decide_once)
        if not approvers:
            plan.problem = Msg(
                N_("Nobody can approve step “%(step)s”: ask your admin to fix the approval policy."),
                {"step": step.name},
            )
            return plan
        approvers = list(dict.fromkeys(approvers))
        for pid in approvers:
            deciders.setdefault(pid, step.name)
        quorum = Quorum.ANY if fallback else step.quorum
        plan.tasks.append(
            PlannedTask(
                position=len(plan.tasks) + 1,
                name=step.name,
                approver_ids=tuple(approvers),
                quorum=quorum,
                required=_required(quorum, step.quorum_n, len(approvers)),
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
