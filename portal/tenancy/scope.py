"""The scope (who is looking), the mixins that say how each model is scoped, and the ways to
bind a session to an organisation. See portal/tenancy/__init__.py for the whole picture."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import ForeignKey, String, cast, func, select
from sqlalchemy.orm import (
    Mapped,
    Session,
    declared_attr,
    mapped_column,
)

ALL_TENANTS = {"all_tenants": True}
_NOBODY = -1

# The two sides of a shared document.
BUYER = "buyer"
SUPPLIER = "supplier"
_OWNER_COLUMNS = frozenset({"organization_id", "supplier_id"})


class _AllFields:
    """`__buyer_writes__ = ALL_FIELDS`: every field but the parties (organization_id, supplier_id)."""

    def __contains__(self, key: object) -> bool:
        return key not in _OWNER_COLUMNS

    def __repr__(self) -> str:
        return "ALL_FIELDS"


ALL_FIELDS = _AllFields()


@dataclass(frozen=True)
class TenantScope:
    """Who is looking: the organisation and, for a supplier, the buyers linked to it.

    `buyer_ids`: buyers whose documents addressed to this supplier it reads (link active or
    blocked). `blocked_buyer_ids`: those of them that blocked it: read only, no new work.
    """

    org_id: int
    buyer_ids: tuple[int, ...] = field(default_factory=tuple)
    blocked_buyer_ids: tuple[int, ...] = field(default_factory=tuple)

    def may_work_for(self, buyer_id: int) -> bool:
        """True when this supplier may still write for `buyer_id` (its link is active)."""
        return buyer_id in self.buyer_ids and buyer_id not in self.blocked_buyer_ids


# Models whose read criteria are built per class (not one lambda per mixin).
_PER_CLASS: list[type] = []


def _is_concrete(cls) -> bool:
    return "__tablename__" in cls.__dict__ or "__table__" in cls.__dict__


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

    Visible to the owner, and to the supplier while its link to the owner is active or blocked.
    Each concrete model declares who creates it and who changes which of its fields:

        __created_by__ = {BUYER}                       # sides that may add a row
        __buyer_writes__ = ALL_FIELDS                  # fields the buyer may change
        __supplier_writes__ = frozenset({"status"})    # fields the supplier may change
        __deleted_by__ = frozenset()                   # optional; default __created_by__
    """

    __created_by__: frozenset[str]
    __buyer_writes__: frozenset[str] | _AllFields
    __supplier_writes__: frozenset[str] | _AllFields

    def __init_subclass__(cls, **kwargs):
        if _is_concrete(cls):
            missing = [name for name in ("__created_by__", "__buyer_writes__",
                                         "__supplier_writes__") if not hasattr(cls, name)]
            if missing:
                raise TypeError(f"{cls.__name__} is a SharedDocument: declare {missing}")
        super().__init_subclass__(**kwargs)

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


class MultiPartyDocument:
    """A document owned by a buying organisation and addressed to several suppliers.

    `__participants__` names the one-to-many relationship to its participation model, a
    `SharedDocument` (buyer, supplier, this document) per addressed supplier. A supplier sees the
    document while it has a participation row from the same owner (and its link is active or
    blocked); only the owner writes the document.
    """

    __participants__: str

    def __init_subclass__(cls, **kwargs):
        if _is_concrete(cls):
            if not isinstance(getattr(cls, "__participants__", None), str):
                raise TypeError(f"{cls.__name__}: name the participation relationship in "
                                "__participants__")
            _PER_CLASS.append(cls)
        super().__init_subclass__(**kwargs)

    @declared_attr
    def organization_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(
            ForeignKey("organizations.id"), index=True, nullable=False, active_history=True
        )


class TenantChild:
    """A row without its own organisation column that belongs to a tenant row.

    `__tenant_parent__` names the many-to-one relationship to that row (a line's document, a
    role's user). The child is visible exactly when its parent is, and written by whoever may
    write the parent: for a shared parent, the sides in the parent's `__created_by__`. A child
    may instead declare its own `__created_by__` / `__buyer_writes__` / `__supplier_writes__`
    (/ `__deleted_by__`), judged with the side the writer has on the parent (a supplier's
    receipt confirmation on a buyer's order, say).
    """

    __tenant_parent__: str

    def __init_subclass__(cls, **kwargs):
        if _is_concrete(cls):
            if not isinstance(getattr(cls, "__tenant_parent__", None), str):
                raise TypeError(f"{cls.__name__}: name the parent relationship in "
                                "__tenant_parent__")
            _PER_CLASS.append(cls)
        super().__init_subclass__(**kwargs)


_SCOPED = (TenantOwned, SharedDocument, MultiPartyDocument, TenantChild)


# ------------------------------------------------------------------------------ the scope


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


# Tenancy sits below the models: models/org.py hands over the two tables the scope reads.
_ORG_MODELS: dict[str, type] = {}


def register_org_models(*, organization: type, supplier_link: type) -> None:
    """Called once by portal/models/org.py: the organisation and supplier-link tables."""
    _ORG_MODELS.update(Organization=organization, SupplierLink=supplier_link)


def org_model(name: str) -> type:
    return _ORG_MODELS[name]


# OrgKind.SUPPLIER and LinkStatus values (string enums of models/org.py compare equal to these).
_SUPPLIER_KIND = "supplier"
_ACTIVE, _BLOCKED = "active", "blocked"


_READ_LINKS = "tenant_scope_links"


def scope_columns(org_id) -> tuple:
    """Two labelled scalar subqueries to add to the statement that loads who is asking (the
    user of a session, an API token's user): the buyers the organisation `org_id` is linked to
    as a supplier (active or blocked links) and those of them that blocked it, each a
    comma-separated list (NULL for a buyer). `read_scope_links` keeps them for `scope_for`,
    which then needs no statement of its own: one round trip fewer on every supplier request."""
    link = org_model("SupplierLink")

    def buyers(statuses: list[str], label: str):
        return (select(func.aggregate_strings(cast(link.organization_id, String), ","))
                .where(link.supplier_id == org_id, link.status.in_(statuses))
                .scalar_subquery().label(label))

    return buyers([_ACTIVE, _BLOCKED], "scope_linked"), buyers([_BLOCKED], "scope_blocked")


def read_scope_links(session: Session, org_id: int, linked: str | None, blocked: str | None) -> None:
    """Keep what `scope_columns` read for organisation `org_id`, for the next `scope_for` of it
    in this session (used once: a later scope is read afresh)."""
    session.info[_READ_LINKS] = (org_id, linked, blocked)


def _ids(listed: str | None) -> tuple[int, ...]:
    return tuple(sorted(int(part) for part in listed.split(","))) if listed else ()


def scope_for(session: Session, org) -> TenantScope:
    """The scope of an organisation: for a supplier, the buyers it is linked to.

    Active links give reading and writing; blocked links reading only (the documents already
    addressed to the supplier stay its own to read); invited links nothing yet. The links
    come from `read_scope_links` when the statement that loaded the user read them.
    """
    read = session.info.pop(_READ_LINKS, None)
    if org.kind != _SUPPLIER_KIND:
        return TenantScope(org.id)
    if read is not None and read[0] == org.id:
        return TenantScope(org.id, _ids(read[1]), _ids(read[2]))
    supplier_link = org_model("SupplierLink")
    links = session.execute(
        select(supplier_link.organization_id, supplier_link.status)
        .where(
            supplier_link.supplier_id == org.id,
            supplier_link.status.in_([_ACTIVE, _BLOCKED]),
        )
        .execution_options(**ALL_TENANTS)
    ).all()
    return TenantScope(
        org.id,
        tuple(sorted(buyer for buyer, _ in links)),
        tuple(sorted(buyer for buyer, status in links if status == _BLOCKED)),
    )


@contextmanager
def bound_to(session: Session, org):
    """Run a block as organisation `org`, with the scope its own users get (jobs, CLI)."""
    with bound(session, scope_for(session, org)) as scope:
        yield scope


def for_each_organization(session: Session, kind=None) -> Iterator:
    """Yield each organisation (of `kind`, when given) in id order, the session bound to it.

    For jobs that work across organisations (reminders, monthly runs): the body runs as that
    organisation, under its filter and guard, and must commit or roll back its work before the
    next one starts (pending changes raise RuntimeError rather than leak into the next scope).
    Between organisations the identity map is emptied, so no object of one is handed to the next
    (`session.get` answers from it without a query).
    """
    organization = org_model("Organization")
    query = select(organization.id).order_by(organization.id)
    if kind is not None:
        query = query.where(organization.kind == kind)
    for org_id in session.scalars(query).all():
        session.expunge_all()
        org = session.get(organization, org_id)
        with bound_to(session, org):
            yield org
            if session.new or session.dirty or session.deleted:
                raise RuntimeError(
                    f"commit or roll back the work for organisation {org_id} before the next"
                )
    session.expunge_all()

