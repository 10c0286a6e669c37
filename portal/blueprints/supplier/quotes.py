"""The supplier's RFQs and quotes: the list of RFQs to answer, an RFQ as the supplier sees it
(and its files), the quote form (draft, submit, revise), its revisions, declining, questions
and confirming after an amendment.

Every page loads the signed-in supplier's own invitation first (`invitation_for`): an RFQ it is
not invited to, a draft RFQ, or another supplier's anything answers 404.
"""

from __future__ import annotations

from io import BytesIO

from flask import request, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from portal.blueprints.cache import cached_page, until_next_deadline
from portal.blueprints.edge import (
    actor,
    form_status,
    message_text,
    or_404,
    page_size,
    saved,
    show_problem,
    unit_of_work,
)
from portal.blueprints.once import creates
from portal.blueprints.params import cursor_arg
from portal.blueprints.supplier import bp
from portal.blueprints.supplier.quote_forms import ConfirmForm, DeclineForm, QuestionForm, quote_form
from portal.domain import rfq as rules
from portal.errors import InvalidTransition, ValidationProblem
from portal.extensions import db
from portal.htmx import fragment, render
from portal.models import QuoteAttachment, RfqAttachment
from portal.policies import authorize, require
from portal.services import clock
from portal.services.requisitions import MAX_ATTACHMENT_BYTES
from portal.services.sourcing import quotes as service
from portal.services.sourcing.quote_reads import SUPPLIER_TABS, quote_states, snapshot_values

ALLOWED_TYPES = "PDF, PNG, JPG, TXT, CSV, DOCX, XLSX, ODT, ODS"


def _invitation():
    """The signed-in supplier's invitation to the RFQ in the URL, or 404."""
    return or_404(service.invitation_for(request.view_args["rfq_id"],
                                         supplier_id=actor().organization_id))


def _download(attachment):
    # The type comes from our allow-list, never the uploader's claim; always a download.
    response = send_file(BytesIO(attachment.data), mimetype=attachment.content_type,
                         as_attachment=True, download_name=attachment.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _context(invitation, now, **extra) -> dict:
    """What every page of one RFQ shows about it and the supplier's quote."""
    rfq = invitation.rfq
    quote = service.quote_of(invitation)
    return {
        "invitation": invitation, "rfq": rfq, "quote": quote, "buyer": invitation.link.buyer,
        "now": now, "accepting": rules.accepting_quotes(rfq, now),
        "phase": rules.phase(rfq, now), "time_left": rules.time_left(rfq, now),
        "closing_soon": rules.closing_soon(rfq, now),
        "needs_confirmation": service.needs_confirmation(quote),
        "tz": actor().organization.time_zone, **extra,
    }


# ---------------------------------------------------------------- the list


@bp.route("/rfqs")
@login_required
@require("quotes.view")
def rfqs():
    tab = request.args.get("tab", "to_answer")
    tab = tab if tab in SUPPLIER_TABS else "to_answer"
    cursor, per_page = cursor_arg(), page_size()

    def build():
        now = clock.now()
        supplier_id = actor().organization_id
        # count=False: the page shows no total (the tab's badge is tab_counts, bounded at 99).
        page = service.supplier_rfq_page(supplier_id, tab=tab, cursor=cursor, per_page=per_page, now=now,
                                         count=False)
        states = quote_states(page.items)
        rows = [{"invitation": inv, "rfq": inv.rfq, "buyer": inv.link.buyer,
                 "quote": states.get(inv.id), "phase": rules.phase(inv.rfq, now),
                 "time_left": rules.time_left(inv.rfq, now), "soon": rules.closing_soon(inv.rfq, now)}
                for inv in page.items]
        until_next_deadline([inv.rfq for inv in page.items], now)
        return {"page": page, "rows": rows, "tab": tab, "counts": service.tab_counts(supplier_id, now=now),
                "args": {"tab": tab}, "tz": actor().organization.time_zone}

    return cached_page("supplier/rfqs.html", build, block=fragment("results"))


# ---------------------------------------------------------------- one RFQ


@bp.route("/rfqs/<int:rfq_id>")
@login_required
@require("quotes.view")
def rfq(rfq_id: int):
    invitation = _invitation()
    now = clock.now()
    if invitation.first_viewed_at is None:
        with unit_of_work():
            service.mark_viewed(invitation, now=now)
    return render("supplier/rfq.html", **_context(
        invitation, now, questions=service.own_questions(invitation.rfq),
        question_form=QuestionForm(), confirm_form=ConfirmForm()))


@bp.route("/rfqs/<int:rfq_id>/files/<int:rfq_file_id>")
@login_required
@require("quotes.view")
def rfq_file(rfq_id: int, rfq_file_id: int):
    invitation = _invitation()
    attachment = or_404(db.session.scalars(select(RfqAttachment).where(
        RfqAttachment.id == rfq_file_id, RfqAttachment.rfq_id == invitation.rfq_id)).first())
    return _download(attachment)


@bp.route("/rfqs/<int:rfq_id>/questions", methods=["POST"])
@login_required
@require("quotes.view")
@creates(QuestionForm)
def question_add(rfq_id: int):
    invitation = _invitation()
    authorize("quotes.ask", invitation)
    form = QuestionForm()
    now = clock.now()
    if form.validate():
        try:
            with unit_of_work():
                service.ask_question(invitation.rfq, actor(), body=form.body.data, now=now)
        except ValidationProblem as exc:
            show_problem(form, exc)
        except InvalidTransition as exc:
            form.form_errors.append(message_text(exc.message))
        else:
            return saved(_("Your question was sent to the buyer. The answer will appear under "
                           "Clarifications."), url_for("supplier.rfq", rfq_id=rfq_id) + "#questions")
    invitation = _invitation()
    return render("supplier/rfq.html", **_context(
        invitation, now, questions=service.own_questions(invitation.rfq), question_form=form,
        confirm_form=ConfirmForm())), 422 if not form.form_errors else 409


# ---------------------------------------------------------------- the quote


def _quote_page(invitation, form, now, status=200):
    saved_quote = service.quote_of(invitation)
    nets = {line.rfq_line_id: line.net for line in saved_quote.lines} if saved_quote else {}
    return render("supplier/quote.html", **_context(
        invitation, now, form=form, rows=_rows(invitation.rfq, form), nets=nets,
        allowed_types=ALLOWED_TYPES, max_mb=MAX_ATTACHMENT_BYTES // (1024 * 1024))), status


def _rows(rfq, form):
    return [(line, form.line_row(line.id)) for line in rfq.lines]


@bp.route("/rfqs/<int:rfq_id>/quote", methods=["GET", "POST"])
@login_required
@require("quotes.view")
def quote(rfq_id: int):
    invitation = _invitation()
    rfq = invitation.rfq
    now = clock.now()
    existing = service.quote_of(invitation)
    form = quote_form(rfq.lines)
    if request.method == "GET":
        if existing is not None:
            form.fill(existing)
        return _quote_page(invitation, form, now)
    authorize("quotes.edit", existing or invitation)
    if not form.validate_on_submit():
        return _quote_page(invitation, form, now, form_status())
    submitting = request.form.get("action") == "submit"
    first = existing is None or existing.status == "draft"
    try:
        with unit_of_work():
            who = actor()
            found = service.start_quote(invitation, who, now=now)
            upload = form.attachment.data
            if upload and upload.filename:
                service.add_attachment(found, who, filename=upload.filename,
                                       content_type=upload.mimetype or "", data=upload.read(), now=now)
            if submitting:
                service.revise(found, who, now=now, **form.values())
            else:
                service.save_draft(found, who, now=now, **form.values())
    except ValidationProblem as exc:
        show_problem(form, exc)
        return _quote_page(_invitation(), form, now, 422)
    except InvalidTransition as exc:
        form.form_errors.append(message_text(exc.message))
        return _quote_page(_invitation(), form, now, 409)
    target = url_for("supplier.rfq", rfq_id=rfq_id)
    if not submitting:
        return saved(_("Draft saved. The buyer sees nothing until you submit."),
                     url_for("supplier.quote", rfq_id=rfq_id))
    if first:
        return saved(_("Your quote was submitted. You can revise it until the deadline."), target)
    return saved(_("Your revised quote was submitted."), target)


@bp.route("/rfqs/<int:rfq_id>/quote/files/<int:quote_file_id>")
@login_required
@require("quotes.view")
def quote_file(rfq_id: int, quote_file_id: int):
    quote = or_404(service.quote_of(_invitation()))
    return _download(or_404(db.session.scalars(select(QuoteAttachment).where(
        QuoteAttachment.id == quote_file_id, QuoteAttachment.quote_id == quote.id)).first()))


@bp.route("/rfqs/<int:rfq_id>/quote/files/<int:quote_file_id>/remove", methods=["POST"])
@login_required
@require("quotes.view")
def quote_file_remove(rfq_id: int, quote_file_id: int):
    quote = or_404(service.quote_of(_invitation()))
    authorize("quotes.edit", quote)
    attachment = or_404(db.session.scalars(select(QuoteAttachment).where(
        QuoteAttachment.id == quote_file_id, QuoteAttachment.quote_id == quote.id)).first())
    if quote.status != "draft":
        raise InvalidTransition(_("A submitted quote's files change only with a revision: "
                                  "attach the new file when you submit it."))
    name = attachment.filename
    with unit_of_work():
        service.remove_attachment(quote, actor(), attachment)
    return saved(_("%(name)s was removed.", name=name), url_for("supplier.quote", rfq_id=rfq_id))


@bp.route("/rfqs/<int:rfq_id>/quote/revisions/<int:revision_id>")
@login_required
@require("quotes.view")
def quote_revision(rfq_id: int, revision_id: int):
    invitation = _invitation()
    quote = or_404(service.quote_of(invitation))
    revision = or_404(service.revision_of(quote, revision_id))
    return render("supplier/quote_revision.html",
                  **_context(invitation, clock.now(), revision=revision,
                             snap=snapshot_values(revision.snapshot)))


@bp.route("/rfqs/<int:rfq_id>/quote/confirm", methods=["POST"])
@login_required
@require("quotes.view")
def quote_confirm(rfq_id: int):
    quote = or_404(service.quote_of(_invitation()))
    authorize("quotes.edit", quote)
    ConfirmForm().validate_on_submit()
    with unit_of_work():
        service.confirm_amendment(quote, actor())
    return saved(_("Your quote stands for the amended RFQ. The buyer has been told."),
                 url_for("supplier.rfq", rfq_id=rfq_id))


@bp.route("/rfqs/<int:rfq_id>/decline", methods=["GET", "POST"])
@login_required
@require("quotes.view")
def rfq_decline(rfq_id: int):
    invitation = _invitation()
    now = clock.now()
    form = DeclineForm()
    status = 200
    if request.method == "POST":
        authorize("quotes.decline", invitation)
        status = form_status()
        if form.validate_on_submit():
            try:
                with unit_of_work():
                    service.decline(invitation, actor(), reason=form.reason.data, now=now)
            except ValidationProblem as exc:
                show_problem(form, exc)
            except InvalidTransition as exc:
                form.form_errors.append(message_text(exc.message))
                status = 409
            else:
                return saved(_("You declined this RFQ. The buyer has been told why."),
                             url_for("supplier.rfq", rfq_id=rfq_id))
            invitation = _invitation()
    return render("supplier/rfq_decline.html", **_context(invitation, now, form=form)), status
