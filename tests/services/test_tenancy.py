"""Tenant scoping (portal/tenancy/): the ORM filter, the flush guard, exact money columns."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event, exists, func, insert, select, update
from sqlalchemy.orm import aliased

from portal.domain.roles import Role
from portal.errors import TenantViolation
from portal.extensions import db
from portal.models import AuditEvent, LinkStatus, Organization, SupplierLink, User, UserRole
from portal.services import suppliers
from portal.tenancy import (
    ALL_TENANTS,
    SharedDocument,
    TenantOwned,
    TenantScope,
    bind,
    bound,
    current_scope,
    read_scope_links,
    scope_columns,
    scope_for,
    system,
)
from tests.conftest import as_org, as_system


def _tenant_models():
    return [
        m.class_ for m in db.Model.registry.mappers
        if issubclass(m.class_, TenantOwned | SharedDocument)
    ]


def _emails(org) -> set[str]:
    with as_system():
        return set(db.session.scalars(select(User.email).where(User.organization_id == org.id)))


def _count(model, **where) -> int:
    with as_system():
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return db.session.scalar(query)


# ---------------------------------------------------------------------------- the ORM filter


def test_bound_session_loads_only_its_own_rows_of_every_tenant_model(world):
    assert _count(User) > len(_emails(world.acme)), "the world must hold other companies' users"
    db.session.expire_all()
    with as_org(world.acme):
        for model in _tenant_models():
            for row in db.session.scalars(select(model)):
                assert row.organization_id == world.acme.id, model.__name__
        assert set(db.session.scalars(select(User.email))) == _emails(world.acme)


def test_bound_session_filters_columns_counts_joins_aliases_and_subqueries(world):
    acme_emails = _emails(world.acme)
    db.session.expire_all()
    with as_org(world.acme):
        assert db.session.scalar(select(func.count(User.id))) == len(acme_emails)
        assert db.session.scalar(select(func.count()).select_from(User)) == len(acme_emails)
        joined = db.session.execute(
            select(Organization.name, User.email).join(User, User.organization_id == Organization.id)
        ).all()
        assert {email for _, email in joined} == acme_emails
        assert {name for name, _ in joined} == {world.acme.name}
        other = aliased(User)
        assert set(db.session.scalars(select(other.email))) == acme_emails
        with_users = select(Organization.name).where(
            exists().where(User.organization_id == Organization.id)
        )
        assert db.session.scalars(with_users).all() == [world.acme.name]
        assert db.session.scalars(
            select(Organization.name).where(Organization.id.in_(select(User.organization_id)))
        ).all() == [world.acme.name]


def test_bound_session_by_primary_key_finds_nothing_of_another_org(world):
    globex_buyer_id = world.user("buyer@globex").id
    acme_scope = scope_for(db.session, world.acme)
    db.session.expunge_all()  # session.get() answers from the identity map unfiltered
    with bound(db.session, acme_scope):
        assert db.session.scalars(select(User).where(User.id == globex_buyer_id)).first() is None
        assert db.session.get(User, globex_buyer_id) is None


def test_bulk_update_and_delete_touch_only_own_rows(world):
    globex_names = {u.email: u.full_name for u in world.users.values()
                    if u.organization_id == world.globex.id}
    with as_org(world.acme):
        result = db.session.execute(update(User).values(full_name="Renamed"))
        assert result.rowcount == len(_emails(world.acme))
        db.session.commit()
    db.session.expire_all()
    with as_system():
        for email, name in globex_names.items():
            assert db.session.scalars(select(User.full_name).where(User.email == email)).one() == name


def test_unbound_session_sees_no_tenant_rows(world):
    db.session.expire_all()
    bind(db.session, None)
    assert current_scope(db.session) is None
    for model in _tenant_models():
        assert db.session.scalars(select(model)).all() == [], model.__name__
    assert db.session.scalar(select(func.count(User.id))) == 0
    # Organisations are not tenant rows: the sign-in page needs none, but they stay readable.
    assert db.session.scalar(select(func.count(Organization.id))) == 4


def test_all_tenants_option_reads_across_organisations(world):
    db.session.expire_all()
    with as_org(world.acme):
        everyone = db.session.scalars(select(User.email).execution_options(**ALL_TENANTS)).all()
    assert set(everyone) == set(world.users)


def test_shared_document_is_seen_by_owner_and_linked_supplier_only(world):
    db.session.expire_all()
    pairs = {}
    for org in world.orgs.values():
        with as_org(org):
            pairs[org.name] = {
                (link.organization_id, link.supplier_id)
                for link in db.session.scalars(select(SupplierLink))
            }
    acme, globex, nordwind, polbud = (world.acme.id, world.globex.id, world.nordwind.id,
                                      world.polbud.id)
    assert pairs[world.acme.name] == {(acme, nordwind), (acme, polbud)}
    assert pairs[world.globex.name] == {(globex, nordwind)}
    assert pairs[world.nordwind.name] == {(acme, nordwind), (globex, nordwind)}
    assert pairs[world.polbud.name] == {(acme, polbud)}


def test_a_blocked_supplier_keeps_reading_what_it_was_sent_and_writes_nothing(world):
    admin = world.user("admin@acme")
    with as_org(world.acme):
        link = db.session.scalars(
            select(SupplierLink).where(SupplierLink.supplier_id == world.polbud.id)
        ).one()
        suppliers.block(link, actor=admin, comment="Late deliveries")
        db.session.commit()
    db.session.expire_all()
    with as_org(world.polbud):
        scope = scope_for(db.session, world.polbud)
        assert scope.buyer_ids == (world.acme.id,)
        assert scope.blocked_buyer_ids == (world.acme.id,)
        assert not scope.may_work_for(world.acme.id)
        [seen] = db.session.scalars(select(SupplierLink)).all()
        assert seen.status == LinkStatus.BLOCKED  # the supplier reads that it is blocked
        actions = set(db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.supplier_id == world.polbud.id)
        ))
        assert "supplier.blocked" in actions
        db.session.add(AuditEvent(organization_id=world.acme.id, supplier_id=world.polbud.id,
                                  action="quote.submitted", object_type="SupplierLink",
                                  object_id=seen.id))
        with pytest.raises(TenantViolation):
            db.session.flush()
        db.session.rollback()
    with as_org(world.acme):
        link = db.session.scalars(
            select(SupplierLink).where(SupplierLink.supplier_id == world.polbud.id)
        ).one()
        suppliers.unblock(link, actor=admin)
        db.session.commit()
    db.session.expire_all()
    with as_org(world.polbud):
        assert scope_for(db.session, world.polbud) == TenantScope(world.polbud.id, (world.acme.id,))
        owners = {e.organization_id for e in db.session.scalars(select(AuditEvent))}
        assert owners == {world.acme.id, world.polbud.id}


def test_an_invited_link_shows_the_supplier_nothing_yet(world):
    with as_system():
        link = db.session.scalars(
            select(SupplierLink).where(SupplierLink.organization_id == world.globex.id,
                                       SupplierLink.supplier_id == world.nordwind.id)
        ).one()
        link.status = LinkStatus.INVITED
        db.session.commit()
    db.session.expire_all()
    with as_org(world.nordwind):
        assert scope_for(db.session, world.nordwind).buyer_ids == (world.acme.id,)
        assert {k.organization_id for k in db.session.scalars(select(SupplierLink))} == {
            world.acme.id
        }


@pytest.mark.parametrize("globex_link", [LinkStatus.ACTIVE, LinkStatus.BLOCKED, LinkStatus.INVITED])
def test_the_scope_read_with_the_user_is_the_scope_scope_for_reads(world, app, globex_link):
    """The sign-in statement reads a supplier's links with the user (scope_columns) and
    scope_for then uses them without a statement of its own: the same scope either way."""
    with as_system():
        link = db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == world.globex.id,
            SupplierLink.supplier_id == world.nordwind.id)).one()
        link.status = globex_link
        db.session.commit()
    db.session.expire_all()
    read_afresh = scope_for(db.session, world.nordwind)
    for org in (world.nordwind, world.acme):
        linked, blocked = db.session.execute(select(*scope_columns(Organization.id))
                                             .where(Organization.id == org.id),
                                             execution_options=ALL_TENANTS).one()
        read_scope_links(db.session, org.id, linked, blocked)
        statements = []

        def executed(_conn, _cursor, statement, *_rest, statements=statements):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", executed)
        try:
            scope = scope_for(db.session, org)
        finally:
            event.remove(db.engine, "before_cursor_execute", executed)
        assert statements == []
        assert scope == (read_afresh if org is world.nordwind else TenantScope(world.acme.id))
    assert read_afresh.blocked_buyer_ids == ((world.globex.id,) if globex_link == LinkStatus.BLOCKED else ())


def test_scope_for_lists_the_linked_buyers(world):
    assert scope_for(db.session, world.acme) == TenantScope(world.acme.id)
    assert scope_for(db.session, world.nordwind) == TenantScope(
        world.nordwind.id, tuple(sorted((world.acme.id, world.globex.id)))
    )
    assert scope_for(db.session, world.polbud) == TenantScope(world.polbud.id, (world.acme.id,))


def test_bound_and_system_restore_the_previous_scope(world):
    outer = TenantScope(world.acme.id)
    bind(db.session, outer)
    with bound(db.session, TenantScope(world.globex.id)):
        assert current_scope(db.session).org_id == world.globex.id
        with system(db.session):
            assert db.session.info.get("tenant_system")
        assert not db.session.info.get("tenant_system")
    assert current_scope(db.session) == outer
    bind(db.session, None)
    with bound(db.session, outer):
        pass
    assert current_scope(db.session) is None


# ------------------------------------------------------------------------------ the flush guard


def _refused(action, world) -> None:
    """`action` must raise TenantViolation; nothing of it may reach the database."""
    before = {model.__name__: _count(model) for model in _tenant_models()}
    before["Organization"] = _count(Organization)
    before["UserRole"] = _count(UserRole)
    with pytest.raises(TenantViolation):
        action()
        db.session.flush()
    db.session.rollback()
    db.session.expire_all()
    after = {model.__name__: _count(model) for model in _tenant_models()}
    after["Organization"] = _count(Organization)
    after["UserRole"] = _count(UserRole)
    assert after == before


def test_flush_guard_refuses_a_user_in_another_org(world):
    def add_user():
        db.session.add(User(organization_id=world.globex.id, email="mole@acme.example",
                            full_name="Mole"))

    with as_org(world.acme):
        _refused(add_user, world)
    assert "mole@acme.example" not in _emails(world.globex)


def test_flush_guard_refuses_an_audit_event_in_another_org(world):
    def add_event():
        db.session.add(AuditEvent(organization_id=world.globex.id, action="user.created",
                                  object_type="User", object_id=1))

    with as_org(world.acme):
        _refused(add_event, world)


def test_flush_guard_refuses_every_write_when_unbound(world):
    bind(db.session, None)
    _refused(lambda: db.session.add(User(organization_id=world.acme.id, email="x@acme.example",
                                         full_name="X")), world)


def test_flush_guard_refuses_changing_or_deleting_another_orgs_row(world):
    globex_buyer_id = world.user("buyer@globex").id

    def load():
        return db.session.scalars(
            select(User).where(User.id == globex_buyer_id).execution_options(**ALL_TENANTS)
        ).one()

    with as_org(world.acme):
        _refused(lambda: setattr(load(), "full_name", "Renamed"), world)
        _refused(lambda: db.session.delete(load()), world)
        # Moving the row into one's own organisation is a write into the other one too.
        _refused(lambda: setattr(load(), "organization_id", world.acme.id), world)
    assert reload_name(globex_buyer_id) == "Maria Ivanova"


def test_flush_guard_sees_the_stored_owner_of_an_unread_attribute(world):
    globex_buyer_id = world.user("buyer@globex").id
    with as_org(world.acme):
        user = db.session.scalars(
            select(User).where(User.id == globex_buyer_id).execution_options(**ALL_TENANTS)
        ).one()
        db.session.expire(user)
        _refused(lambda: setattr(user, "organization_id", world.acme.id), world)


def reload_name(user_id):
    db.session.expire_all()
    with as_system():
        return db.session.scalars(select(User.full_name).where(User.id == user_id)).one()


def test_flush_guard_refuses_moving_own_row_to_another_org(world):
    admin_id = world.user("admin@acme").id
    with as_org(world.acme):
        def move():
            user = db.session.scalars(select(User).where(User.id == admin_id)).one()
            user.organization_id = world.globex.id

        _refused(move, world)


def test_flush_guard_refuses_bulk_insert_and_moving_update(world):
    admin_id = world.user("admin@acme").id
    with as_org(world.acme):
        _refused(lambda: db.session.execute(insert(User).values(
            organization_id=world.globex.id, email="bulk@acme.example", full_name="Bulk",
            session_version=1, is_active=True,
        )), world)
        _refused(lambda: db.session.execute(
            update(User).where(User.id == admin_id).values(organization_id=world.globex.id)
        ), world)
    with as_system():
        assert db.session.scalars(select(User.organization_id).where(User.id == admin_id)).one() \
            == world.acme.id


def test_flush_guard_refuses_a_role_for_another_orgs_user(world):
    globex_buyer_id = world.user("buyer@globex").id
    with as_org(world.acme):
        _refused(lambda: db.session.add(UserRole(user_id=globex_buyer_id, role=Role.ADMIN)), world)
    with as_system():
        roles = db.session.scalars(
            select(UserRole.role).where(UserRole.user_id == globex_buyer_id)
        ).all()
    assert roles == [Role.BUYER]


def test_flush_guard_refuses_editing_another_organisation(world):
    globex_id = world.globex.id
    with as_org(world.acme):
        def rename():
            org = db.session.scalars(select(Organization).where(Organization.id == globex_id)).one()
            org.name = "Hacked"

        _refused(rename, world)
    with as_system():
        assert db.session.get(Organization, globex_id).name == "Globex Trading"


def test_flush_guard_allows_own_rows_and_a_linked_supplier_on_shared_documents(world):
    with as_org(world.acme):
        admin = db.session.scalars(select(User).where(User.email == "admin@acme.example")).one()
        admin.full_name = "Anna K."
        db.session.add(AuditEvent(organization_id=world.acme.id, action="test.ok",
                                  object_type="User", object_id=admin.id))
        db.session.flush()
    with as_org(world.polbud):
        db.session.add(AuditEvent(organization_id=world.acme.id, supplier_id=world.polbud.id,
                                  action="test.supplier", object_type="SupplierLink", object_id=1))
        db.session.flush()
        db.session.add(AuditEvent(organization_id=world.globex.id, supplier_id=world.polbud.id,
                                  action="test.unlinked", object_type="SupplierLink",
                                  object_id=1))
        with pytest.raises(TenantViolation):
            db.session.flush()
    db.session.rollback()


def test_system_mode_writes_anywhere(world):
    with as_system():
        db.session.add(AuditEvent(organization_id=world.globex.id, action="test.system",
                                  object_type="Organization", object_id=world.globex.id))
        db.session.commit()
    assert _count(AuditEvent, action="test.system") == 1


# ------------------------------------------------------------------------- exact money columns


def test_amount_columns_sum_exactly_in_sql(world):
    with as_org(world.acme):
        approvers = db.session.scalars(
            select(User).where(User.email.in_(["approver@acme.example", "cfo@acme.example"]))
        ).all()
        approvers[0].approval_limit = Decimal("0.1")
        approvers[1].approval_limit = Decimal("0.2")
        db.session.commit()
    db.session.expire_all()
    with as_org(world.acme):
        total = db.session.scalar(select(func.sum(User.approval_limit)))
        assert total == Decimal("0.30")
        assert str(total) == "0.30"
        assert db.session.scalar(
            select(func.count(User.id)).where(User.approval_limit == Decimal("0.30") - Decimal("0.2"))
        ) == 1
        limits = sorted(db.session.scalars(
            select(User.approval_limit).where(User.approval_limit.is_not(None))
        ))
        assert limits == [Decimal("0.10"), Decimal("0.20")]
        assert all(isinstance(v, Decimal) for v in limits)
