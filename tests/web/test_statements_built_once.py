"""Statements built once and run by every request (issue 9): the user loader's, the list's
filter choices, the buyer's dashboard, the inbox. They are filtered per scope (portal/tenancy)
and derived per page (portal/services/paging), both remembered per statement; what is
remembered must never carry one organisation's rows into another's."""

from __future__ import annotations

import gc

from sqlalchemy import select

from portal.blueprints.requisitions import queries
from portal.domain.roles import Role
from portal.extensions import db
from portal.models import User, UserRole
from portal.services import paging
from portal.tenancy import bound, scope_for
from portal.tenancy import filter as tenant_filter
from tests.conftest import as_system


def test_a_statement_built_once_is_filtered_for_each_organisation(world):
    with as_system():
        rows = db.session.execute(
            select(User.organization_id, User.id).join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.BUYER)
        ).all()
    buyers: dict[int, set[int]] = {}
    for org_id, user_id in rows:
        buyers.setdefault(org_id, set()).add(user_id)
    orgs = [o for o in world.orgs.values() if o.id in buyers]
    assert len(orgs) >= 2, "the demo world has buyers in two organisations"
    for _ in range(2):  # the second round runs the remembered statements
        for org in orgs:
            with bound(db.session, scope_for(db.session, org)):
                assert {user_id for user_id, _name in queries.requesters()} == buyers[org.id]


def test_remembered_statements_go_with_the_statements_built_per_call(world):
    gc.collect()
    before = len(tenant_filter._FILTERED), len(paging._DERIVED)
    with bound(db.session, scope_for(db.session, world.acme)):
        for i in range(50):
            db.session.execute(select(User.id).where(User.id == i)).all()
            paging.count_upto(select(User.id).where(User.id > i), 5)
    gc.collect()
    assert len(tenant_filter._FILTERED) - before[0] < 5
    assert len(paging._DERIVED) - before[1] < 5
