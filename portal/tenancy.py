"""Tenant scoping by construction.

Every model that holds company data mixes in `TenantOwned` (one owning organisation) or
`SharedDocument` (an owning buying organisation plus the supplier organisation it is addressed
to). Queries are filtered here, once, by an ORM listener; writes into another organisation are
refused by a flush guard. Views never add the organisation filter by hand.

The scope lives on the SQLAlchemy session (`session.info`), bound per request from the signed-in
user (see `bind_request_scope` in portal/__init__.py), or explicitly with `bound(...)` in CLI
commands, jobs and tests. An unbound session sees no tenant rows at all.

Deliberate cross-tenant reads pass `.execution_options(all_tenants=True)`; each one is listed in
tests/security/test_tenancy.py, which fails when a new one appears unlisted.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import ForeignKey, and_, event, false, or_, select
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
        return mapped_column(ForeignKey("organizations.id"), index=True, nullable=False)


class SharedDocument:
    """A document owned by a buying organisation and addressed to one supplier organisation.

    Visible to the owner, and to the supplier while its link to the owner is active.
    """

    @declared_attr
    def organization_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(ForeignKey("organizations.id"), index=True, nullable=False)

    @declared_attr
    def supplier_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(ForeignKey("organizations.id"), index=True, nullable=True)


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


@event.listens_for(Session, "do_orm_execute")
def _filter_by_tenant(state) -> None:
    if state.is_column_load or state.execution_options.get("all_tenants"):
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    session = state.session
    if session.info.get("tenant_system"):
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


@event.listens_for(Session, "before_flush")
def _guard_writes(session: Session, flush_context, instances) -> None:
    if session.info.get("tenant_system"):
        return
    scope = current_scope(session)
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, TenantOwned):
            allowed = scope is not None and obj.organization_id == scope.org_id
        elif isinstance(obj, SharedDocument):
            allowed = scope is not None and (
                obj.organization_id == scope.org_id
                or (obj.supplier_id == scope.org_id and obj.organization_id in scope.buyer_ids)
            )
        else:
            continue
        if not allowed:
            raise TenantViolation(
                f"refused to write {type(obj).__name__} outside the current organisation"
            )
