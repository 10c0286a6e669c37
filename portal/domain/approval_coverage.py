"""Which amounts of a policy no approver with a sufficient limit covers.

Pure, like the router (portal/domain/approval.py): the policy editor and its preview list these
bands as warnings, because a step whose approvers may not approve the amount silently goes to
the company admins. The requester is not known here, so the bands ignore segregation of duties
and "one person decides once"; the routing reason of each requisition says those.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from portal.domain.approval import ApproverKind, Person, StepSpec
from portal.domain.messages import N_, Msg
from portal.money import Money


@dataclass(frozen=True)
class CostCenterFacts:
    """An active cost centre: its code (shown) and manager (who a manager step goes to)."""

    id: int
    code: str
    manager_id: int | None


@dataclass(frozen=True)
class Band:
    """Requisitions of `step` (for `cost_center`, when it depends on one) above `above`
    (None: all of them) go to the company admins; `message` says so and why."""

    step: str
    cost_center: str | None
    above: Decimal | None
    message: Msg


# (names a cost centre?, every amount?) -> sentence
_BANDS = {
    (False, False): N_("Step “%(step)s”: requisitions above %(limit)s go to the company admins "
                       "(%(why)s)"),
    (True, False): N_("Step “%(step)s”, cost centre %(cost_center)s: requisitions above %(limit)s "
                      "go to the company admins (%(why)s)"),
    (False, True): N_("Step “%(step)s”: every requisition it applies to goes to the company "
                      "admins (%(why)s)"),
    (True, True): N_("Step “%(step)s”, cost centre %(cost_center)s: every requisition it applies "
                     "to goes to the company admins (%(why)s)"),
}

_UNLIMITED = object()


def _cap(people: list[Person]) -> Decimal | None | object:
    """The highest amount any of these (active) people may approve: _UNLIMITED, a limit, or
    None when there is nobody."""
    active = [p for p in people if p.active]
    if not active:
        return None
    if any(p.approval_limit is None for p in active):
        return _UNLIMITED
    return max(p.approval_limit for p in active)


def _one(person: Person | None, missing: Msg, currency: str) -> tuple[object, Msg]:
    if person is None:
        return None, missing
    if not person.active:
        return None, Msg(N_("%(name)s is deactivated"), {"name": person.name})
    if person.approval_limit is None:
        return _UNLIMITED, missing
    return person.approval_limit, Msg(N_("%(name)s may approve up to %(limit)s"),
                                      {"name": person.name,
                                       "limit": Money(person.approval_limit, currency)})


def _band(step: StepSpec, cost_center: str | None, cap, why: Msg, currency: str) -> Band | None:
    if cap is _UNLIMITED:
        return None
    always = cap is None or (step.min_amount is not None and step.min_amount > cap)
    params: dict = {"step": step.name, "why": why}
    if cost_center is not None:
        params["cost_center"] = cost_center
    if not always:
        params["limit"] = Money(cap, currency)
    return Band(step=step.name, cost_center=cost_center, above=None if always else cap,
                message=Msg(_BANDS[cost_center is not None, always], params))


def _step_bands(step: StepSpec, people: dict[int, Person], centers: list[CostCenterFacts],
                currency: str) -> list[Band]:
    kind = step.approver_kind
    if kind == ApproverKind.COST_CENTER_MANAGER:
        found = []
        for center in centers:
            if step.cost_center_id is not None and center.id != step.cost_center_id:
                continue
            person = people.get(center.manager_id) if center.manager_id else None
            cap, why = _one(person, Msg(N_("the cost centre has no manager")), currency)
            if (band := _band(step, center.code, cap, why, currency)) is not None:
                found.append(band)
        return found
    if kind == ApproverKind.USER:
        person = people.get(step.approver_user_id) if step.approver_user_id else None
        cap, why = _one(person, Msg(N_("no approver is named")), currency)
    else:
        pool = ([people[m] for m in step.member_ids if m in people] if kind == ApproverKind.GROUP
                else [p for p in people.values() if p.is_approver])
        cap = _cap(pool)
        if cap is None:
            why = Msg(N_("no active approver") if kind == ApproverKind.APPROVER_LIMIT
                      else N_("no group member is active"))
        elif kind == ApproverKind.GROUP:
            why = Msg(N_("no group member may approve more than %(limit)s"),
                      {"limit": Money(cap, currency)}) if cap is not _UNLIMITED else Msg("")
        else:
            why = Msg(N_("no approver may approve more than %(limit)s"),
                      {"limit": Money(cap, currency)}) if cap is not _UNLIMITED else Msg("")
    band = _band(step, None, cap, why, currency)
    return [band] if band is not None else []


def uncovered_bands(steps: list[StepSpec], people: dict[int, Person],
                    centers: list[CostCenterFacts], currency: str) -> list[Band]:
    """Per step (in order) and, for a manager step, per cost centre: the amounts its approvers
    may not approve, which therefore go to the company admins. Empty when the policy is covered."""
    bands: list[Band] = []
    for step in sorted(steps, key=lambda s: s.position):
        bands.extend(_step_bands(step, people, centers, currency))
    return bands
