"""The write side: the flush guard (one `before_flush` listener) checks every new, changed and
deleted row against the scope and the models' side declarations."""

from __future__ import annotations

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import (
    Session,
)
from sqlalchemy.orm.interfaces import MANYTOONE

from portal.errors import TenantViolation
from portal.tenancy.filter import _relationship
from portal.tenancy.scope import (
    BUYER,
    SUPPLIER,
    MultiPartyDocument,
    SharedDocument,
    TenantChild,
    TenantOwned,
    TenantScope,
    current_scope,
    org_model,
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
    organization = org_model("Organization")
    if isinstance(obj, TenantChild):
        return _child_allowed(session, scope, obj, operation)
    if isinstance(obj, SharedDocument):
        sides = _sides(scope, obj)
        if len(sides) != 1 or None in sides:
            return False
        return _allowed_by_rules(type(obj), sides.pop(), obj, operation)
    if isinstance(obj, TenantOwned | MultiPartyDocument):
        return _sides(scope, obj) == {BUYER}
    if isinstance(obj, organization) and operation != "new":
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


# --------------------------------------------------------------------------- whose data a write changes


def organizations_written(session: Session, obj) -> set[int]:
    """The organisations whose data a write of `obj` changes, as they see it: the owner and,
    for a shared row, its supplier (before and after this flush); a child's parent's; a
    multi-party document's owner and every participant's supplier; an organisation itself and
    every organisation linked to it (its name shows on their documents). Empty for the rows no
    organisation reads (sign-in attempts, the outbox). Read in `after_flush`, where the flushed
    rows' keys are set (services/badges.py)."""
    if isinstance(obj, TenantChild):
        parents = (_parent_of(session, obj), _parent_of(session, obj, stored=True))
        return set().union(*(organizations_written(session, p) for p in parents if p is not None))
    if isinstance(obj, TenantOwned | SharedDocument | MultiPartyDocument):
        found = {org for pair in _owners(obj) for org in pair if org is not None}
        if isinstance(obj, MultiPartyDocument):
            found.update(p.supplier_id for p in getattr(obj, obj.__participants__))
        return found
    if isinstance(obj, org_model("Organization")) and obj.id is not None:
        link = org_model("SupplierLink").__table__
        rows = session.connection().execute(
            select(link.c.organization_id, link.c.supplier_id)
            .where((link.c.organization_id == obj.id) | (link.c.supplier_id == obj.id)))
        return {obj.id, *(org for row in rows for org in row if org is not None)}
    return set()
