"""Price-list proposals, the supplier's side: upload a CSV of new prices for one customer (on
the customer's page), see a proposal and its decisions, withdraw it while open."""

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from portal.blueprints.edge import (
    actor,
    button_action,
    csv_file,
    message_text,
    page_size,
    saved,
    unit_of_work,
)
from portal.blueprints.once import OnceForm, creates
from portal.blueprints.params import cursor_arg
from portal.blueprints.supplier import bp
from portal.htmx import render
from portal.models import LinkStatus
from portal.policies import authorize, can, require
from portal.services import price_proposals, suppliers


class ProposalForm(OnceForm):
    file = FileField(
        _l("Price list (CSV)"),
        validators=[
            FileRequired(_l("Choose a file.")),
            FileAllowed(["csv"], _l("Upload a .csv file (in Excel: Save as → CSV UTF-8).")),
        ],
        render_kw={"accept": ".csv,text/csv"},
    )
    note = TextAreaField(_l("Note to the customer"), validators=[Optional(), Length(max=2000)],
                         render_kw={"rows": 2})


def customer_context(link, form=None, problems=None) -> dict:
    """What the customer page shows of proposals: the upload form (when the supplier may
    propose) and its proposals to this customer."""
    user = actor()
    if not can(user, "price_proposals.view"):
        return {"proposals": None, "proposal_form": None, "proposal_problems": []}
    may_propose = link.status == LinkStatus.ACTIVE and can(user, "price_proposals.propose", link)
    return {
        "proposals": price_proposals.list_for_link(link, cursor=cursor_arg(), per_page=page_size()),
        "proposal_form": (form or ProposalForm()) if may_propose else None,
        "proposal_problems": [{"row": p.row, "column": p.column, "text": message_text(p.msg)}
                              for p in problems or []],
    }


@bp.route("/customers/<int:link_id>/proposals", methods=["POST"])
@login_required
@require("price_proposals.propose")
@creates(ProposalForm)
def propose(link_id: int):
    link = suppliers.get_customer_link(actor(), link_id)
    authorize("price_proposals.propose", link)
    form = ProposalForm()
    problems = []
    if form.validate_on_submit():
        data = form.file.data.stream.read(price_proposals.MAX_BYTES + 1)
        try:
            with unit_of_work():
                made = price_proposals.propose(link, actor(), filename=form.file.data.filename,
                                               data=data, note=form.note.data or "")
        except price_proposals.ProposalRefused as exc:
            form.file.errors = [*form.file.errors, message_text(exc.message)]
            problems = exc.problems
        else:
            return saved(_("Your proposal of %(count)s prices was sent to %(buyer)s.",
                           count=len(made.lines), buyer=link.buyer.name),
                         url_for("supplier.proposal", proposal_id=made.id))
    return render("supplier/customer.html", link=link, buyer=link.buyer,
                  **customer_context(link, form, problems)), 422


@bp.route("/customers/<int:link_id>/proposals/template.csv")
@login_required
@require("price_proposals.propose")
def proposal_template(link_id: int):
    suppliers.get_customer_link(actor(), link_id)
    return csv_file("price-list.csv", price_proposals.TEMPLATE)


@bp.route("/proposals/<int:proposal_id>")
@login_required
@require("customers.view")
def proposal(proposal_id: int):
    found = price_proposals.get_proposal(proposal_id)
    authorize("price_proposals.view", found)
    return render("supplier/proposal.html", proposal=found,
                  names=price_proposals.item_names(found), change=price_proposals.change_percent)


@bp.route("/proposals/<int:proposal_id>/withdraw", methods=["POST"])
@login_required
@require("price_proposals.withdraw")
def withdraw_proposal(proposal_id: int):
    found = price_proposals.get_proposal(proposal_id)
    target = url_for("supplier.proposal", proposal_id=proposal_id)
    return button_action(found, "price_proposals.withdraw",
                         lambda p, actor: price_proposals.withdraw(p, actor),
                         _("The proposal was withdrawn."), target)

