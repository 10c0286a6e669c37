"""What the requisition pages share: the editability check, and the context of the
detail and edit pages (so a full page and its htmx fragments render from the same data)."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, render_template
from flask_babel import gettext as _
from flask_login import current_user

from portal.blueprints.requisitions import queries
from portal.blueprints.requisitions.forms import (
    ActionForm,
    CancelForm,
    CatalogSearchForm,
    CommentForm,
    LineForm,
    RequisitionForm,
    UploadForm,
)
from portal.domain.approval import TaskStatus
from portal.domain.catalog import format_rate
from portal.domain.requisition import RequisitionStatus
from portal.errors import InvalidTransition
from portal.labels import requisition_status_label
from portal.models import Requisition, RequisitionLine
from portal.policies import can
from portal.services import agreements, approvals, budgets
from portal.services.approvals import blocked
from portal.services.approvals import queries as approval_queries
from portal.services.requisitions import (
    ALLOWED_ATTACHMENT_TYPES,
    MAX_ATTACHMENT_BYTES,
)


def require_editable(req: Requisition) -> None:
    """The requester may change a draft; for anything else say why (or 403 for others)."""
    if can(current_user, "requisitions.edit", req):
        return
    if req.requester_id != current_user.id:
        abort(403)
    raise InvalidTransition(
        _("Only a draft can be changed. %(number)s is %(status)s.", number=req.number,
          status=requisition_status_label(req.status).lower())
    )


def fragments(*parts: tuple[str, dict]) -> str:
    """Several partial templates rendered one after another (a target plus its OOB swaps)."""
    return "".join(render_template(template, **ctx) for template, ctx in parts)


# ---------------------------------------------------------------- the header form


def header_form(req: Requisition | None = None, formdata=None) -> RequisitionForm:
    """The header form with the company's active cost centres and categories as choices.

    A draft keeps its current cost centre and category listed even if since deactivated, so
    the form shows what is saved (the service then says it can no longer be used).
    """
    if req is None:
        form = RequisitionForm(formdata=formdata, currency=current_user.organization.currency)
    else:
        form = RequisitionForm(formdata=formdata, obj=req)
    keep_cc = req.cost_center_id if req else None
    keep_cat = req.category_id if req else None
    form.set_choices(
        queries.cost_centers(active_only=True, keep_id=keep_cc),
        queries.categories(keep_id=keep_cat),
    )
    policy = approvals.policy_for(current_user.organization_id)
    return form.require_category() if policy is not None and policy.category_required else form


def header_values(form: RequisitionForm) -> dict:
    return {
        "title": form.title.data or "",
        "justification": form.justification.data or "",
        "needed_by": form.needed_by.data,
        "cost_center": queries.find_cost_center(form.cost_center_id.data),
        "category": queries.find_category(form.category_id.data),
        "currency": form.currency.data,
    }


# ---------------------------------------------------------------- the line editor


def line_prefix(line: RequisitionLine) -> str:
    """Each row being edited has its own field names and ids (several forms on one page)."""
    return f"line{line.id}"


def line_form(req: Requisition, *, line: RequisitionLine | None = None, formdata=None,
              item=None, suppliers=None) -> LineForm:
    """The add form (line=None), prefilled from `item` when one was picked, or a row's form."""
    if suppliers is None:
        suppliers = queries.active_suppliers(req.organization_id)
    if line is not None:
        form = LineForm(formdata=formdata, obj=line, prefix=line_prefix(line))
        if formdata is None:  # the stored 23.00 is the choice "23"
            form.vat_rate.data = _rate_choice(line.vat_rate)
    elif item is not None and formdata is None:
        price, supplier_id = catalog_defaults(req, item, suppliers)
        form = LineForm(
            formdata=None, item_id=item.id, description=item.name, unit=item.unit,
            unit_price=price, vat_rate=_rate_choice(item.default_vat_rate),
            suggested_supplier_id=supplier_id,
        )
    else:
        form = LineForm(formdata=formdata)
    keep_unit = line.unit if line is not None else (item.unit if item is not None else None)
    return form.set_choices(suppliers, keep_unit=keep_unit)


def catalog_defaults(req: Requisition, item, suppliers, quantity=Decimal(1)):
    """(unit price, suggested supplier id) of a catalog line: the price agreed today in the
    requisition's currency (for `quantity`'s tier) and its supplier come first, else the list
    price and the preferred supplier; a supplier without an active link is no suggestion."""
    agreed = agreements.agreed_price(item, req.currency, quantity=quantity)
    price, supplier_id = item.list_price, item.preferred_supplier_id
    if agreed is not None:
        price, supplier_id = agreed[0], agreed[1].supplier_id
    return price, supplier_id if supplier_id in {org.id for org in suppliers} else None


def catalog_line(req: Requisition, item, quantity: Decimal) -> dict:
    """Keyword arguments for `services.requisitions.add_line` adding `quantity` of a catalog
    item with the add form's defaults (agreed price and supplier, unit, VAT)."""
    price, supplier_id = catalog_defaults(req, item, queries.active_suppliers(req.organization_id),
                                          quantity)
    return {"item": item, "description": item.name, "quantity": quantity, "unit": item.unit,
            "unit_price": price, "vat_rate": item.default_vat_rate,
            "suggested_supplier_id": supplier_id}


def _rate_choice(rate) -> str:
    return format_rate(rate) if rate is not None else "23"


def editor_context(req: Requisition, *, form=None, add_form=None, picked=None,
                   edit_line=None, edit_form=None, catalog_q: str = "", catalog_items=None):
    """Everything the edit page and its fragments need."""
    suppliers = queries.active_suppliers(req.organization_id)
    if add_form is None:
        add_form = line_form(req, item=picked, suppliers=suppliers)
    if edit_line is not None and edit_form is None:
        edit_form = line_form(req, line=edit_line, suppliers=suppliers)
    return {
        "req": req,
        "form": form or header_form(req),
        "add_form": add_form,
        "picked": picked if picked is not None else queries.find_item(add_form.item_id.data),
        "edit_line_id": edit_line.id if edit_line is not None else None,
        "edit_form": edit_form,
        "catalog_q": catalog_q,
        "catalog_items": catalog_items,
        "catalog_form": CatalogSearchForm(formdata=None, q=catalog_q),
        "returned": queries.last_return(req),
        "action_form": ActionForm(),
    }


# ---------------------------------------------------------------- the detail page


def detail_context(req: Requisition, *, upload_form=None, upload_error: str | None = None,
                   comment_form=None, cancel_form=None):
    """The detail page: facts, lines, approval rounds, files, comments and the timeline."""
    # A requisition never submitted (round 0) has no approval tasks to read.
    tasks = approvals.tasks_of(req) if req.approval_round else []
    current = [t for t in tasks if t.round == req.approval_round]
    previous: dict[int, list] = {}
    for task in tasks:
        if task.round != req.approval_round:
            previous.setdefault(task.round, []).append(task)
    active_task = next((t for t in current if t.status == TaskStatus.PENDING), None)
    upload_form = upload_form or UploadForm(formdata=None)
    upload_form.file.render_kw = {"accept": ",".join(ALLOWED_ATTACHMENT_TYPES)}
    if upload_error:
        upload_form.file.errors = [upload_error]
    return {
        "req": req,
        "current_tasks": current,
        "previous_rounds": sorted(previous.items(), reverse=True),
        "active_task": active_task,
        "impact": budgets.impact(req) if req.status in (RequisitionStatus.DRAFT, RequisitionStatus.PENDING) else None,
        # Approving the active step would be refused by the budget; who it waits on, since when;
        # where a draft would go if submitted now.
        "budget_block": blocked.budget_block(active_task) if active_task else None,
        "waiting": approval_queries.waiting_on_task(active_task),
        "route": approval_queries.expected_route(req) if req.status == RequisitionStatus.DRAFT else None,
        "events": queries.timeline_of(req),
        "attachments": queries.attachments_of(req),
        "comments": queries.comments_of(req),
        "upload_form": upload_form,
        "comment_form": comment_form or CommentForm(formdata=None),
        "cancel_form": cancel_form or CancelForm(formdata=None),
        "action_form": ActionForm(),
        "allowed_types": ", ".join(ext.lstrip(".").upper()
                                   for ext in ALLOWED_ATTACHMENT_TYPES if ext != ".jpeg"),
        "max_mb": MAX_ATTACHMENT_BYTES // (1024 * 1024),
    }
