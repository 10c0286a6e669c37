"""The buyer's RFQ pages: the list, a new RFQ from approved requisition lines, the detail page
and its actions (edit the draft, lines, suppliers, files, publish, amend, cancel, close early,
open the sealed quotes, answer questions).

Each action loads the RFQ as the company's own (another company's id is a 404), checks the role
with the policy (403: approvers only read) and calls one service inside one unit of work. Bad
input re-renders the page with the message beside its field (422); a state that does not allow
the action is a flash message on the detail page, nothing written.
"""

from __future__ import annotations

from io import BytesIO

from flask import current_app, flash, redirect, request, send_file, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from portal.blueprints.cache import cached_page, until_next_deadline
from portal.blueprints.edge import (
    actor,
    csv_response,
    form_status,
    load_or_404,
    message_text,
    or_404,
    page_size,
    saved,
    show_problem,
    unit_of_work,
)
from portal.blueprints.once import creates
from portal.blueprints.params import cursor_arg, id_arg, text_arg
from portal.blueprints.rfqs import bp
from portal.blueprints.rfqs.forms import (
    AmendForm,
    AnswerForm,
    ButtonForm,
    CancelForm,
    InviteForm,
    LineForm,
    PublishForm,
    RfqEditForm,
    RfqForm,
    UploadForm,
)
from portal.domain import rfq as rules
from portal.errors import InvalidTransition, ValidationProblem
from portal.extensions import db
from portal.htmx import fragment, render
from portal.labels import rfq_phase_label
from portal.models import SupplierLink
from portal.models.rfq import RfqAttachment, RfqLine
from portal.policies import require
from portal.services import agreements, clock, requisitions
from portal.services.sourcing import rfq_queries, rfqs


def _org_zone() -> str:
    return current_user.organization.time_zone or "Europe/Warsaw"


def _rfq(rfq_id: int):
    return or_404(rfqs.get_for_buyer(rfq_id))


def _detail_url(rfq, anchor: str | None = None) -> str:
    return url_for("rfqs.detail", rfq_id=rfq.id, _anchor=anchor)


# --- the list ----------------------------------------------------------------------------------


@bp.route("/")
@login_required
@require("rfqs.view")
def index():
    view = request.args.get("view", "all")
    view = view if view in rfq_queries.VIEWS else "all"
    q = text_arg("q", max_length=100)
    supplier, cursor, per_page = id_arg("supplier"), cursor_arg(), page_size()
    filters = {"view": view, "q": q, "supplier": supplier}
    args = {k: v for k, v in filters.items() if v and not (k == "view" and v == "all")}

    def build():
        links, more_links = agreements.filter_links(actor(), selected=supplier)
        now = clock.now()
        page = rfqs.rfq_page(actor(), view=view, q=q, supplier_id=supplier, cursor=cursor,
                             per_page=per_page, now=now)
        until_next_deadline(page.items, now)
        return {"page": page, "filters": filters, "args": args, "links": links, "more_links": more_links,
                "now": now, "rules": rules, "counts": rfq_queries.response_counts(page.items)}

    return cached_page("rfqs/index.html", build, block=fragment("results"))


@bp.route("/export")
@login_required
@require("rfqs.view")
def export():
    """The current list view as CSV (every page of it): no prices, as the list."""
    view = request.args.get("view", "all")
    view = view if view in rfq_queries.VIEWS else "all"
    return csv_response(*export_table(view, text_arg("q", max_length=100), id_arg("supplier")))


def export_table(view: str, q: str, supplier_id: int | None):
    """(filename, header, rows) of a view's CSV: the page's export and GET /api/v1/exports/rfqs."""
    now = clock.now()
    header = [_("Number"), _("Title"), _("Status"), _("Sealed"), _("Response deadline"),
              _("Suppliers invited"), _("Answered"), _("Currency"), _("Created")]
    rows = ([r.number, r.title, rfq_phase_label(rules.phase(r, now)), _("yes") if r.sealed else _("no"),
             r.deadline, invited, answered, r.currency, r.created_at]
            for r, (invited, answered) in rfq_queries.export_rows(
                actor(), view=view, q=q, supplier_id=supplier_id, now=now))
    return f"rfqs-{view}.csv", header, rows


# --- a new RFQ ---------------------------------------------------------------------------------


def _new_form(offered) -> RfqForm:
    defaults = {"currency": current_user.organization.currency, "sealed": True}
    wanted = id_arg("requisition_id")
    if request.method == "GET" and wanted is not None:
        req = next((r for r in offered if r.id == wanted), None)
        if req is not None:
            defaults.update(requisition_line_ids=[li.id for li in req.lines], title=req.title,
                            currency=req.currency, needed_by=req.needed_by)
    form = RfqForm(data=defaults) if request.method == "GET" else RfqForm()
    form.requisition_line_ids.choices = [(li.id, li.description) for r in offered for li in r.lines]
    return form


@bp.route("/new", methods=["GET", "POST"])
@login_required
@require("rfqs.create")
@creates(RfqForm)
def new():
    offered = rfq_queries.approved_requisitions(actor(), requisition_id=id_arg("requisition_id"))
    form = _new_form(offered)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                rfq = rfqs.create_rfq(
                    actor(), title=form.title.data, currency=form.currency.data,
                    description=form.description.data or "", sealed=form.sealed.data,
                    allow_partial=form.allow_partial.data,
                    delivery_address=form.delivery_address.data or "",
                    needed_by=form.needed_by.data,
                    requisition_line_ids=form.requisition_line_ids.data or ())
        except ValidationProblem as exc:
            show_problem(form, exc)
        else:
            return saved(_("Draft %(number)s is saved. Invite suppliers, then publish it.",
                           number=rfq.number), _detail_url(rfq))
    return render("rfqs/new.html", form=form, offered=offered,
                  picked=set(form.requisition_line_ids.data or ())), form_status()


# --- the detail page ---------------------------------------------------------------------------


def _responses(rfq):
    """Who answered and when, never prices: the quotes service's sealed-aware read when it is
    there, else the invitations themselves."""
    try:
        from portal.services.sourcing import quotes
    except ImportError:
        return None
    reader = getattr(quotes, "responses", None)
    return reader(rfq) if reader is not None else None


def _response_rows(rfq) -> list[dict]:
    """Per invited supplier: its name, response status, when it answered and how many
    revisions it submitted (no prices), and whether it still owes a confirmation of the last
    amendment."""
    responses = _responses(rfq) or []
    rows = []
    for invitation in rfq.invitations:
        found = next((r for r in responses
                      if getattr(r, "invitation_id", None) == invitation.id
                      or getattr(r, "supplier_id", None) == invitation.supplier_id), None)
        revisions = None
        if found is not None:
            revisions = getattr(found, "revisions", getattr(found, "revision_count", None))
        rows.append({
            "invitation_id": invitation.id, "name": invitation.supplier.name,
            "status": getattr(found, "status", None) or invitation.status,
            "responded_at": getattr(found, "responded_at", None) or invitation.responded_at,
            "revisions": revisions,
            "stale": (invitation.status == "quoted"
                      and invitation.seen_amendment < rfq.amendment),
        })
    return rows


def _forms(rfq, **given) -> dict:
    tz = _org_zone()
    invited = {i.supplier_id for i in rfq.invitations}
    invite_form = given.get("invite_form") or InviteForm(formdata=None)
    invite_form.link_id.choices = [SelectChoice("", _("— choose a supplier —"))] + [
        SelectChoice(str(link.id), link.supplier.name)
        for link in agreements.active_links(actor()) if link.supplier_id not in invited]
    line_form = (given.get("line_form") or LineForm(formdata=None)).with_units()
    publish_form = given.get("publish_form") or PublishForm(formdata=None)
    publish_form.deadline.tz_name = tz
    amend_form = given.get("amend_form") or AmendForm(formdata=None, data={
        "description": rfq.description})
    amend_form.deadline.tz_name = tz
    upload_form = given.get("upload_form") or UploadForm(formdata=None)
    upload_form.file.render_kw = {"accept": ",".join(requisitions.ALLOWED_ATTACHMENT_TYPES)}
    return {"invite_form": invite_form, "line_form": line_form, "publish_form": publish_form,
            "amend_form": amend_form, "upload_form": upload_form,
            "cancel_form": given.get("cancel_form") or CancelForm(formdata=None),
            "button_form": ButtonForm(formdata=None)}


def _answer_forms(questions, given=None) -> dict:
    forms = {}
    for question in questions:
        if given is not None and given[0] == question.id:
            forms[question.id] = given[1]
        else:
            forms[question.id] = AnswerForm(formdata=None, prefix=f"q{question.id}",
                                            data={"question_text": question.body})
    return forms


def _detail(rfq, status: int = 200, *, answer=None, **given):
    now = clock.now()
    questions = rfq_queries.open_questions(rfq)
    prices = rules.buyer_sees_prices(rfq, now)
    compare = None
    if prices and rfq.status != "draft" and "rfqs.compare" in current_app.view_functions:
        compare = url_for("rfqs.compare", rfq_id=rfq.id)
    context = {
        "rfq": rfq, "now": now, "rules": rules, "phase": rules.phase(rfq, now),
        "time_left": rules.time_left(rfq, now), "zone_name": str(get_timezone()),
        "response_rows": _response_rows(rfq), "questions": questions,
        "answer_forms": _answer_forms(questions, answer),
        "events": rfq_queries.rfq_events(rfq),
        "suppliers_by_id": {i.supplier_id: i.supplier.name for i in rfq.invitations},
        "sources": rfqs.source_requisitions(rfq),
        "may_close": rules.may_close(rfq, rfq.invitations, now),
        "may_close_early": rules.may_close_early(rfq, rfq.invitations),
        "may_open": rules.may_open(rfq, now), "prices_visible": prices, "compare_url": compare,
        "allowed_types": ", ".join(ext.lstrip(".").upper()
                                   for ext in requisitions.ALLOWED_ATTACHMENT_TYPES
                                   if ext != ".jpeg"),
        "max_mb": requisitions.MAX_ATTACHMENT_BYTES // (1024 * 1024),
        **_forms(rfq, **given),
    }
    return render("rfqs/detail.html", **context), status


@bp.route("/<int:rfq_id>")
@login_required
@require("rfqs.view")
def detail(rfq_id: int):
    return _detail(_rfq(rfq_id))


def _act(rfq, change, message: str, *, form=None, form_name: str | None = None, anchor=None):
    """Run `change()` as one unit of work: a success flashes `message` and shows the detail
    page; bad input re-renders it with the error beside the field (422); a refused state is a
    flash on the detail page."""
    if form is not None and not form.validate_on_submit():
        return _detail(rfq, 422, **({form_name: form} if form_name else {}))
    try:
        with unit_of_work():
            change()
    except InvalidTransition as exc:
        flash(message_text(exc.message), "error")
        return redirect(_detail_url(rfq))
    except ValidationProblem as exc:
        if form is None or form_name is None:
            flash(message_text(exc.message), "error")
            return redirect(_detail_url(rfq, anchor))
        show_problem(form, exc)
        return _detail(rfq, 422, **{form_name: form})
    return saved(message, _detail_url(rfq, anchor))


# --- editing a draft ---------------------------------------------------------------------------


@bp.route("/<int:rfq_id>/edit", methods=["GET", "POST"])
@login_required
@require("rfqs.create")
def edit(rfq_id: int):
    rfq = _rfq(rfq_id)
    if not rules.editable(rfq):
        flash(_("Only a draft RFQ can be changed. Publish an amendment instead."), "warning")
        return redirect(_detail_url(rfq))
    form = RfqEditForm(obj=rfq)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                rfqs.update_rfq(rfq, actor(), title=form.title.data, currency=form.currency.data,
                                description=form.description.data or "",
                                sealed=form.sealed.data, allow_partial=form.allow_partial.data,
                                delivery_address=form.delivery_address.data or "",
                                needed_by=form.needed_by.data)
        except ValidationProblem as exc:
            show_problem(form, exc)
        else:
            return saved(_("The details of %(number)s are saved.", number=rfq.number),
                         _detail_url(rfq))
    return render("rfqs/edit.html", form=form, rfq=rfq), form_status()


@bp.route("/<int:rfq_id>/lines", methods=["POST"])
@login_required
@require("rfqs.create")
@creates(LineForm)
def add_line(rfq_id: int):
    rfq = _rfq(rfq_id)
    form = LineForm().with_units()
    return _act(rfq, lambda: rfqs.add_line(
        rfq, actor(), description=form.description.data, quantity=form.quantity.data,
        unit=form.unit.data, vat_rate=form.vat_rate.data, notes=form.notes.data or ""),
        _("The line is added."), form=form, form_name="line_form", anchor="lines")


@bp.route("/<int:rfq_id>/lines/<int:rfq_line_id>/remove", methods=["POST"])
@login_required
@require("rfqs.create")
def remove_line(rfq_id: int, rfq_line_id: int):
    rfq = _rfq(rfq_id)
    line = load_or_404(RfqLine, rfq_line_id, rfq_id=rfq.id)
    return _act(rfq, lambda: rfqs.remove_line(rfq, actor(), line), _("The line is removed."),
                form=ButtonForm(), anchor="lines")


@bp.route("/<int:rfq_id>/suppliers", methods=["POST"])
@login_required
@require("rfqs.create")
@creates(InviteForm)
def invite(rfq_id: int):
    rfq = _rfq(rfq_id)
    form = InviteForm()
    link = None
    if form.link_id.data is not None:
        # Not active, or not ours (None): the service names the problem.
        link = db.session.get(SupplierLink, form.link_id.data)
    return _act(rfq, lambda: rfqs.invite(rfq, actor(), link),
                _("The supplier is invited."), form=form, form_name="invite_form",
                anchor="suppliers")


@bp.route("/<int:rfq_id>/suppliers/remove", methods=["POST"])
@login_required
@require("rfqs.create")
def uninvite(rfq_id: int):
    rfq = _rfq(rfq_id)
    wanted = id_arg("invitation", args=request.form)
    invitation = or_404(next((i for i in rfq.invitations if i.id == wanted), None))
    return _act(rfq, lambda: rfqs.uninvite(rfq, actor(), invitation),
                _("The supplier is taken off the RFQ."), form=ButtonForm(), anchor="suppliers")


@bp.route("/<int:rfq_id>/files", methods=["POST"])
@login_required
@require("rfqs.create")
@creates(UploadForm)
def attach(rfq_id: int):
    rfq = _rfq(rfq_id)
    form = UploadForm()
    upload = request.files.get("file")
    if not form.validate() or upload is None or not upload.filename:
        form.file.errors = [_("Choose a file to attach.")]
        return _detail(rfq, 422, upload_form=form)
    data = upload.read(requisitions.MAX_ATTACHMENT_BYTES + 1)
    return _act(rfq, lambda: rfqs.add_attachment(rfq, actor(), filename=upload.filename,
                                                 content_type=upload.mimetype or "", data=data),
                _("%(file)s is attached.", file=upload.filename), form=form,
                form_name="upload_form", anchor="files")


@bp.route("/<int:rfq_id>/files/<int:rfq_file_id>")
@login_required
@require("rfqs.view")
def download(rfq_id: int, rfq_file_id: int):
    rfq = _rfq(rfq_id)
    attachment = load_or_404(RfqAttachment, rfq_file_id, rfq_id=rfq.id)
    response = send_file(BytesIO(attachment.data), mimetype=attachment.content_type,
                         as_attachment=True, download_name=attachment.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- the lifecycle -----------------------------------------------------------------------------


@bp.route("/<int:rfq_id>/publish", methods=["POST"])
@login_required
@require("rfqs.create")
def publish(rfq_id: int):
    rfq = _rfq(rfq_id)
    form = PublishForm()
    form.deadline.tz_name = _org_zone()
    form.deadline.process(request.form)  # read again, in the organisation's time zone
    return _act(rfq, lambda: rfqs.publish(rfq, actor(), deadline=form.deadline.data),
                _("%(number)s is published: the invited suppliers are notified.",
                  number=rfq.number), form=form, form_name="publish_form")


@bp.route("/<int:rfq_id>/amend", methods=["POST"])
@login_required
@require("rfqs.create")
@creates(AmendForm)
def amend(rfq_id: int):
    rfq = _rfq(rfq_id)
    form = AmendForm()
    form.deadline.tz_name = _org_zone()
    form.deadline.process(request.form)
    return _act(rfq, lambda: rfqs.amend(rfq, actor(), note=form.note.data,
                                        deadline=form.deadline.data,
                                        description=form.description.data),
                _("The amendment is published: every invited supplier is told, and those who "
                  "already quoted are asked to confirm or revise."),
                form=form, form_name="amend_form")


@bp.route("/<int:rfq_id>/cancel", methods=["POST"])
@login_required
@require("rfqs.create")
def cancel(rfq_id: int):
    rfq = _rfq(rfq_id)
    form = CancelForm()
    return _act(rfq, lambda: rfqs.cancel(rfq, actor(), reason=form.reason.data),
                _("%(number)s is cancelled; its requisitions are ready for another RFQ.",
                  number=rfq.number), form=form, form_name="cancel_form")


@bp.route("/<int:rfq_id>/close", methods=["POST"])
@login_required
@require("rfqs.create")
def close(rfq_id: int):
    rfq = _rfq(rfq_id)
    return _act(rfq, lambda: rfqs.close(rfq, actor()),
                _("%(number)s is closed for quotes.", number=rfq.number), form=ButtonForm())


@bp.route("/<int:rfq_id>/open", methods=["POST"])
@login_required
@require("rfqs.create")
def open_quotes(rfq_id: int):
    rfq = _rfq(rfq_id)
    return _act(rfq, lambda: rfqs.open_quotes(rfq, actor()),
                _("The sealed quotes are open. The opening is recorded in the history."),
                form=ButtonForm())


@bp.route("/<int:rfq_id>/questions/<int:question_id>/answer", methods=["POST"])
@login_required
@require("rfqs.create")
def answer(rfq_id: int, question_id: int):
    rfq = _rfq(rfq_id)
    question = or_404(rfq_queries.find_question(rfq, question_id))
    form = AnswerForm(prefix=f"q{question.id}")
    if not form.validate_on_submit():
        return _detail(rfq, 422, answer=(question.id, form))
    try:
        with unit_of_work():
            rfqs.answer_question(question, actor(), answer=form.answer.data,
                                 question_text=form.question_text.data)
    except InvalidTransition as exc:
        flash(message_text(exc.message), "error")
        return redirect(_detail_url(rfq, "questions"))
    except ValidationProblem as exc:
        show_problem(form, exc)
        return _detail(rfq, 422, answer=(question.id, form))
    return saved(_("The answer is published to every invited supplier, without naming who "
                   "asked."), _detail_url(rfq, "questions"))
