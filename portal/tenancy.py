"""Tenant scoping by construction.

Every model that holds company data mixes in `TenantOwned` (one owning organisation) or
`SharedDocument` (an owning buying organisation plus the supplier organisation it is addressed
to). Queries are filtered here, once, by an ORM listener; writes into another organisation are
refused by a flush guard. Views never add the organisation filter by hand.

The scope lives on the SQLAlchemy session (`session.info`), bound per request from the signed-in
user (see `bind_request_scope` in portal/__init__.py), or explicitly with `bound(...)` in CLI
commands, jobs and tests. An unbound session sees no tenant rows at all.

Deliberate cross-tenant reads pass `.execution_options(all_tenants=True)`; each one is listed in
tests/security/test_cross_tenant_reads.py, which fails when a new one appears unlisted.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import ForeignKey, and_, event, false, inspect, or_, select
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, with_loader_criteria

from portal.errors import TenantViolation

ALL_TENANTS = {"all_tenants": True}
_NOBODY = -1


@dataclass(frozen=True)
class TenantScope:
    """Who is looking: the organisation, and (for a supplier) the buyers actively linked to it."""

    org_id: int
    buyer_ids: tuple[int, ...] = field(default_factory=tuple)


class TenantOwned:
    """A row owned by exactly one organisation."""

    @declared_attr
    def organization_id(cls) -> Mapped[int]:  # noqa: N805
        # active_history: the flush guard sees the stored owner even when the attribute was
        # set without being read first (a row moved out of another organisation).
        return mapped_column(
            ForeignKey("organizations.id"), index=True, nullable=False, active_history=True
        )


class SharedDocument:
    """A document owned by a buying organisation and addressed to one supplier organisation.

    Visible to the owner, and to the supplier while its link to the owner is active.
    """

    @declared_attr
    def organization_id(cls) -> Mapped[int]:  # noqa: N805
        # active_history: the flush guard sees the stored owner even when the attribute was
        # set without being read first (a row moved out of another organisation).
        return mapped_column(
            ForeignKey("organizations.id"), index=True, nullable=False, active_history=True
        )

    @declared_attr
    def supplier_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(
            ForeignKey("organizations.id"), index=True, nullable=True, active_history=True
        )


class TenantChild:
    """A row without its own organisation column that belongs to a tenant row (a user's roles).

    `__tenant_parent__` names the many-to-one relationship to that row; the flush guard checks
    writes against the parent, so a role cannot be given to another organisation's user.
    """

    __tenant_parent__: str


def current_scope(session: Session) -> TenantScope | None:
    return session.info.get("tenant_scope")


def bind(session: Session, scope: TenantScope | None) -> None:
    """Bind (or with None, unbind) the organisation whose rows this session may see and write."""
    if scope is None:
        session.info.pop("tenant_scope", None)
    else:
        session.info["tenant_scope"] = scope
    session.info.pop("tenant_system", None)


@contextmanager
def bound(session: Session, scope: TenantScope):
    """Run a block as one organisation (CLI commands, jobs, tests)."""
    previous = session.info.get("tenant_scope"), session.info.get("tenant_system")
    bind(session, scope)
    try:
        yield scope
    finally:
        session.info["tenant_scope"], session.info["tenant_system"] = previous
        if previous[0] is None:
            session.info.pop("tenant_scope", None)
        if previous[1] is None:
            session.info.pop("tenant_system", None)


@contextmanager
def system(session: Session):
    """Run a block with no tenant filter and no write guard: seeding and maintenance only."""
    previous = session.info.get("tenant_system")
    session.info["tenant_system"] = True
    try:
        yield
    finally:
        if previous is None:
            session.info.pop("tenant_system", None)
        else:
            session.info["tenant_system"] = previous


def scope_for(session: Session, org) -> TenantScope:
    """The scope of an organisation: for a supplier, the buyers it is actively linked to."""
    from portal.models.org import LinkStatus, OrgKind, SupplierLink

    if org.kind != OrgKind.SUPPLIER:
        return TenantScope(org.id)
    buyer_ids = session.scalars(
        select(SupplierLink.organization_id)
        .where(SupplierLink.supplier_id == org.id, SupplierLink.status == LinkStatus.ACTIVE)
        .execution_options(**ALL_TENANTS)
    ).all()
    return TenantScope(org.id, tuple(sorted(buyer_ids)))


def _owned_criteria(org_id):
    return lambda cls: cls.organization_id == org_id


def _shared_criteria(org_id, buyer_ids):
    if buyer_ids:
        return lambda cls: or_(
            cls.organization_id == org_id,
            and_(cls.supplier_id == org_id, cls.organization_id.in_(buyer_ids)),
        )
    return lambda cls: or_(cls.organization_id == org_id, false())


_GUARDED = (TenantOwned, SharedDocument, TenantChild)
_OWNER_COLUMNS = {"organization_id", "supplier_id"}


def _guard_bulk_writes(state) -> None:
    """INSERT and UPDATE statements skip the flush guard: refuse the ones it cannot vouch for.

    Rows of tenant models are added through the session; a bulk UPDATE may change anything but
    the owning organisation (the filter confines it to the scope's own rows).
    """
    tenant_mappers = [m for m in state.all_mappers if issubclass(m.class_, _GUARDED)]
    if not tenant_mappers:
        return
    name = tenant_mappers[0].class_.__name__
    if state.is_insert:
        raise TenantViolation(f"refused a bulk INSERT of {name}: add the rows to the session")
    if any(issubclass(m.class_, TenantChild) for m in tenant_mappers):
        # No organisation column to filter by: only the session can check these rows.
        raise TenantViolation(f"refused a bulk write of {name}: change it through its parent")
    if state.is_delete:
        return
    keys = {getattr(column, "key", column) for column in state.statement._values or ()}
    params = state.parameters
    for row in params if isinstance(params, list) else [params or {}]:
        keys.update(row)
    if keys & _OWNER_COLUMNS:
        raise TenantViolation(f"refused a bulk UPDATE moving {name} to another organisation")


@event.listens_for(Session, "do_orm_execute")
def _filter_by_tenant(state) -> None:
    if state.is_column_load:
        return
    session = state.session
    if session.info.get("tenant_system"):
        return
    if state.is_insert or state.is_update or state.is_delete:
        _guard_bulk_writes(state)
    if state.execution_options.get("all_tenants"):
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    scope = current_scope(session)
    org_id = scope.org_id if scope else _NOBODY
    buyer_ids = scope.buyer_ids if scope else ()
    state.statement = state.statement.options(
        with_loader_criteria(TenantOwned, _owned_criteria(org_id), include_aliases=True),
        with_loader_criteria(
            SharedDocument, _shared_criteria(org_id, buyer_ids), include_aliases=True
        ),
    )


def _owners(obj) -> list[tuple[int | None, int | None]]:
    """(organization_id, supplier_id) as they are now and, for a loaded row, as they were.

    Checking the stored values too keeps a row of another organisation from being moved into
    (or out of) the current one.
    """
    state = inspect(obj)
    now = (obj.organization_id, getattr(obj, "supplier_id", None))
    if state.transient or state.pending:
        return [now]
    before = []
    for key in ("organization_id", "supplier_id"):
        if key not in state.attrs:
            before.append(None)
            continue
        history = state.attrs[key].history
        stored = (list(history.deleted) + list(history.unchanged) + list(history.added))[:1]
        before.append(stored[0] if stored else None)
    return [now, tuple(before)]


def _may_write(scope: TenantScope | None, obj, org_id, supplier_id) -> bool:
    if scope is None:
        return False
    if org_id == scope.org_id:
        return True
    return (
        isinstance(obj, SharedDocument)
        and supplier_id == scope.org_id
        and org_id in scope.buyer_ids
    )


def _parent_of(session: Session, obj):
    """The tenant row a TenantChild belongs to, loaded through the tenant filter if need be."""
    name = obj.__tenant_parent__
    parent = getattr(obj, name)
    if parent is None:
        relationship = inspect(type(obj)).relationships[name]
        keys = [getattr(obj, column.key) for column in relationship.local_columns]
        if None not in keys:
            parent = session.get(relationship.mapper.class_, keys[0] if len(keys) == 1 else keys)
    return parent


@event.listens_for(Session, "before_flush")
def _guard_writes(session: Session, flush_context, instances) -> None:
    if session.info.get("tenant_system"):
        return
    from portal.models.org import Organization

    scope = current_scope(session)
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        target = obj
        if isinstance(obj, TenantChild):
            target = _parent_of(session, obj)
            if not isinstance(target, TenantOwned | SharedDocument):
                allowed = False
            else:
                allowed = all(_may_write(scope, target, *o) for o in _owners(target))
        elif isinstance(obj, TenantOwned | SharedDocument):
            allowed = all(_may_write(scope, obj, *o) for o in _owners(obj))
        elif isinstance(obj, Organization) and obj not in session.new:
            # Anyone may register a new organisation; only its own members change one.
            allowed = scope is not None and obj.id == scope.org_id
        else:
            continue
        if not allowed:
            raise TenantViolation(
                f"refused to write {type(obj).__name__} outside the current organisation"
            )
