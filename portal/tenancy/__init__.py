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

from portal.tenancy import filter as _filter  # noqa: F401  (registers the read filter)
from portal.tenancy import guard as _guard  # noqa: F401  (registers the flush guard)
from portal.tenancy.guard import organizations_written
from portal.tenancy.scope import (
    ALL_FIELDS,
    ALL_TENANTS,
    BUYER,
    SUPPLIER,
    MultiPartyDocument,
    SharedDocument,
    TenantChild,
    TenantOwned,
    TenantScope,
    bind,
    bound,
    bound_to,
    current_scope,
    for_each_organization,
    read_scope_links,
    register_org_models,
    scope_columns,
    scope_for,
    system,
)

__all__ = [
    "ALL_FIELDS",
    "ALL_TENANTS",
    "BUYER",
    "SUPPLIER",
    "MultiPartyDocument",
    "SharedDocument",
    "TenantChild",
    "TenantOwned",
    "TenantScope",
    "bind",
    "bound",
    "bound_to",
    "current_scope",
    "for_each_organization",
    "organizations_written",
    "register_org_models",
    "read_scope_links",
    "scope_columns",
    "scope_for",
    "system",
]
