"""Requisitions: drafting, lines and totals, attachments, comments, and the lifecycle moves
that do not need an approver (submit is in services/approvals.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from portal.domain.approval import OPEN_TASK, TaskStatus
from portal.domain.labels import requisition_status_word
from portal.domain.messages import N_, Msg
from portal.domain.requisition import (
    Action,
    RequisitionStatus,
    TransitionRefused,
    cancel_move,
    document_totals,
    format_number,
    line_totals,
    next_status,
)
from portal.domain.vat import TAXED_RATES
from portal.errors import InvalidTransition, ValidationProblem
from portal.extensions import db
from portal.models import (
    ApprovalTask,
    Attachment,
    Category,
    Comment,
    CostCenter,
    Item,
    Requisition,
    RequisitionLine,
)
from portal.models.base import utcnow
from portal.money import is_currency
from portal.policies import enforce
from portal.services import audit, budgets
from portal.services.locks import created, lock_requisition, locked_tasks

MAX_JUSTIFICATION = 5000
MAX_LINES = 200
VAT_RATES = TAXED_RATES
ALLOWED_ATTACHMENT_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
}
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 20
# The largest amount the Amount columns (NUMERIC(14, 2)) hold: a bigger line or total must be a
# message, not a database error at flush.
MAX_AMOUNT = Decimal("999999999999.99")


def move(req: Requisition, action: Action) -> RequisitionStatus:
    """Apply the transition table to `req`, or raise InvalidTransition with the table's message."""
    try:
        req.status = next_status(req.status, action)
    except TransitionRefused as exc:
        # The domain names the status by its code; the reader sees its translated label.
        params = {**exc.msg.params,
                  "status": requisition_status_word(exc.msg.params["status"])}
        raise InvalidTransition(Msg(exc.msg.text, params)) from exc
    return req.status


def _require_editable(req: Requisition, actor) -> None:
    """Only the requester changes a requisition, only while it is a draft (read again under
    the row lock: a page loaded before a submit cannot change what was submitted)."""
    lock_requisition(req, tasks=False)
    enforce(actor, "requisitions.edit", req)


def _check_header(*, title, justification, needed_by, cost_center, currency, today) -> None:
    if not title or not title.strip():
        raise ValidationProblem(Msg(N_("Enter a title.")))
    if len(title) > 200:
        raise ValidationProblem(Msg(N_("The title may be at most 200 characters.")))
    if justification and len(justification) > MAX_JUSTIFICATION:
        raise ValidationProblem(
            Msg(N_("The justification may be at most %(n)s characters."), {"n": MAX_JUSTIFICATION})
        )
    if cost_center is None:
        raise ValidationProblem(Msg(N_("Choose a cost centre.")))
    if not cost_center.is_active:
        raise ValidationProblem(Msg(N_("This cost centre is no longer active.")))
    if needed_by is not None and needed_by < today:
        raise ValidationProblem(Msg(N_("The needed-by date cannot be in the past.")))
    if not is_currency(currency):
        raise ValidationProblem(Msg(N_("Choose a currency from the list.")))


def create_requisition(
    actor,
    *,
    title: str,
    cost_center: CostCenter | None,
    justification: str = "",
    needed_by: date | None = None,
    category: Category | None = None,
    currency: str | None = None,
    today: date | None = None,
) -> Requisition:
    """Create a draft requisition numbered REQ-<year>-<seq> for the actor's company."""
    from portal.services.numbering import next_sequence

    enforce(actor, "requisitions.create")
    now = utcnow()
    today = today or now.date()
    currency = currency or actor.organization.currency
    _check_header(title=title, justification=justification, needed_by=needed_by,
                  cost_center=cost_center, currency=currency, today=today)
    seq = next_sequence(actor.organization_id, "REQ", now.year)
    req = Requisition(
        organization_id=actor.organization_id,
        number=format_number("REQ", now.year, seq),
        title=title.strip(),
        justification=(justification or "").strip(),
        needed_by=needed_by,
        cost_center_id=cost_center.id,
        category_id=category.id if category else None,
        currency=currency,
        requester_id=actor.id,
        status=RequisitionStatus.DRAFT,
        lines=[],  # known to be empty: the first add_line reads no lines
    )
    db.session.add(req)
    db.session.flush()
    created(req)
    audit.record(actor=actor, action="requisition.created", obj=req, summary={"number": req.number})
    return req


def update_header(
    req: Requisition,
    actor,
    *,
    title: str,
    cost_center: CostCenter | None,
    justification: str = "",
    needed_by: date | None = None,
    category: Category | None = None,
    currency: str | None = None,
    today: date | None = None,
) -> Requisition:
    """Change a draft's header fields."""
    _require_editable(req, actor)
    currency = currency or req.currency
    _check_header(title=title, justification=justification, needed_by=needed_by,
                  cost_center=cost_center, currency=currency, today=today or utcnow().date())
    req.title = title.strip()
    req.justification = (justification or "").strip()
    req.needed_by = needed_by
    req.cost_center_id = cost_center.id
    req.category_id = category.id if category else None
    req.currency = currency
    db.session.flush()
    return req


def _check_line(quantity: Decimal, unit_price: Decimal, vat_rate: Decimal, description: str) -> None:
    # NaN and Infinity parse as Decimals (a form's DecimalField takes "nan"): refuse them before
    # any comparison, which would raise InvalidOperation (a 500) instead of a message.
    if quantity is not None and not quantity.is_finite():
        raise ValidationProblem(Msg(N_("Enter the quantity as a number.")))
    if unit_price is not None and not unit_price.is_finite():
        raise ValidationProblem(Msg(N_("Enter the unit price as a number.")))
    if vat_rate is not None and not vat_rate.is_finite():
        raise ValidationProblem(Msg(N_("Choose a VAT rate of 23, 8, 5 or 0 %.")))
    if quantity is None or quantity <= 0:
        raise ValidationProblem(Msg(N_("The quantity must be greater than zero.")))
    # normalize(): "2.5000" typed in a form is 2.5, one decimal place, not four.
    if quantity.normalize().as_tuple().exponent < -3:
        raise ValidationProblem(Msg(N_("The quantity may have at most 3 decimal places.")))
    if quantity >= Decimal("1000000000"):
        raise ValidationProblem(Msg(N_("The quantity is too large.")))
    if unit_price is None or unit_price < 0:
        raise ValidationProblem(Msg(N_("The unit price cannot be negative.")))
    if unit_price.normalize().as_tuple().exponent < -4:
        raise ValidationProblem(Msg(N_("The unit price may have at most 4 decimal places.")))
    if unit_price >= Decimal("100000000000000"):
        raise ValidationProblem(Msg(N_("The unit price is too large.")))
    if vat_rate not in VAT_RATES:
        raise ValidationProblem(Msg(N_("Choose a VAT rate of 23, 8, 5 or 0 %.")))
    if not description or not description.strip():
        raise ValidationProblem(Msg(N_("Describe what to buy, or pick a catalog item.")))
    if len(description) > 300:
        raise ValidationProblem(Msg(N_("The description may be at most 300 characters.")))


def _apply_line(line: RequisitionLine, *, item, description, quantity, unit, unit_price, vat_rate,
                suggested_supplier_id) -> None:
    if item is not None and not item.is_active:
        raise ValidationProblem(Msg(N_("The item %(sku)s is deactivated and cannot be ordered."), {"sku": item.sku}))
    description = (description or (item.name if item else "")).strip()
    quantity = Decimal(quantity) if quantity is not None else None
    unit_price = Decimal(unit_price) if unit_price is not None else None
    vat_rate = Decimal(vat_rate) if vat_rate is not None else None
    _check_line(quantity, unit_price, vat_rate, description)
    totals = line_totals(quantity, unit_price, vat_rate)
    if totals.gross > MAX_AMOUNT:
        raise ValidationProblem(Msg(N_("The line total is too large.")))
    line.item_id = item.id if item else None
    line.description = description
    line.quantity = quantity
    line.unit = (unit or (item.unit if item else "pcs"))[:20]
    line.unit_price = unit_price
    line.vat_rate = vat_rate
    line.suggested_supplier_id = suggested_supplier_id
    line.net, line.vat, line.gross = totals.net, totals.vat, totals.gross


def recompute_totals(req: Requisition) -> None:
    totals = document_totals(req.lines)
    if totals.gross > MAX_AMOUNT:
        raise ValidationProblem(Msg(N_("The requisition total would be too large.")))
    req.net_total, req.vat_total, req.gross_total = totals.net, totals.vat, totals.gross


def add_line(
    req: Requisition,
    actor,
    *,
    item: Item | None = None,
    description: str = "",
    quantity: Decimal,
    unit: str = "",
    unit_price: Decimal | None = None,
    vat_rate: Decimal | None = None,
    suggested_supplier_id: int | None = None,
) -> RequisitionLine:
    """Add a line: a catalog item (price, unit and VAT prefilled from it) or free text."""
    _require_editable(req, actor)
    if len(req.lines) >= MAX_LINES:
        raise ValidationProblem(Msg(N_("A requisition may have at most %(n)s lines."), {"n": MAX_LINES}))
    if item is not None:
        unit_price = unit_price if unit_price is not None else (item.list_price or Decimal("0"))
        vat_rate = vat_rate if vat_rate is not None else item.default_vat_rate
        suggested_supplier_id = suggested_supplier_id or item.preferred_supplier_id
    line = RequisitionLine(organization_id=req.organization_id,
                           position=max((li.position for li in req.lines), default=0) + 1)
    _apply_line(line, item=item, description=description, quantity=quantity, unit=unit,
                unit_price=unit_price, vat_rate=vat_rate, suggested_supplier_id=suggested_supplier_id)
    req.lines.append(line)
    recompute_totals(req)
    # Not flushed here: the lines of one action (a draft created and filled at once, a
    # duplicate) go in at its commit, in one flush with a single UPDATE of the totals.
    return line


def update_line(req: Requisition, line: RequisitionLine, actor, **fields) -> RequisitionLine:
    """Change a line of a draft; totals are recomputed."""
    _require_editable(req, actor)
    if line.requisition_id != req.id and line.requisition is not req:  # (not flushed yet: added in this action)
        raise ValidationProblem(Msg(N_("This line belongs to another requisition.")))
    item = fields.pop("item", line.item)
    values = dict(description=line.description, quantity=line.quantity, unit=line.unit,
                  unit_price=line.unit_price, vat_rate=line.vat_rate,
                  suggested_supplier_id=line.suggested_supplier_id)
    values.update(fields)
    _apply_line(line, item=item, **values)
    recompute_totals(req)
    db.session.flush()
    return line


def remove_line(req: Requisition, line: RequisitionLine, actor) -> None:
    _require_editable(req, actor)
    if line.requisition_id != req.id and line.requisition is not req:  # (not flushed yet: added in this action)
        raise ValidationProblem(Msg(N_("This line belongs to another requisition.")))
    req.lines.remove(line)
    for position, remaining in enumerate(req.lines, start=1):
        remaining.position = position
    recompute_totals(req)
    db.session.flush()


def duplicate_requisition(source: Requisition, actor, *, today: date | None = None) -> Requisition:
    """A new draft with the header and lines of `source`; deactivated items become free text."""
    cost_center = source.cost_center if source.cost_center.is_active else None
    if cost_center is None:
        raise ValidationProblem(Msg(N_("The cost centre of that requisition is no longer active.")))
    needed_by = source.needed_by
    if needed_by is not None and needed_by < (today or utcnow().date()):
        needed_by = None
    copy = create_requisition(
        actor, title=source.title, cost_center=cost_center, justification=source.justification,
        needed_by=needed_by, category=source.category, currency=source.currency, today=today,
    )
    for line in source.lines:
        item = line.item if line.item is not None and line.item.is_active else None
        add_line(copy, actor, item=item, description=line.description, quantity=line.quantity,
                 unit=line.unit, unit_price=line.unit_price, vat_rate=line.vat_rate,
                 suggested_supplier_id=line.suggested_supplier_id)
    audit.record(actor=actor, action="requisition.duplicated", obj=copy,
                 summary={"from": source.number})
    return copy


def attachment_problem(filename: str, content_type: str, size: int):
    """Why a file cannot be attached (a message), or None."""
    name = (filename or "").lower()
    extension = name[name.rfind("."):] if "." in name else ""
    if extension not in ALLOWED_ATTACHMENT_TYPES:
        return Msg(N_("Files of this type cannot be attached. Allowed: PDF, PNG, JPG, TXT, CSV, DOCX, XLSX, ODT, ODS."))
    if size > MAX_ATTACHMENT_BYTES:
        return Msg(N_("The file is larger than %(mb)s MB."), {"mb": MAX_ATTACHMENT_BYTES // (1024 * 1024)})
    if size == 0:
        return Msg(N_("The file is empty."))
    return None


def add_attachment(req: Requisition, actor, *, filename: str, content_type: str, data: bytes) -> Attachment:
    """Attach a file while the requisition is a draft or pending; type and size are limited."""
    enforce(actor, "requisitions.attach", req)
    problem = attachment_problem(filename, content_type, len(data))
    if problem:
        raise ValidationProblem(problem)
    if len(req.attachments) >= MAX_ATTACHMENTS:
        raise ValidationProblem(Msg(N_("A requisition may have at most %(n)s files."), {"n": MAX_ATTACHMENTS}))
    safe_name = filename.replace("/", "_").replace("\\", "_").strip()[:200]
    extension = safe_name.lower()[safe_name.rfind("."):]
    attachment = Attachment(
        organization_id=req.organization_id, filename=safe_name,
        content_type=ALLOWED_ATTACHMENT_TYPES[extension], size=len(data), data=data,
        uploaded_by_id=actor.id,
    )
    req.attachments.append(attachment)
    db.session.flush()
    audit.record(actor=actor, action="requisition.file_attached", obj=req, summary={"file": safe_name})
    return attachment


def add_comment(req: Requisition, actor, body: str) -> Comment:
    """Add to the requisition's comment thread."""
    body = (body or "").strip()
    if not body:
        raise ValidationProblem(Msg(N_("Write a comment first.")))
    if len(body) > 4000:
        raise ValidationProblem(Msg(N_("A comment may be at most 4000 characters.")))
    comment = Comment(organization_id=req.organization_id, author_id=actor.id, body=body)
    req.comments.append(comment)
    db.session.flush()
    return comment


def cancel(req: Requisition, actor, *, comment: str = "") -> Requisition:
    """Cancel a requisition and give back its budget reservation.

    Who may cancel what is the policy "requisitions.cancel", read from the domain's transition
    table: the requester cancels a draft or pending requisition, an admin an approved one.
    Raises PermissionDenied or InvalidTransition with the table's words.
    """
    lock_requisition(req)
    enforce(actor, "requisitions.cancel", req)
    move(req, cancel_move(req.status))
    close_open_tasks(req)
    budgets.release_for(budgets.REQUISITION, req.id, actor, note=req.number)
    req.decided_at = utcnow()
    audit.record(actor=actor, action="requisition.cancelled", obj=req, comment=comment)
    db.session.flush()
    return req


def close_open_tasks(req: Requisition) -> None:
    """Cancel the approval tasks still waiting or pending (the requisition left the approval
    flow): those read under the lock when this transaction read them, else a query."""
    now = utcnow()
    tasks = locked_tasks(req)
    if tasks is None:
        tasks = db.session.scalars(
            select(ApprovalTask).where(ApprovalTask.requisition_id == req.id,
                                       ApprovalTask.status.in_(OPEN_TASK)))
    for task in tasks:
        if task.status in OPEN_TASK:
            task.status = TaskStatus.CANCELLED
            task.decided_at = now


def get_for_view(requisition_id: int) -> Requisition | None:
    """Load a requisition of the current organisation (the tenant filter applies)."""
    return db.session.scalars(select(Requisition).where(Requisition.id == requisition_id)).first()
