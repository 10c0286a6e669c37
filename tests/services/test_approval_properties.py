"""Property test of the approval workflow: random sequences of actions by random actors.

A Hypothesis state machine drives one requisition (Acme's policy: the cost centre manager; the
CFO from 10 000; for IT from 50 000 two of three board members) with submit, approve, reject,
return, cancel, edit-and-resubmit and the reminder job, by the requester, the assignees, people
not assigned, delegates with an active, expired or revoked delegation, and admins. Each action
is predicted by a small oracle (allowed or refused) and checked; after every step the invariants
hold: the status is one the transition table reaches and the audit trail replays to it; at most
one terminal decision per round; the requester never decides; every decision was made by the
assignee or their active delegate, and nobody decides one task twice (a quorum counts people);
an approved requisition has every task of its last round approved; each task's decisions add
up to its status; approver limits changed while a requisition waits are respected.

Each example runs in one transaction rolled back at the end, each action in a savepoint rolled
back when refused (as a request would be).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from portal.domain.approval import TaskStatus
from portal.domain.requisition import Action, RequisitionStatus, next_status
from portal.domain.roles import Role
from portal.errors import DomainError
from portal.extensions import db
from portal.models import AuditEvent, Delegation
from portal.models.base import utcnow
from portal.services import approvals, mail, requisitions, users
from portal.tenancy import system
from tests.kit import _user, acme_kit, acting_for, draft, services

D = Decimal
S = RequisitionStatus
REACHABLE = {S.DRAFT, S.PENDING, S.APPROVED, S.REJECTED, S.CANCELLED}
ACTORS = ["buyer", "buyer2", "manager", "approver", "cfo", "ceo", "coo", "admin",
          "deputy", "former_deputy", "revoked_deputy"]
AMOUNTS = ["4000", "10000", "50000", "75000"]
EVENT_ACTIONS = {
    "requisition.submitted": Action.SUBMIT,
    "requisition.approved": Action.APPROVE,
    "requisition.rejected": Action.REJECT,
    "requisition.returned": Action.RETURN,
}


class ApprovalMachine(RuleBasedStateMachine):
    kit = None  # set by the test
    people: dict = {}

    def __init__(self):
        super().__init__()
        self.req = None
        self.checked = Counter()

    # ------------------------------------------------------------ helpers

    def _attempt(self, call) -> DomainError | None:
        try:
            with db.session.begin_nested():
                call()
        except DomainError as exc:
            assert str(exc.message)
            return exc
        return None

    def _tasks(self, round_=None):
        return approvals.tasks_of(self.req, round_)

    def _open_assignment(self, task, actor):
        """The oracle's view of which assignment `actor` would decide (own first)."""
        open_ = [a for a in task.assignments if a.decision is None]
        own = [a for a in open_ if a.user_id == actor.id]
        if own:
            return own[0]
        delegators = {u.id for u in self.active_delegators.get(actor.id, [])}
        delegated = [a for a in open_ if a.user_id in delegators]
        return delegated[0] if delegated else None

    def _covers(self, user) -> bool:
        limit = user.approval_limit if user.has_role(Role.APPROVER) else None
        return limit is None or limit >= self.req.gross_total

    def teardown(self):
        db.session.rollback()
        mail.outbox.clear()

    # ------------------------------------------------------------ rules

    @initialize(amount=st.sampled_from(AMOUNTS),
                cost_center=st.sampled_from(["cc_it", "cc_it", "cc_prod"]),
                it=st.sampled_from([True, True, True, False]))
    def start(self, amount, cost_center, it):
        kit = self.kit
        self.req = draft(kit, amount, actor=self.people["buyer"],
                         cost_center=getattr(kit, cost_center),
                         category=kit.cat_it if it else None)
        approvals.submit(self.req, self.people["buyer"])  # drafts come back with returns
        self.checked["submitted"] += 1

    @precondition(lambda self: self.req is not None
                  and self.req.status in (S.APPROVED, S.REJECTED, S.CANCELLED))
    @rule(amount=st.sampled_from(AMOUNTS),
          cost_center=st.sampled_from(["cc_it", "cc_it", "cc_prod"]),
          it=st.sampled_from([True, True, True, False]))
    def start_another(self, amount, cost_center, it):
        """This requisition's story is over: the requester raises the next one."""
        self.start(amount, cost_center, it)

    @precondition(lambda self: self.req is not None and self.req.status == S.PENDING)
    @rule(picks=st.lists(st.sampled_from(range(4)), min_size=1, max_size=4))
    def approve_step(self, picks):
        """Assignees of the current step approve it, one after the other (the way to get deep
        into the policy)."""
        for pick in picks:
            task = self._current_task()
            if self.req.status != S.PENDING or task.status != TaskStatus.PENDING:
                return
            self._decide(self._assignee(task, pick), "approve", "")

    @precondition(lambda self: self.req is not None and self.req.status == S.PENDING)
    @rule(pick=st.sampled_from(range(4)), decision=st.sampled_from(["reject", "return"]),
          comment=st.sampled_from(["", "Brak uzasadnienia kosztów", "Proszę o korektę"]))
    def stop_step(self, pick, decision, comment):
        """An assignee of the current step rejects or returns it (a comment is required)."""
        self._decide(self._assignee(self._current_task(), pick), decision, comment)

    @precondition(lambda self: self.req is not None and self.req.status == S.PENDING)
    @rule(who=st.sampled_from(["deputy", "deputy", "former_deputy", "revoked_deputy", "buyer",
                               "ceo"]),
          decision=st.sampled_from(["approve", "reject", "return"]),
          comment=st.sampled_from(["Proszę o korektę", ""]))
    def decide_as_a_delegate(self, who, decision, comment):
        """A delegate decides: of the CFO (active), of the IT manager (expired, revoked, or the
        requester's own active one), or the CEO standing in for the COO."""
        self._decide(self.people[who], decision, comment)

    @precondition(lambda self: self.req is not None and self.req.status == S.DRAFT)
    @rule(amount=st.sampled_from(AMOUNTS), actor=st.sampled_from(["buyer", "buyer2"]))
    def edit_amount(self, amount, actor):
        user = self.people[actor]
        expected = self.req.status == S.DRAFT and user.id == self.req.requester_id
        line = self.req.lines[0]
        refused = self._attempt(
            lambda: requisitions.update_line(self.req, line, user, unit_price=D(amount)))
        assert (refused is None) == expected, (actor, self.req.status, refused)
        if expected:
            assert self.req.gross_total == D(amount)

    @precondition(lambda self: self.req is not None and self.req.status == S.PENDING)
    @rule(pick=st.sampled_from(range(4)), limit=st.sampled_from([None, "5000", "60000"]))
    def change_limit(self, pick, limit):
        """The admin changes the limit of an approver of the current step while it waits."""
        user = self._assignee(self._current_task(), pick)
        if user.has_role(Role.APPROVER) and not user.has_role(Role.ADMIN, Role.BUYER):
            users.set_roles(user, ["approver"], actor=self.kit.admin,
                            approval_limit=D(limit) if limit else None)

    @precondition(lambda self: self.req is not None and self.req.status == S.PENDING)
    @rule(hours=st.sampled_from([1, 25, 73, 150]))
    def reminders(self, hours):
        """The scheduled job, as if run `hours` from now: may escalate to the admin."""
        approvals.send_reminders(self.kit.org.id, now=utcnow() + timedelta(hours=hours))

    @rule(actor=st.sampled_from(["buyer"] * 4 + ACTORS))
    def submit(self, actor):
        user = self.people[actor]
        before = self.req.status
        expected = before == S.DRAFT and user.id == self.req.requester_id
        refused = self._attempt(lambda: approvals.submit(self.req, user))
        assert (refused is None) == expected, (actor, before, refused)
        if expected:
            assert self.req.status == S.PENDING
            self.checked["submitted"] += 1

    @rule(actor=st.sampled_from(ACTORS))
    def cancel(self, actor):
        user = self.people[actor]
        status = self.req.status
        expected = (status in (S.DRAFT, S.PENDING) and user.id == self.req.requester_id) or (
            status == S.APPROVED and user.has_role(Role.ADMIN))
        refused = self._attempt(lambda: requisitions.cancel(self.req, user))
        assert (refused is None) == expected, (actor, status, refused)
        if expected:
            assert self.req.status == S.CANCELLED
            self.checked["cancelled"] += 1

    @rule(actor=st.sampled_from(ACTORS),
          decision=st.sampled_from(["approve", "approve", "reject", "return"]),
          comment=st.sampled_from(["", "Proszę o korektę"]))
    def decide(self, actor, decision, comment):
        """Anyone tries to decide the current step, whatever the status."""
        self._decide(self.people[actor], decision, comment)

    def _assignee(self, task, pick: int):
        return self.people_by_id[task.assignments[pick % len(task.assignments)].user_id]

    def _current_task(self):
        tasks = self._tasks(self.req.approval_round)
        pending = [t for t in tasks if t.status == TaskStatus.PENDING]
        return pending[0] if pending else (tasks[-1] if tasks else None)

    def _decide(self, user, decision, comment):
        task = self._current_task()
        if task is None:
            return
        actor = user.email
        assignment = self._open_assignment(task, user)
        holder = self.people_by_id.get(assignment.user_id) if assignment else None
        expected = (
            self.req.status == S.PENDING
            and task.status == TaskStatus.PENDING
            and user.id != self.req.requester_id
            and not any(a.decided_by_id == user.id for a in task.assignments)
            and assignment is not None
            and (decision == "approve" or bool(comment))
            and (decision != "approve" or assignment.escalated
                 or (holder.is_active and holder.id != self.req.requester_id
                     and self._covers(holder)))
        )
        refused = self._attempt(lambda: approvals.decide(task, user, decision, comment))
        assert (refused is None) == expected, (actor, decision, comment, task.name, refused)
        if assignment is not None and task.status == TaskStatus.PENDING and refused is not None:
            by_requester = " (requester)" if user.id == self.req.requester_id else ""
            self.checked["refused: " + type(refused).__name__ + by_requester] += 1
        if expected:
            self.checked[decision] += 1
            self.checked["approved"] += self.req.status == S.APPROVED
            self.checked["by a delegate"] += assignment.user_id != user.id
            self.checked["escalated"] += assignment.escalated
            decided = [a for a in task.assignments
                       if a.decided_by_id == user.id and a.decision == decision]
            assert decided, "the decision is recorded on the actor's assignment"
            if decision == "reject":
                assert self.req.status == S.REJECTED
            elif decision == "return":
                assert self.req.status == S.DRAFT

    # ------------------------------------------------------------ invariants

    @invariant()
    def invariants_hold(self):
        """All checks after every step, on one load of the tasks and one of the trail."""
        if self.req is None:
            return
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "Requisition", AuditEvent.object_id == self.req.id)
            .order_by(AuditEvent.id)
        ).all()
        tasks = self._tasks()
        self.status_is_reachable_and_the_trail_replays_to_it(actions)
        self.rounds_and_tasks_agree_with_the_status(tasks)
        self.decisions_are_by_eligible_people_and_add_up(tasks, actions)

    def status_is_reachable_and_the_trail_replays_to_it(self, actions):
        assert self.req.status in REACHABLE
        events = [a for a in actions if a.startswith("requisition.")]
        assert events[0] == "requisition.created"
        status = S.DRAFT
        for action in events[1:]:
            if action == "requisition.cancelled":
                step = Action.ADMIN_CANCEL if status == S.APPROVED else Action.CANCEL
            elif action in EVENT_ACTIONS:
                step = EVENT_ACTIONS[action]
            else:
                continue
            status = next_status(status, step)  # raises if the trail took an illegal move
        assert status == self.req.status
        assert events.count("requisition.submitted") == self.req.approval_round

    def rounds_and_tasks_agree_with_the_status(self, tasks):
        rounds = {t.round for t in tasks}
        assert rounds <= set(range(1, self.req.approval_round + 1))
        pending = [t for t in tasks if t.status == TaskStatus.PENDING]
        if self.req.status == S.PENDING:
            assert len(pending) == 1 and pending[0].round == self.req.approval_round
        else:
            assert pending == [] and not any(t.status == TaskStatus.WAITING for t in tasks)
        for round_ in rounds:
            of_round = [t for t in tasks if t.round == round_]
            statuses = [t.status for t in of_round]
            # at most one terminal decision per round
            assert sum(s in (TaskStatus.REJECTED, TaskStatus.RETURNED) for s in statuses) <= 1
            # steps run in order: approved ones, then at most one decided or open, then the rest
            first_open = next((i for i, s in enumerate(statuses) if s != TaskStatus.APPROVED),
                              len(statuses))
            assert all(s in (TaskStatus.WAITING, TaskStatus.CANCELLED)
                       for s in statuses[first_open + 1:])
            if round_ < self.req.approval_round:
                assert statuses[first_open:first_open + 1] != [TaskStatus.PENDING]
        if self.req.status == S.APPROVED and tasks:
            last = [t for t in tasks if t.round == self.req.approval_round]
            assert last and all(t.status == TaskStatus.APPROVED for t in last)

    def decisions_are_by_eligible_people_and_add_up(self, tasks, actions):
        decided = 0
        for task in tasks:
            decisions = [a.decision for a in task.assignments if a.decision]
            approvals_ = decisions.count("approve")
            stops = [d for d in decisions if d in ("reject", "return")]
            assert approvals_ <= task.required
            assert len(stops) <= 1
            if task.status == TaskStatus.APPROVED:
                assert approvals_ == task.required and not stops
            elif task.status == TaskStatus.REJECTED:
                assert stops == ["reject"]
            elif task.status == TaskStatus.RETURNED:
                assert stops == ["return"]
            elif task.status == TaskStatus.WAITING:
                assert decisions == []
            else:  # pending or cancelled: not enough approvals, nothing that ended it
                assert approvals_ < task.required and not stops
            deciders = [a.decided_by_id for a in task.assignments if a.decision]
            assert len(deciders) == len(set(deciders)), "one decision per person per task"
            for a in task.assignments:
                assert a.user_id != self.req.requester_id, "the requester is never assigned"
                if a.decision is None:
                    assert a.decided_by_id is None
                    continue
                decided += 1
                assert a.decided_by_id != self.req.requester_id, "the requester never decides"
                if a.decided_by_id != a.user_id:
                    holders = {u.id for u in self.delegators_on(a.decided_by_id, a.decided_at)}
                    assert a.user_id in holders, "decided by someone who was not the delegate"
        decisions = [a for a in actions if a.startswith("approval.") and a != "approval.escalated"]
        assert len(decisions) == decided

    # set by the test
    active_delegators: dict = {}

    def delegators_on(self, delegate_id, moment):
        day = moment.date()
        return [d.user for d in self.delegations
                if d.delegate_id == delegate_id and d.starts_on <= day <= d.ends_on
                and (d.revoked_at is None or d.revoked_at > moment)]


@pytest.fixture
def machine(app, world):
    with services(app):
        kit = acme_kit(world)
        with acting_for(world.acme):
            org = world.acme
            with system(db.session):
                deputy = _user(org, "zastepca@acme.example", "Zenon Zastępca", ["approver"])
                former = _user(org, "byly.zastepca@acme.example", "Bogdan Były", ["approver"])
                revoked = _user(org, "odwolany@acme.example", "Olga Odwołana", ["approver"])
                # The requester is a buyer and an approver, and the IT manager's delegate today:
                # the delegation must not let them decide their own requisition.
                requester = _user(org, "wnioskodawca@acme.example", "Wiktor Wnioskodawca",
                                  ["buyer", "approver"])
                db.session.commit()
            today = utcnow().date()
            approvals.create_delegation(kit.cfo, deputy, today - timedelta(days=3),
                                        today + timedelta(days=3))
            approvals.create_delegation(kit.manager, former, today - timedelta(days=9),
                                        today - timedelta(days=2), today=today - timedelta(days=9))
            gone = approvals.create_delegation(kit.manager, revoked, today - timedelta(days=1),
                                               today + timedelta(days=5))
            approvals.revoke_delegation(gone, kit.manager)
            approvals.create_delegation(kit.manager, requester, today, today + timedelta(days=5))
            # The CEO stands in for the COO: on the board step she still counts once.
            approvals.create_delegation(kit.coo, kit.ceo, today, today + timedelta(days=5))
            db.session.commit()
            people = {
                "buyer": requester, "buyer2": kit.buyer, "manager": kit.manager,
                "approver": kit.approver, "cfo": kit.cfo, "ceo": kit.ceo, "coo": kit.coo,
                "admin": kit.admin, "deputy": deputy, "former_deputy": former,
                "revoked_deputy": revoked,
            }
            delegations = db.session.scalars(select(Delegation)).all()
            machine_class = type("AcmeApprovalMachine", (ApprovalMachine,), {
                "kit": kit,
                "people": people,
                "people_by_id": {u.id: u for u in people.values()},
                "active_delegators": {deputy.id: [kit.cfo], requester.id: [kit.manager],
                                      kit.ceo.id: [kit.coo]},
                "delegations": delegations,
            })
            yield machine_class


def test_random_sequences_keep_the_invariants(machine):
    totals = Counter()

    def make():
        instance = machine()
        instance.checked = totals
        return instance

    # Each step is a few dozen queries: on PostgreSQL (a network round trip each) half the
    # examples keep the test as quick as on SQLite; the rules under test are the same.
    examples = 50 if db.engine.dialect.name == "sqlite" else 25
    run_state_machine_as_test(
        make,
        settings=settings(max_examples=examples, stateful_step_count=20, deadline=None,
                          database=None, suppress_health_check=[HealthCheck.too_slow]),
    )
    # the examples reached the interesting places, not only refusals
    assert totals["submitted"] > 0 and totals["approve"] > 0 and totals["approved"] > 0, totals
    assert totals["reject"] + totals["return"] > 0, totals
