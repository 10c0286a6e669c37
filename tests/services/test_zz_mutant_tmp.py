import pytest
from sqlalchemy import select
from portal.errors import PermissionDenied
from portal.models import Delegation
from portal.services import approvals
from tests.services.test_approval_properties import machine, test_random_sequences_keep_the_invariants as real  # noqa

_orig = approvals.refusal

@pytest.mark.parametrize("mutant", ["none", "expired_delegation", "twice"])
def test_mutant(machine, monkeypatch, mutant):
    if mutant == "expired_delegation":
        monkeypatch.setattr(approvals, "_delegators_select", lambda actor, on=None: select(Delegation.user_id).where(Delegation.delegate_id == actor.id))
    elif mutant == "twice":
        def refusal(task, actor, **kw):
            problem = _orig(task, actor, **kw)
            if problem is not None and "already decided" in str(problem.message):
                a, _ = approvals.assignment_for(task, actor, **kw)
                return None if a is not None else problem
            return problem
        monkeypatch.setattr(approvals, "refusal", refusal)
    import tests.services.test_approval_properties as mod
    try:
        real(machine)
    except BaseException as exc:
        print("MUTANT", mutant, "CAUGHT", type(exc).__name__, str(exc)[:150].replace("\n"," "))
        return
    print("MUTANT", mutant, "SURVIVED")
