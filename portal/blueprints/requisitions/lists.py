"""The requisition lists: "my requisitions" for buyers, all of the company's for approvers and
admins, with filters, search, sorting, keyset pages ("Newer"/"Older", a count bounded at
"1 000+") and a CSV export of the filtered list.

A page costs the same few queries whatever its number of rows or its depth (requester and cost
centre are joined in, pages are read from the index by cursor, the count stops at 1 001);
tests/web/test_list_queries.py counts them and tests/test_list_plans.py checks the plans.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import redirect, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_htmx import make_response as htmx_response
from flask_login import current_user, login_required

from portal import tenancy
from portal.blueprints.cache import cached_page
from portal.blueprints.edge import csv_response, in_transaction
from portal.blueprints.params import coerce_id, cursor_arg
from portal.blueprints.requisitions import bp, queries
from portal.blueprints.requisitions.forms import SORT_KEYS, FilterForm
from portal.domain.requisition import RequisitionStatus
from portal.domain.roles import Role
from portal.extensions import db, htmx
from portal.htmx import fragment
from portal.labels import requisition_status_kind, requisition_status_label
from portal.money import round_money
from portal.policies import authorize, can, require
from portal.services.approvals import queries as approval_queries

SCOPES = ("mine", "all")


def _filters(scope: str) -> tuple[FilterForm, queries.ListFilters]:
    """The filter form from the query string, and the filters it validly describes.

    An invalid value (a date like 2026-13-45) is shown beside its field and ignored.
    """
    form = FilterForm(formdata=request.args)
    form.set_choices(
        queries.cost_centers(active_only=False),
        queries.requesters(keep_id=_chosen_requester()) if scope == "all" else [],
    )
    form.validate()

    def ok(field):
        return None if field.errors else field.data

    sort = form.sort.data if form.sort.data in SORT_KEYS else "created"
    direction = form.dir.data if form.dir.data in ("asc", "desc") else "desc"
    form.sort.data, form.dir.data = sort, direction
    filters = queries.ListFilters(
        q=(ok(form.q) or "").strip(),
        status=form.status.data or "",
        cost_center_id=ok(form.cost_center),
        requester_id=ok(form.requester) if scope == "all" else None,
        created_from=ok(form.created_from),
        created_to=ok(form.created_to),
        amount_min=ok(form.amount_min),
        amount_max=ok(form.amount_max),
        sort=sort,
        direction=direction,
    )
    return form, filters


def _chosen_requester() -> int | None:
    try:
        return coerce_id(request.args.get("requester"))
    except ValueError:
        return None


def _timezone() -> str:
    return str(get_timezone())


def _list(scope: str):
    requester_id = current_user.id if scope == "mine" else None
    cursor = cursor_arg()
    endpoint = "requisitions.index" if scope == "mine" else "requisitions.all"
    block = fragment("results")

    built = {}

    def build():
        # The filter form reads its choices (cost centres, requesters): kept with the page.
        form, filters = built["form"] = _filters(scope)
        page = queries.list_page(filters, requester_id=requester_id, tz=_timezone(), cursor=cursor)
        pending = [r.id for r in page.items if r.status == RequisitionStatus.PENDING]
        return {"scope": scope, "endpoint": endpoint, "filters": form, "current": filters, "args": filters.args(),
                "page": page, "partial": bool(htmx) and block is not None,
                "waiting": approval_queries.waiting_on(pending),
                "badges": {s: (requisition_status_label(s), requisition_status_kind(s)) for s in RequisitionStatus}}

    body = cached_page("requisitions/index.html", build, block=block)
    if not (htmx and block):
        return body
    # The address bar shows the filters without the empty fields the form sent (the form the
    # page was built with, or, for a kept page, read again).
    args = (built.get("form") or _filters(scope))[1].args()
    if request.args.get("cursor"):
        args = {**args, "cursor": request.args["cursor"]}
    return htmx_response(body, push_url=url_for(endpoint, **args))


@bp.route("/")
@login_required
@require("requisitions.view")
def index():
    """The signed-in buyer's own requisitions. Approvers and admins who do not buy land on
    the company's list instead (they have no requisitions of their own)."""
    if not current_user.has_role(Role.BUYER) and can(current_user, "requisitions.view_all"):
        return redirect(url_for("requisitions.all", **request.args))
    return _list("mine")


@bp.route("/all")
@login_required
@require("requisitions.view_all")
def all():  # the endpoint is requisitions.all
    return _list("all")


# ---------------------------------------------------------------- CSV export


def _when(value: datetime | None, tz) -> str:
    if value is None:
        return ""
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


@bp.route("/export")
@in_transaction  # its rows stream from a server-side cursor (yield_per)
@login_required
@require("requisitions.view")
def export():
    """The filtered list as CSV (`csv_response`: the reader's separator and decimal mark,
    formula-safe cells), dates as ISO 8601. `scope=all` needs the right to see every
    requisition; otherwise it is the user's own.

    Rows are read and written in chunks while the response streams. Flask tears the request's
    session down when the view returns and the stream runs later, so everything the stream
    needs (filters, labels, time zone, tenant scope) is taken here and the query runs inside it.
    """
    scope = request.args.get("scope", "mine")
    if scope not in SCOPES:
        scope = "mine"
    if scope == "all":
        authorize("requisitions.view_all")
    _form, filters = _filters(scope)
    return csv_response(*export_table(scope, filters), stream=True)


def export_table(scope: str, filters: queries.ListFilters):
    """(filename, header, rows) of the filtered list's CSV, the rows a generator to stream: the
    page's export and GET /api/v1/exports/requisitions."""
    requester_id = current_user.id if scope == "mine" else None
    header = [
        _("Number"), _("Title"), _("Requester"), _("Cost centre"), _("Cost centre name"),
        _("Category"), _("Status"), _("Needed by"), _("Currency"), _("Net"), _("VAT"),
        _("Gross"), _("Created"), _("Submitted"), _("Decided"),
    ]
    status_labels = {status.value: str(requisition_status_label(status)) for status in RequisitionStatus}
    tz = get_timezone()
    tenant = tenancy.current_scope(db.session)

    def generate():
        with tenancy.bound(db.session, tenant):
            for row in queries.export_rows(filters, requester_id=requester_id, tz=str(tz)):
                (number, title, requester, cc_code, cc_name, category, status, needed_by,
                 currency, net, vat, gross, created, submitted, decided) = row
                yield [
                    number, title, requester, cc_code, cc_name, category,
                    status_labels.get(str(status), status), needed_by, currency,
                    _amount(net), _amount(vat), _amount(gross),
                    _when(created, tz), _when(submitted, tz), _when(decided, tz),
                ]

    filename = f"requisitions-{datetime.now(tz).date().isoformat()}.csv"
    return filename, header, generate()


def _amount(value) -> Decimal:
    return round_money(Decimal(value or 0))
