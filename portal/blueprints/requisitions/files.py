"""Attachments (quotes, specifications) and the comment thread of a requisition."""

from __future__ import annotations

from io import BytesIO

from flask import request, send_file, url_for
from flask_babel import gettext as _
from flask_htmx import make_response as htmx_response
from flask_login import login_required

from portal.blueprints.edge import actor, saved, unit_of_work
from portal.blueprints.once import creates
from portal.blueprints.requisitions import bp, queries
from portal.blueprints.requisitions.context import detail_context
from portal.blueprints.requisitions.forms import CommentForm, UploadForm
from portal.errors import ValidationProblem
from portal.extensions import htmx
from portal.htmx import render, with_flash
from portal.policies import authorize
from portal.services import requisitions as service


def _detail_url(req, anchor: str) -> str:
    return url_for("requisitions.detail", requisition_id=req.id, _anchor=anchor)


@bp.route("/<int:requisition_id>/attachments", methods=["POST"])
@login_required
@creates(UploadForm)
def attach(requisition_id: int):
    """Upload one file; type and size are checked by the service, which names the problem."""
    req = queries.load_requisition(requisition_id, full=True)
    authorize("requisitions.view", req)
    form = UploadForm()
    upload = request.files.get("file")
    error = None
    if not form.validate() or upload is None or not upload.filename:
        error = _("Choose a file to attach.")
    else:
        # Read one byte past the limit: enough to tell "too large" without holding more.
        data = upload.read(service.MAX_ATTACHMENT_BYTES + 1)
        try:
            with unit_of_work():
                attachment = service.add_attachment(
                    req, actor(), filename=upload.filename,
                    content_type=upload.mimetype or "", data=data,
                )
        except ValidationProblem as exc:
            error = str(exc.message)
        else:
            message = _("%(file)s is attached.", file=attachment.filename)
            if htmx:
                body = render("requisitions/detail.html", block="attachments",
                              **detail_context(req))
                return with_flash(body, message)
            return saved(message, _detail_url(req, "attachments"))
    context = detail_context(req, upload_error=error)
    return render("requisitions/detail.html", block="attachments", **context), 422


@bp.route("/<int:requisition_id>/attachments/<int:attachment_id>")
@login_required
def download(requisition_id: int, attachment_id: int):
    req = queries.load_requisition(requisition_id)
    authorize("requisitions.view", req)
    attachment = queries.load_attachment(req, attachment_id)
    # The type comes from our own allow-list (by extension), never from the uploader's claim;
    # always a download, never rendered inline, and never sniffed.
    response = send_file(
        BytesIO(attachment.data), mimetype=attachment.content_type, as_attachment=True,
        download_name=attachment.filename, max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/<int:requisition_id>/comments", methods=["POST"])
@login_required
@creates(CommentForm)
def comment(requisition_id: int):
    req = queries.load_requisition(requisition_id)
    authorize("requisitions.comment", req)
    form = CommentForm()
    if form.validate():
        try:
            with unit_of_work():
                added = service.add_comment(req, actor(), form.body.data)
        except ValidationProblem as exc:
            form.body.errors = [str(exc.message)]
        else:
            if htmx:
                body = (render("requisitions/_comment.html", comment=added)
                        + render("requisitions/_comment_form.html", req=req,
                                 comment_form=CommentForm(formdata=None), oob=True))
                return with_flash(body, _("Your comment is added."))
            return saved(_("Your comment is added."), _detail_url(req, f"comment-{added.id}"))
    if htmx:
        body = render("requisitions/_comment_form.html", req=req, comment_form=form)
        return htmx_response(body, 422, retarget="#comment-form", reswap="outerHTML")
    return render("requisitions/detail.html", **detail_context(req, comment_form=form)), 422
