"""Every escape from tenant scoping in portal/ is listed here, with the reason it is safe.

The scan finds, with Python's own parser (comments and docstrings do not count):
- `ALL_TENANTS` / `all_tenants=` / "all_tenants": a query that skips the tenant filter;
- `system(...)`: a block with no filter and no write guard;
- `bound(...)` / `bind(...)` / `bound_to(...)` / `for_each_organization(...)`: a block acting
  as a chosen organisation (a write into it);
- "tenant_system" / "tenant_scope": the session keys behind those, touched directly;
- `text(...)`, `exec_driver_sql(...)`, `.engine`, the legacy `bulk_*` session methods: SQL
  that never meets the ORM filter or the flush guard.

A new use fails `test_every_escape_hatch_is_listed`: read it, make sure it cannot show or change
another company's data on behalf of the wrong person, then add it to ALLOWED below as
(file, function) -> why. Remove entries whose use is gone (`test_no_stale_entries`).
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from pathlib import Path

PORTAL = Path(__file__).resolve().parents[2] / "portal"

# The mechanism itself: it defines and reads these names.
MECHANISM = {f"portal/tenancy/{name}.py" for name in ("__init__", "scope", "filter", "guard")}

ALLOWED: dict[tuple[str, str], str] = {
    # --- partial-index predicates: DDL, never a query ----------------------------------
    ("portal/models/approval.py", "ApprovalAssignment"):
        "the WHERE of the open-assignment index (schema text, no rows read or written)",
    ("portal/models/notification.py", "Notification"):
        "the WHERE of the read/unread notification indexes (schema text, no rows read or written)",
    ("portal/models/user.py", "Invitation"):
        "the WHERE of the open-invitation index (schema text, no rows read or written)",
    # --- sign-in and sessions: the organisation is not known until the user is -----------
    ("portal/__init__.py", "_load_user"):
        "loads the session's user by id (ALL_TENANTS) before the request is bound to its org",
    ("portal/__init__.py", "_init_tenancy.bind_request_scope"):
        "binds each request to the signed-in user's own organisation (or to none)",
    # --- the REST API: the organisation is not known until the token is ---------------------
    ("portal/services/integration/tokens.py", "find"):
        "finds an API token by the SHA-256 of the presented secret (ALL_TENANTS) before the "
        "request is bound; the token then binds its own organisation",
    ("portal/blueprints/api/core.py", "authenticate"):
        "binds each API request to its token's own organisation (the token's user's)",
    ("portal/services/integration/tokens.py", "touch"):
        "writes the token's own last-use time on a connection of its own (`.engine`), by its id",
    ("portal/services/badges.py", "_poller_statement"):
        "a badge poll reads the session's user by id (ALL_TENANTS) with the badge version of "
        "that user's own organisation, before the request is bound; the caller checks the "
        "session version and the policy, and answers only 304 or falls back to the view",
    ("portal/services/badges.py", "poller"):
        "runs that one statement on a pooled connection of its own (`.engine`): a read only",
    ("portal/services/badges.py", "_upsert"):
        "bumps the badge versions of the (organisation, scope) pairs the committing transaction's "
        "own rows named (their organisation_id, after the write guard passed them); reads nothing",
    ("portal/services/badges.py", "_bump_every"):
        "after a bulk UPDATE/DELETE run for no organisation (a job, a command), bumps every "
        "organisation's data version (a number, the list caches' key); reads and shows nothing",
    ("portal/services/badges.py", "_note_bulk"):
        "reads whether the session acts for no organisation (`system`) only to note that a bulk "
        "write there may have changed any organisation's data; reads no rows",
    ("portal/services/auth.py", "find_user_by_email"):
        "sign-in and password reset know only the email; the caller checks the password/token",
    ("portal/services/auth.py", "authenticate"):
        "after the password matched, writes last_login_at/rehash as the user's own org",
    ("portal/services/auth.py", "reset_password"):
        "the unguessable reset token names the user; writes the new password as their own org",
    ("portal/services/users.py", "email_taken"):
        "an email signs in to exactly one account, so uniqueness is checked across all orgs; "
        "answers only yes/no",
    # --- invitations: the invitee is not (yet) a member of the inviting organisation ------
    ("portal/services/invitations.py", "find_by_token"):
        "the unguessable invitation token is the only key; the invitee has no org yet",
    ("portal/services/invitations.py", "accept_invitation"):
        "creates the invited user inside the inviting organisation named by the token",
    ("portal/blueprints/invitations/views.py", "accept"):
        "signs the freshly created user in; loading them needs their new organisation's scope",
    ("portal/services/supplier_invitations/joining.py", "find_by_token"):
        "the unguessable supplier-invitation token is the only key; the invitee is another org",
    ("portal/services/supplier_invitations/joining.py", "_link_for_buyer"):
        "consumes the buyer's invitation and creates the link in the buyer's scope, nothing else",
    ("portal/services/supplier_invitations/joining.py", "register_supplier"):
        "creates the new supplier organisation's first user inside that new organisation",
    ("portal/services/suppliers.py", "find_link_between"):
        "a blocked link is hidden from the supplier; accepting/inviting must still see it "
        "(returned to services only, never rendered to the other side)",
    ("portal/services/suppliers.py", "_attach_actors"):
        "names the supplier-side actors of timeline events the filter already admitted",
    ("portal/services/price_proposals.py", "_buyer_items"):
        "a supplier proposing prices to a customer (its own active link, checked first) matches "
        "the rows' SKUs against that customer's active items: only those SKUs, that customer",
    ("portal/services/price_proposals.py", "item_names"):
        "the names of the items of a proposal the tenant filter admitted (its lines' item ids, "
        "the proposal's buyer only), so the supplier sees what each proposed price is for",
    ("portal/services/agreements.py", "item_labels"):
        "SKU, name and unit of the buyer's items named by price agreements the filter already "
        "admitted to the supplier they are addressed to (three columns, those ids only)",
    # --- sourcing: the one deliberate write across parties -----------------------------------
    ("portal/services/notifications.py", "notify_organization"):
        "writes notifications (and their outbox e-mails) for the active users of one other "
        "organisation under that organisation's own scope (the flush guard checks them); every "
        "caller passes a party of the object at hand (an order's supplier or buyer, an RFQ's "
        "invited suppliers or its buyer), never an id from a request",
    ("portal/services/sourcing/quotes.py", "_snapshot"):
        "not SQL: a local helper named text() that turns a quote's values into strings for the "
        "revision snapshot (the scanner matches the name)",
    # --- the filter's own plumbing ---------------------------------------------------------
    ("portal/blueprints/requisitions/lists.py", "export_table.generate"):
        "the streamed CSV runs after the request's binding is gone: re-binds the same scope",
    ("portal/blueprints/edge.py", "scoped_rows.generate"):
        "a streamed CSV (the pages' exports and the API's) runs after the request's binding is "
        "gone: re-binds the same scope (the signed-in user's or the token's organisation, read "
        "when the view built the response)",
    # --- seeding and maintenance (CLI) -------------------------------------------------------
    ("portal/models/invoice_totals.py", "rebuild"):
        "recomputes the stored aging and statement figures of every company from the documents "
        "(INSERT … SELECT): called by the bench loader after its bulk load (under system()); it "
        "reads nothing back to anyone",
    ("portal/models/invoice_aging.py", "rebuild"):
        "recomputes the aging pages' stored figures of every company from the stored open amounts "
        "(INSERT … SELECT), as part of invoice_totals.rebuild; it reads nothing back to anyone",
    ("portal/services/demo.py", "_user"):
        "idempotent demo seeding looks for an existing user by email (runs under system())",
    ("portal/services/demo_sourcing.py", "_tatra"):
        "idempotent demo seeding of the third supplier looks its user up by email (under "
        "system(), `flask seed-demo` only)",
    ("portal/services/demo_invoicing.py", "_Invoicing.scope"):
        "demo seeding (`flask seed-demo`, under system()) runs each invoicing step as the "
        "organisation whose person acts: the supplier drafts and issues, the buyer approves and pays",
    ("portal/services/demo_requisitions.py", "_people"):
        "idempotent demo seeding of extra approvers looks them up by email (under system())",
    ("portal/cli.py", "register_cli.seed_demo_command"):
        "seeding the demo world writes into every organisation",
    ("portal/cli.py", "register_cli.create_admin_command"):
        "creates a new organisation and its first admin from the command line",
    ("portal/cli.py", "register_cli.seed_bench_command"):
        "the benchmark generator writes a large company and noise companies (CLI only)",
    ("portal/services/bench_load.py", "Loader._sql"):
        "drops and re-creates the bulk-loaded tables' own indexes and foreign keys (from the "
        "definitions the database reported) and sets the loading connection's pragmas; the "
        "generated rows carry the organisation ids set by the generator (`flask seed-bench` only)",
    ("portal/services/bench_seed.py", "refresh_statistics"):
        "ANALYZE after the bulk load (`flask seed-bench` only); reads no company data",
    ("portal/services/bench_seed.py", "_fix_sequences"):
        "moves PostgreSQL id sequences past the generated ids (`flask seed-bench` only)",
    # --- background jobs (portal/jobs): no request, no signed-in user ----------------------
    ("portal/jobs/reminders.py", "send_reminders"):
        "the reminder job runs once per buying organisation, bound to each in turn",
    ("portal/jobs/deadlines.py", "close_expired_rfqs"):
        "the RFQ deadline job runs once per buying organisation, bound to each in turn",
    ("portal/jobs/payment_reminders.py", "send_payment_reminders"):
        "the payment-reminder job runs once per buying organisation, bound to each in turn "
        "(its own transaction each); it reminds that organisation of its own open invoices",
    ("portal/jobs/monthly_invoices.py", "draft_monthly"):
        "the monthly invoicing run drafts once per supplier organisation, bound to each in turn "
        "(its own transaction each), from that supplier's own links and received order lines",
    ("portal/jobs/outbox.py", "_own_session"):
        "outbox delivery uses a session of its own (it runs inside another session's commit); "
        "the outbox is not tenant-owned",
    ("portal/jobs/outbox.py", "_email_of"):
        "loads the recipient named by an outbox row the portal itself wrote, to address and "
        "render their e-mail; nothing is shown to anyone else",
    ("portal/jobs/rendering.py", "external_url"):
        "werkzeug's url_map.bind (a URL adapter for BASE_URL), not a tenant scope",
    ("portal/services/webhook_events.py", "subscribed"):
        "an action's webhook event reads the endpoints (ALL_TENANTS) of the organisations its "
        "object names (the owner, the document's supplier, an RFQ's invited suppliers): only "
        "their id, organisation and events, to queue the outbox rows; nothing is shown to anyone",
    ("portal/jobs/webhooks.py", "attempt"):
        "webhook delivery (own session, system()): the endpoint and delivery log named by an "
        "outbox row the portal itself wrote; it writes that delivery's attempt into the "
        "endpoint's own organisation's log",
    ("portal/jobs/webhooks.py", "_record"):
        "records the attempt's outcome (system()) on the delivery and endpoint named by the "
        "portal's own outbox row; nothing is shown to anyone else",
    ("portal/jobs/webhooks.py", "_session"):
        "webhook delivery uses a session of its own (`.engine`), apart from the outbox's",
    ("portal/cli.py", "worker_command"):
        "disposes of the engine's pooled connections before RQ forks; reads nothing",
    ("portal/cli.py", "api_token_create_command"):
        "the operator's command (no signed-in person): finds the user named by --email and "
        "issues the token in that user's own organisation, by an admin of it",
    ("portal/cli.py", "api_token_revoke_command"):
        "the operator's command: revokes the token named by id, as an admin of its own "
        "organisation",
    ("portal/cli.py", "api_token_list_command"):
        "the operator's command: lists every organisation's tokens (name, start of the "
        "secret, who it acts as) on the server's console; never the secrets",
    ("portal/extensions.py", "_begin_before_a_first_savepoint"):
        "emits BEGIN on SQLite before a first SAVEPOINT (so a rollback undoes it); no data",
}

_SESSION_KEYS = {"all_tenants", "tenant_system", "tenant_scope"}
_CALLS = {
    "system", "bound", "bind", "bound_to", "for_each_organization", "text", "exec_driver_sql",
    "bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings",
}


def _escapes(path: Path) -> dict[str, set[str]]:
    """qualified function name -> kinds of escape used in it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: dict[str, set[str]] = defaultdict(set)

    def visit(node, owner: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = owner
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{owner}.{child.name}" if owner else child.name
            kind = None
            identifier = getattr(child, "id", None) or getattr(child, "attr", None)
            if isinstance(child, ast.Name | ast.Attribute) and identifier == "ALL_TENANTS":
                kind = "ALL_TENANTS"
            elif isinstance(child, ast.Attribute) and child.attr == "engine":
                kind = ".engine"
            elif isinstance(child, ast.keyword) and child.arg == "all_tenants":
                kind = "all_tenants="
            elif isinstance(child, ast.Constant) and child.value in _SESSION_KEYS:
                kind = repr(child.value)
            elif isinstance(child, ast.Call):
                func = child.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if called in _CALLS:
                    kind = f"{called}()"
            if kind:
                found[owner or "<module>"].add(kind)
            visit(child, name)

    visit(tree, "")
    return found


@functools.cache
def _scan() -> dict[tuple[str, str], set[str]]:
    uses = {}
    for path in sorted(PORTAL.rglob("*.py")):
        relative = path.relative_to(PORTAL.parent).as_posix()
        if relative in MECHANISM:
            continue
        for function, kinds in _escapes(path).items():
            uses[(relative, function)] = kinds
    return uses


def test_scan_finds_known_escapes():
    uses = _scan()
    assert "ALL_TENANTS" in uses[("portal/__init__.py", "_load_user")]
    assert "bind()" in uses[("portal/__init__.py", "_init_tenancy.bind_request_scope")]
    assert "system()" in uses[("portal/cli.py", "register_cli.seed_demo_command")]


def test_every_escape_hatch_is_listed():
    unlisted = {key: kinds for key, kinds in _scan().items() if key not in ALLOWED}
    assert not unlisted, (
        "New cross-tenant escape hatches in portal/: "
        + "; ".join(f"{path}:{fn} uses {', '.join(sorted(kinds))}"
                    for (path, fn), kinds in sorted(unlisted.items()))
        + ". Each one must be rare and safe: read it, make sure it cannot show or change another "
        "company's data for the wrong person, then list it with the reason in ALLOWED in "
        f"{Path(__file__).name}."
    )


def test_no_stale_entries():
    stale = sorted(set(ALLOWED) - set(_scan()))
    assert not stale, f"ALLOWED lists uses that are gone; remove them: {stale}"


def test_every_entry_says_why():
    assert all(len(why) > 20 for why in ALLOWED.values())
