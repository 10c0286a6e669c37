"""Tenant scoping by construction.

Every model that holds company data says how it is scoped, by mixing in one of:

- `TenantOwned`: one owning organisation (`organization_id`); only its members read and write it.
- `SharedDocument`: owned by a buying organisation and addressed to one supplier organisation
  (`organization_id` + `supplier_id`): a supplier link, an order, an invoice, a quote, one
  supplier's participation in a document addressed to several. It declares which side creates
  it and which side writes which fields (`__created_by__`, `__buyer_writes__`,
  `__supplier_writes__`, optionally `__deleted_by__`).
- `MultiPartyDocument`: owned by a buying organisation and addressed to several suppliers through
  a participation model (a `SharedDocument`) named by `__participants__`: an RFQ and its invited
  suppliers. Only the owner writes the document itself.
- `TenantChild`: no organisation column of its own; scoped through the many-to-one relationship
  named by `__tenant_parent__` (lines, receipts, attachments, a user's roles).

Who sees what (the ORM filter, one `do_orm_execute` listener):
- the owner sees all its rows, including every participation row of its documents;
- a supplier sees a shared row addressed to it while its link to the owning buyer is active or
  blocked (blocking stops new work, not the reading of what was issued); an invited (not yet
  active) link shows nothing;
- a supplier sees a multi-party document when one of its participation rows (addressed to it, by
  the same owner) exists, and only its own participation rows;
- a child is visible exactly when its parent is; a fetch of anything else finds nothing (None),
  which views answer with 404.

Who writes what (the flush guard, one `before_flush` listener, plus a check of bulk statements):
- a row is written by the organisation that owns it, or for a shared row by the side the model
  declares: new rows only by a side in `__created_by__`, changed fields only those in the
  side's `__buyer_writes__` / `__supplier_writes__`, deletes only by `__deleted_by__`;
- a supplier whose link is blocked writes nothing of that buyer's;
- a child is written by whoever may write its parent (or by its own declarations);
- bulk INSERTs of tenant models, and bulk writes of shared documents' and children's rows, are
  refused: they go through the session, where the guard sees each row.

The scope lives on the SQLAlchemy session (`session.info`), bound per request from the signed-in
user (see `bind_request_scope` in portal/__init__.py), or explicitly with `bound(...)`,
`bound_to(...)` or `for_each_organization(...)` in CLI commands, jobs and tests. An unbound
session sees no tenant rows at all. An expired object reloads through the filter of the scope
bound at that moment, so a row loaded under one organisation never reloads under another (it is
"gone": ObjectDeletedError); rows read by a deliberate cross-tenant read reload as deliberately,
and with no scope bound (a session acting for nobody, which writes nothing) an object reloads
as it is. `for_each_organization` empties the identity map between organisations.

Deliberate cross-tenant reads pass `.execution_options(all_tenants=True)`; each one is listed in
tests/security/test_cross_tenant_reads.py, which fails when a new one appears unlisted.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import ForeignKey, and_, event, exists, false, inspect, or_, select, tuple_
from sqlalchemy.orm import (
    Mapped,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.orm.interfaces import MANYTOONE

from portal.errors import TenantViolation

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


def scope_for(session: Session, org) -> TenantScope:
    """The scope of an organisation: for a supplier, the buyers it is linked to.

    Active links give reading and writing; blocked links reading only (the documents already
    addressed to the supplier stay its own to read); invited links nothing yet.
    """
    from portal.models.org import LinkStatus, OrgKind, SupplierLink

    if org.kind != OrgKind.SUPPLIER:
        return TenantScope(org.id)
    links = session.execute(
        select(SupplierLink.organization_id, SupplierLink.status)
        .where(
            SupplierLink.supplier_id == org.id,
            SupplierLink.status.in_([LinkStatus.ACTIVE, LinkStatus.BLOCKED]),
        )
        .execution_options(**ALL_TENANTS)
    ).all()
    return TenantScope(
        org.id,
        tuple(sorted(buyer for buyer, _ in links)),
        tuple(sorted(buyer for buyer, status in links if status == LinkStatus.BLOCKED)),
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
    from portal.models.org import Organization

    query = select(Organization.id).order_by(Organization.id)
    if kind is not None:
        query = query.where(Organization.kind == kind)
    for org_id in session.scalars(query).all():
        session.expunge_all()
        org = session.get(Organization, org_id)
        with bound_to(session, org):
            yield org
            if session.new or session.dirty or session.deleted:
                raise RuntimeError(
                    f"commit or roll back the work for organisation {org_id} before the next"
                )
    session.expunge_all()


# -------------------------------------------------------------------------------- the filter


def _owned_criteria(org_id):
    return lambda cls: cls.organization_id == org_id


def _shared_criteria(org_id, buyer_ids):
    if buyer_ids:
        return lambda cls: or_(
            cls.organization_id == org_id,
            and_(cls.supplier_id == org_id, cls.organization_id.in_(buyer_ids)),
        )
    return lambda cls: or_(cls.organization_id == org_id, false())


def _relationship(cls, name: str):
    return inspect(cls).relationships[name]


def _columns(cls, orm: bool):
    """Column lookup by attribute name: the mapped attributes (so aliases adapt them) or, inside
    a subquery of another model's criteria, the plain table columns."""
    mapper = inspect(cls)
    if orm:
        return lambda key: getattr(cls, key)
    return lambda key: mapper.columns[key]


def _attribute(cls, column, orm: bool):
    if not orm:
        return column
    return getattr(cls, inspect(cls).get_property_by_column(column).key)


@functools.lru_cache(maxsize=512)
def _criteria(cls, scope: TenantScope | None, orm: bool = True):
    """The rows of `cls` that `scope` may see, as a WHERE expression (None: no criteria)."""
    org_id = scope.org_id if scope else _NOBODY
    buyer_ids = scope.buyer_ids if scope else ()
    col = _columns(cls, orm)
    if issubclass(cls, TenantOwned):
        return col("organization_id") == org_id
    if issubclass(cls, SharedDocument):
        return or_(
            col("organization_id") == org_id,
            and_(col("supplier_id") == org_id, col("organization_id").in_(buyer_ids)),
        )
    if issubclass(cls, MultiPartyDocument):
        relationship = _relationship(cls, cls.__participants__)
        participants = relationship.mapper.local_table
        invited = exists().where(
            *[remote == _attribute(cls, local, orm)
              for local, remote in relationship.local_remote_pairs],
            participants.c.supplier_id == org_id,
            participants.c.organization_id == col("organization_id"),
        )
        return or_(
            col("organization_id") == org_id,
            and_(col("organization_id").in_(buyer_ids), invited),
        )
    if issubclass(cls, TenantChild):
        # Visible exactly when the parent is, under the parent's own criteria (recursively).
        local = _relationship(cls, cls.__tenant_parent__).local_remote_pairs[0][0]
        return _attribute(cls, local, orm).in_(_parent_ids(cls, scope))
    return None


def _link_key(cls) -> str:
    """The attribute that ties `cls` to the rows deciding its visibility, remembered on the
    class so the criteria lambdas read it from whichever entity (or alias) they are given: a
    child's foreign key to its parent, a multi-party document's key its participants refer to.
    """
    key = cls.__dict__.get("_tenancy_key")
    if key is None:
        name = cls.__tenant_parent__ if issubclass(cls, TenantChild) else cls.__participants__
        pairs = _relationship(cls, name).local_remote_pairs
        if len(pairs) != 1:
            raise TypeError(f"{cls.__name__}.{name}: tenancy follows single-column keys only")
        key = inspect(cls).get_property_by_column(pairs[0][0]).key
        cls._tenancy_key = key
    return key


@functools.lru_cache(maxsize=512)
def _parent_ids(cls, scope: TenantScope | None):
    """SELECT of the keys of the parents of `cls` that `scope` sees."""
    relationship = _relationship(cls, cls.__tenant_parent__)
    remote = relationship.local_remote_pairs[0][1]
    return select(remote).where(_criteria(relationship.mapper.class_, scope, orm=False))


@functools.lru_cache(maxsize=512)
def _invitations(cls, org_id: int):
    """SELECT of (document key, owner) of the participation rows addressed to `org_id`."""
    relationship = _relationship(cls, cls.__participants__)
    participants = relationship.mapper.local_table
    remote = relationship.local_remote_pairs[0][1]
    return select(remote, participants.c.organization_id).where(
        participants.c.supplier_id == org_id
    )


def _child_criteria(parent_ids):
    return lambda cls: getattr(cls, cls._tenancy_key).in_(parent_ids)


def _multi_party_criteria(org_id, buyer_ids, invitations):
    if buyer_ids:
        return lambda cls: or_(
            cls.organization_id == org_id,
            and_(
                cls.organization_id.in_(buyer_ids),
                tuple_(getattr(cls, cls._tenancy_key), cls.organization_id).in_(invitations),
            ),
        )
    return lambda cls: or_(cls.organization_id == org_id, false())


def _per_class_options(scope: TenantScope | None) -> list:
    """Criteria for multi-party documents and children, one option per model.

    Lambdas (like the mixins' criteria) so that SQLAlchemy applies them to aliases and joins
    too; what varies by model travels as SQL (the parents' or participants' SELECT).
    """
    org_id = scope.org_id if scope else _NOBODY
    buyer_ids = scope.buyer_ids if scope else ()
    options = []
    for cls in _PER_CLASS:
        if inspect(cls, raiseerr=False) is None:
            continue
        _link_key(cls)
        if issubclass(cls, MultiPartyDocument):
            criteria = _multi_party_criteria(org_id, buyer_ids, _invitations(cls, org_id))
        else:
            criteria = _child_criteria(_parent_ids(cls, scope))
        options.append(with_loader_criteria(cls, criteria, include_aliases=True))
    return options


def _guard_bulk_writes(state) -> None:
    """INSERT and UPDATE statements skip the flush guard: refuse the ones it cannot vouch for.

    Rows of tenant models are added through the session. A bulk UPDATE or DELETE of a row owned
    by one organisation may change anything but the owner (the filter confines it to the scope's
    own rows). Shared documents and children are changed through the session only: which side
    may write which field is judged row by row.
    """
    tenant_mappers = [m for m in state.all_mappers if issubclass(m.class_, _SCOPED)]
    if not tenant_mappers:
        return
    name = tenant_mappers[0].class_.__name__
    if state.is_insert:
        raise TenantViolation(f"refused a bulk INSERT of {name}: add the rows to the session")
    if any(issubclass(m.class_, TenantChild) for m in tenant_mappers):
        # No organisation column to filter by: only the session can check these rows.
        raise TenantViolation(f"refused a bulk write of {name}: change it through its parent")
    if any(issubclass(m.class_, SharedDocument | MultiPartyDocument) for m in tenant_mappers):
        raise TenantViolation(
            f"refused a bulk write of {name}: change shared documents through the session"
        )
    if state.is_delete:
        return
    keys = {getattr(column, "key", column) for column in state.statement._values or ()}
    params = state.parameters
    for row in params if isinstance(params, list) else [params or {}]:
        keys.update(row)
    if keys & _OWNER_COLUMNS:
        raise TenantViolation(f"refused a bulk UPDATE moving {name} to another organisation")


def _refreshed_class(state):
    """The tenant model an expired-attribute load or refresh reads, if any."""
    for mapper in state.all_mappers:
        if issubclass(mapper.class_, _SCOPED):
            return mapper.class_
    return None


_TRUSTED = "tenant_cross_tenant_read"


_RELOAD = "tenant_reload"


def _remember_how_loaded(target, context, attrs=None) -> None:
    """Mark rows read by a deliberate cross-tenant read: their refresh is as deliberate."""
    if context is None:
        return
    statement = getattr(context, "query", None)
    options = dict(statement.get_execution_options()) if statement is not None else {}
    options.update(context.execution_options)
    if context.session.info.get("tenant_system") or options.get("all_tenants"):
        inspect(target).info[_TRUSTED] = True


for _mixin in _SCOPED:
    event.listen(_mixin, "load", _remember_how_loaded, propagate=True)
    event.listen(_mixin, "refresh", _remember_how_loaded, propagate=True)


@event.listens_for(Session, "do_orm_execute")
def _filter_by_tenant(state) -> None:
    session = state.session
    if session.info.get("tenant_system"):
        return
    if state.is_insert or state.is_update or state.is_delete:
        _guard_bulk_writes(state)
    if state.execution_options.get("all_tenants") or state.execution_options.get(_RELOAD):
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    scope = current_scope(session)
    if state.is_column_load:
        # SQLAlchemy leaves loader criteria out of refreshes (a refresh is a plain primary key
        # fetch). Without this, an object loaded under one organisation and expired would
        # reload under another scope, unfiltered. A row the scope may not see is then "gone"
        # (ObjectDeletedError), never reloaded. Rows first loaded by a deliberate cross-tenant
        # read (all_tenants, system) stay as deliberate when they reload.
        refreshing = state.load_options._refresh_state
        if scope is None or (refreshing is not None and refreshing.info.get(_TRUSTED)):
            # Reloads what the object already is, its eagerly loaded children included.
            state.update_execution_options(**{_RELOAD: True})
            return
        cls = _refreshed_class(state)
        if cls is not None:
            state.statement = state.statement.where(_criteria(cls, scope))
        return
    org_id = scope.org_id if scope else _NOBODY
    buyer_ids = scope.buyer_ids if scope else ()
    state.statement = state.statement.options(
        with_loader_criteria(TenantOwned, _owned_criteria(org_id), include_aliases=True),
        with_loader_criteria(
            SharedDocument, _shared_criteria(org_id, buyer_ids), include_aliases=True
        ),
        *_per_class_options(scope),
    )


# --------------------------------------------------------------------------- the flush guard


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


def _side(scope: TenantScope | None, obj, org_id, supplier_id) -> str | None:
    """The side `scope` writes `obj` as, for one (owner, supplier) pair; None: may not write."""
    if scope is None:
        return None
    if org_id == scope.org_id:
        return BUYER
    if (
        isinstance(obj, SharedDocument)
        and supplier_id == scope.org_id
        and scope.may_work_for(org_id)
    ):
        return SUPPLIER
    return None


def _sides(scope, obj) -> set[str | None]:
    if isinstance(obj, SharedDocument):
        return {_side(scope, obj, *pair) for pair in _owners(obj)}
    # Owned by one organisation (TenantOwned, MultiPartyDocument): only its members write.
    return {_side(scope, obj, org_id, None) for org_id, _ in _owners(obj)}


def _changed_fields(obj) -> set[str]:
    """The column attributes a flush would write for `obj` (many-to-one changes included)."""
    state = inspect(obj)
    mapper = state.mapper
    changed = {
        attr.key for attr in mapper.column_attrs if state.attrs[attr.key].history.has_changes()
    }
    for relationship in mapper.relationships:
        if relationship.direction is MANYTOONE and (
            state.attrs[relationship.key].history.has_changes()
        ):
            changed |= {
                mapper.get_property_by_column(column).key for column in relationship.local_columns
            }
    return changed


def _declared(cls, name: str, default):
    return getattr(cls, name, default)


def _allowed_by_rules(rules, side: str, obj, operation: str) -> bool:
    """Judge a write of `obj` by the declarations of `rules` (a model class) for `side`."""
    created_by = rules.__created_by__
    if operation == "new":
        return side in created_by
    if operation == "deleted":
        return side in _declared(rules, "__deleted_by__", created_by)
    writes = rules.__buyer_writes__ if side == BUYER else rules.__supplier_writes__
    return all(key in writes for key in _changed_fields(obj))


def _creators(session: Session, target) -> frozenset[str]:
    """The sides that may write a child of `target` without declarations of its own."""
    if isinstance(target, SharedDocument):
        return frozenset(target.__created_by__)
    if isinstance(target, TenantChild):
        parent = _parent_of(session, target)
        return _creators(session, parent) if parent is not None else frozenset()
    return frozenset({BUYER})


def _write_side(session: Session, scope, target) -> str | None:
    """The side `scope` has on `target` (a parent): None unless it may write there at all."""
    if isinstance(target, TenantChild):
        parent = _parent_of(session, target)
        return _write_side(session, scope, parent) if parent is not None else None
    if not isinstance(target, TenantOwned | SharedDocument | MultiPartyDocument):
        return None
    sides = _sides(scope, target)
    if len(sides) != 1 or None in sides:
        return None
    return sides.pop()


def _parent_of(session: Session, obj, *, stored: bool = False):
    """The tenant row a TenantChild belongs to, loaded through the tenant filter if need be.

    With `stored`, the parent the child belonged to before this flush (None when unchanged).
    """
    name = obj.__tenant_parent__
    relationship = _relationship(type(obj), name)
    state = inspect(obj)
    if stored:
        if state.transient or state.pending:
            return None
        keys = []
        for column in relationship.local_columns:
            history = state.attrs[state.mapper.get_property_by_column(column).key].history
            if not history.deleted:
                return None
            keys.append(history.deleted[0])
    else:
        parent = getattr(obj, name)
        if parent is not None:
            return parent
        keys = [getattr(obj, state.mapper.get_property_by_column(c).key)
                for c in relationship.local_columns]
    if None in keys:
        return None
    return session.get(relationship.mapper.class_, keys[0] if len(keys) == 1 else keys)


def _child_allowed(session: Session, scope, obj, operation: str) -> bool:
    parents = [_parent_of(session, obj)]
    previous = _parent_of(session, obj, stored=True)
    if previous is not None:
        parents.append(previous)
    for parent in parents:
        side = _write_side(session, scope, parent)
        if side is None:
            return False
        if hasattr(type(obj), "__created_by__"):
            if not _allowed_by_rules(type(obj), side, obj, operation):
                return False
        elif side not in _creators(session, parent):
            return False
    return True


def _allowed(session: Session, scope, obj, operation: str) -> bool | None:
    """Whether the flush may write `obj`; None for rows the guard does not judge."""
    from portal.models.org import Organization

    if isinstance(obj, TenantChild):
        return _child_allowed(session, scope, obj, operation)
    if isinstance(obj, SharedDocument):
        sides = _sides(scope, obj)
        if len(sides) != 1 or None in sides:
            return False
        return _allowed_by_rules(type(obj), sides.pop(), obj, operation)
    if isinstance(obj, TenantOwned | MultiPartyDocument):
        return _sides(scope, obj) == {BUYER}
    if isinstance(obj, Organization) and operation != "new":
        # Anyone may register a new organisation; only its own members change one.
        return scope is not None and obj.id == scope.org_id
    return None


@event.listens_for(Session, "before_flush")
def _guard_writes(session: Session, flush_context, instances) -> None:
    if session.info.get("tenant_system"):
        return
    scope = current_scope(session)
    writes = (
        [(obj, "new") for obj in list(session.new)]
        + [(obj, "dirty") for obj in list(session.dirty)]
        + [(obj, "deleted") for obj in list(session.deleted)]
    )
    for obj, operation in writes:
        if operation == "dirty" and not session.is_modified(obj, include_collections=False):
            continue  # nothing of this row would be written
        if _allowed(session, scope, obj, operation) is False:
            raise TenantViolation(
                f"refused to write {type(obj).__name__} outside the current organisation "
                "or the fields its side may write"
            )
