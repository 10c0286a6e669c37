"""The comparison matrix of an RFQ's quotes, its CSV export, and the award.

The page shows lines × suppliers with the best price per line marked, the supplier totals, the
budget impact of the award chosen, and the award form (a radio per line and supplier, the
cheapest pre-selected; "award all to" buttons; a reason beside each line not given to its best
price). An htmx change of a choice refreshes only the budget panel. The award POST runs one
service call in one unit of work: bad choices re-render the page with the messages beside their
lines (422); a state that does not allow the award (already awarded, still open, sealed) is a
flash on this page, nothing written.
"""

from __future__ import annotations

from io import BytesIO

from flask import flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required
from sqlalchemy import select

from portal.blueprints.edge import actor, csv_dialect, csv_file, message_text, or_404, saved, unit_of_work
from portal.blueprints.params import coerce_id
from portal.blueprints.rfqs import bp
from portal.domain import award as rules
from portal.domain import rfq as rfq_rules
from portal.domain.award import AwardProblem
from portal.errors import BudgetExceeded, InvalidTransition, PermissionDenied
from portal.extensions import db
from portal.htmx import fragment, render
from portal.models.rfq import Rfq
from portal.policies import authorize, require
from portal.services import clock
from portal.services.orders.credit import CreditLimitExceeded
from portal.services.sourcing import award as awarding

REASON_FIELD = "reason-%d"
CHOICE_FIELD = "line-%d"


def _own_rfq(rfq_id: int) -> Rfq:
    """The company's own RFQ (an RFQ it is merely invited to, or another company's, is a 404)."""
    return or_404(db.session.scalars(
        select(Rfq).where(Rfq.id == rfq_id, Rfq.organization_id == actor().organization_id)).first())


def _choices(source, matrix) -> dict[int, int]:
    """The line → quote choices sent (radio `line-<id>`), ignoring anything unreadable."""
    choices = {}
    for row in matrix.rows:
        try:
            quote_id = coerce_id(source.get(CHOICE_FIELD % row.line.id))
        except ValueError:
            quote_id = None
        if quote_id is not None:
            choices[row.line.id] = quote_id
    return choices


def _reasons(source, matrix) -> dict[int, str]:
    return {row.line.id: (source.get(REASON_FIELD % row.line.id) or "").strip()[:2000]
            for row in matrix.rows}


def _page(rfq: Rfq, view, *, choices=None, reasons=None, problems=None, status: int = 200,
          credit: CreditLimitExceeded | None = None):
    chosen = choices if choices is not None else (view.matrix.default_choices() if view.matrix else {})
    awards = awarding.existing_awards(rfq) if str(rfq.status) == "awarded" else []
    now = clock.now()
    body = render(
        "rfqs/compare.html", phase=rfq_rules.phase(rfq, now), today=now.date(),
        block=fragment("impact") if request.method == "GET" else None,
        rfq=rfq, view=view, matrix=view.matrix, impact=view.impact, chosen=chosen,
        reasons=reasons or {}, problems=problems or {}, awards={a.rfq_line_id: a for a in awards},
        order_list=awarding.orders_of(rfq) if awards else [],
        choice_field=CHOICE_FIELD, reason_field=REASON_FIELD, credit=credit)
    return body, status


@bp.route("/<int:rfq_id>/compare")
@login_required
@require("rfqs.view")
def compare(rfq_id: int):
    rfq = _own_rfq(rfq_id)
    view = awarding.compare(rfq)
    choices = _choices(request.args, view.matrix) if view.matrix and request.args else None
    if choices:
        view = awarding.compare(rfq, choices=choices)
    return _page(rfq, view, choices=choices)


@bp.route("/<int:rfq_id>/quotes/<int:quote_id>/files/<int:quote_file_id>")
@login_required
@require("rfqs.view")
def quote_file(rfq_id: int, quote_id: int, quote_file_id: int):
    """A supplier's offer document, once the RFQ's quotes are open to the buyer (404 before)."""
    rfq = _own_rfq(rfq_id)
    document = or_404(awarding.quote_document(rfq, quote_id, quote_file_id))
    return send_file(BytesIO(document.data), mimetype=document.content_type or "application/octet-stream",
                     as_attachment=True, download_name=document.filename, max_age=0)


@bp.route("/<int:rfq_id>/compare.csv")
@login_required
@require("rfqs.view")
def compare_csv(rfq_id: int):
    rfq = _own_rfq(rfq_id)
    try:
        matrix = awarding.comparison(rfq)
    except PermissionDenied as exc:
        flash(message_text(exc.message), "error")
        return redirect(url_for("rfqs.compare", rfq_id=rfq.id))
    separator, decimal_mark = csv_dialect()
    text = awarding.comparison_csv(matrix, separator=separator, decimal_mark=decimal_mark,
                                   as_text=message_text)
    return csv_file(f"{rfq.number.replace('/', '-')}-comparison.csv", text)


@bp.route("/<int:rfq_id>/award", methods=["POST"])
@login_required
@require("rfqs.award")
def award(rfq_id: int):
    rfq = _own_rfq(rfq_id)
    authorize("rfqs.view", rfq)
    here = url_for("rfqs.compare", rfq_id=rfq.id)
    view = awarding.compare(rfq)
    if view.matrix is None:
        flash(_("The quotes are sealed: open them before you award the RFQ."), "error")
        return redirect(here)
    choices = _choices(request.form, view.matrix)
    reasons = _reasons(request.form, view.matrix)
    whole = request.form.get("whole")
    try:
        if whole:
            whole_id = coerce_id(whole)
            choices = rules.whole_award(view.matrix, whole_id or 0)
            shared = rules.whole_reasons(view.matrix, whole_id or 0,
                                         (request.form.get("reason-all") or "").strip()[:2000])
            reasons = {line_id: reasons.get(line_id) or shared.get(line_id, "") for line_id in choices}
        with unit_of_work():
            orders = awarding.award(rfq, actor(), choices=choices, reasons=reasons,
                                    credit_override_reason=request.form.get("credit_override_reason"))
            numbers = ", ".join(o.number for o in orders)
            count = len(orders)
    except AwardProblem as exc:
        view = awarding.compare(rfq, choices=choices)
        problems = {key: [message_text(m) for m in msgs] for key, msgs in exc.problems.items()}
        reasons = {**reasons, "all": (request.form.get("reason-all") or "").strip()[:500]}
        return _page(rfq, view, choices=choices, reasons=reasons, problems=problems, status=422)
    except CreditLimitExceeded as exc:
        # Over a supplier's credit limit: the same award again, with (for an admin) a reason.
        view = awarding.compare(rfq, choices=choices)
        reasons = {**reasons, "all": (request.form.get("reason-all") or "").strip()[:500]}
        return _page(rfq, view, choices=choices, reasons=reasons, status=422, credit=exc)
    except (InvalidTransition, BudgetExceeded) as exc:
        flash(message_text(exc.message), "error")
        return redirect(here)
    except ValueError:
        flash(_("Choose one of the suppliers that quoted."), "error")
        return redirect(here)
    return saved(ngettext("The RFQ is awarded: purchase order %(numbers)s is issued.",
                          "The RFQ is awarded: %(num)d purchase orders are issued (%(numbers)s).",
                          count, numbers=numbers), here)
