"""The read side: one `do_orm_execute` listener adds each scoped model's criteria to every
statement, and expired rows reload only through the same filter."""

from __future__ import annotations

import functools
import weakref

from sqlalchemy import and_, event, exists, false, inspect, or_
from sqlalchemy.orm import (
    Session,
    with_loader_criteria,
)

from portal.errors import TenantViolation
from portal.tenancy.scope import (
    _NOBODY,
    _OWNER_COLUMNS,
    _PER_CLASS,
    _SCOPED,
    MultiPartyDocument,
    SharedDocument,
    TenantChild,
    TenantOwned,
    TenantScope,
    current_scope,
)

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
        return _visible_parent(cls, scope, _attribute(cls, local, orm))
    return None


def _visible_parent(cls, scope: TenantScope | None, key):
    """EXISTS (the parent `key` names, visible to `scope`): correlated on the child's key, so a
    database looks the one parent up by its primary key instead of collecting the ids of every
    parent the scope sees (SQLite materialises an `IN (SELECT …)` whole: 50 000 orders read to
    serve one order's PDF). The parent's table is never correlated away to an outer query that
    happens to join it: the check is always of the child's own parent."""
    relationship = _relationship(cls, cls.__tenant_parent__)
    remote = relationship.local_remote_pairs[0][1]
    parent = relationship.mapper
    return (exists().where(remote == key, _criteria(parent.class_, scope, orm=False))
            .correlate_except(parent.local_table))


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


def _child_criteria(remote, parent_criteria, parent_table):
    """`_visible_parent` as a loader criteria lambda (its closure: SQL elements only)."""
    return lambda cls: (exists().where(remote == getattr(cls, cls._tenancy_key), parent_criteria)
                        .correlate_except(parent_table))


def _multi_party_criteria(org_id, buyer_ids, participants, remote):
    """The owner's documents, or a linked buyer's with a participation row addressed to this
    organisation: EXISTS correlated on the document (one lookup per document by the
    participation table's key, not the set of every document the organisation is invited to)."""
    if buyer_ids:
        return lambda cls: or_(
            cls.organization_id == org_id,
            and_(
                cls.organization_id.in_(buyer_ids),
                exists().where(remote == getattr(cls, cls._tenancy_key),
                               participants.c.supplier_id == org_id,
                               participants.c.organization_id == cls.organization_id)
                .correlate_except(participants),
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
            participation = _relationship(cls, cls.__participants__)
            criteria = _multi_party_criteria(org_id, buyer_ids, participation.mapper.local_table,
                                             participation.local_remote_pairs[0][1])
        else:
            parent = _relationship(cls, cls.__tenant_parent__)
            criteria = _child_criteria(parent.local_remote_pairs[0][1],
                                       _criteria(parent.mapper.class_, scope, orm=False),
                                       parent.mapper.local_table)
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


def _deliberate(context) -> bool:
    """True when `context` (one execution of a statement) is a deliberate cross-tenant read;
    decided once per execution, not once per row it loads."""
    attributes = context.attributes
    known = attributes.get(_TRUSTED)
    if known is None:
        statement = getattr(context, "query", None)
        options = dict(statement.get_execution_options()) if statement is not None else {}
        options.update(context.execution_options)
        known = bool(context.session.info.get("tenant_system") or options.get("all_tenants"))
        attributes[_TRUSTED] = known
    return known


def _remember_how_loaded(target, context, attrs=None) -> None:
    """Mark rows read by a deliberate cross-tenant read: their refresh is as deliberate."""
    if context is not None and _deliberate(context):
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
    state.statement = _scoped_statement(state.statement, scope)


# statement -> {id(options): (options, the statement with them)}: a statement built once and run
# by every request (the user loader's, a page's) is filtered once per scope, not at every run,
# and keeps the cache key SQLAlchemy memoizes on it. Weak: statements built per call go with it.
_FILTERED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FILTERED_PER_STATEMENT = 64


def _scoped_statement(statement, scope: TenantScope | None):
    """`statement` with every criteria option of `scope` (the same object for the same
    statement and options: `_scope_options` gives one tuple per scope)."""
    options = _scope_options(scope)
    try:
        known = _FILTERED.get(statement)
    except TypeError:  # a statement that takes no weak reference: filter it each time
        return statement.options(*options)
    if known is not None:
        found = known.get(id(options))
        if found is not None and found[0] is options:
            return found[1]
    filtered = statement.options(*options)
    if known is None or len(known) >= _FILTERED_PER_STATEMENT:
        known = _FILTERED[statement] = {}
    known[id(options)] = (options, filtered)
    return filtered


def _scope_options(scope: TenantScope | None) -> tuple:
    """Every criteria option of `scope`: built once per scope (they depend on nothing else) and
    reused by each statement, instead of a dozen lambda options built for every query."""
    if not all(inspect(cls, raiseerr=False) is not None for cls in _PER_CLASS):
        return _build_options(scope)  # models still being mapped: nothing to remember yet
    return _cached_options(scope, len(_PER_CLASS))


@functools.lru_cache(maxsize=512)
def _cached_options(scope: TenantScope | None, _models: int) -> tuple:
    return _build_options(scope)


def _build_options(scope: TenantScope | None) -> tuple:
    org_id = scope.org_id if scope else _NOBODY
    buyer_ids = scope.buyer_ids if scope else ()
    return (
        with_loader_criteria(TenantOwned, _owned_criteria(org_id), include_aliases=True),
        with_loader_criteria(
            SharedDocument, _shared_criteria(org_id, buyer_ids), include_aliases=True
        ),
        *_per_class_options(scope),
    )


