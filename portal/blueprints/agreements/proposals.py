"""Price-list proposals from suppliers, the buyer's side: the list, and one proposal decided
line by line (accept, or reject with a reason)."""

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm

from portal.blueprints.agreements import bp
from portal.blueprints.cache import cached_page
from portal.blueprints.edge import actor, message_text, page_size, saved, unit_of_work
from portal.blueprints.params import cursor_arg
from portal.htmx import fragment, render
from portal.models import ProposalStatus
from portal.policies import authorize, require
from portal.services import price_proposals

STATUSES = ("open", "decided", "withdrawn")


class DecideForm(FlaskForm):
    """The CSRF token of the decision form; the per-line choices are read from the request."""


# The buyer's pages (`agreements.view`: buying companies only; a supplier reads its proposals
# on its customer page), each proposal also checked by `price_proposals.view`.
@bp.route("/proposals")
@login_required
@require("agreements.view")
def proposals():
    wanted = request.args.get("status", "open")
    status = wanted if wanted in STATUSES else ""
    cursor, per_page = cursor_arg(), page_size()

    def build():
        page = price_proposals.list_proposals(status=status, cursor=cursor, per_page=per_page)
        return {"page": page, "status": status, "args": {"status": status or "all"}, "statuses": STATUSES}

    return cached_page("agreements/proposals.html", build, block=fragment("results"))


def _choices(proposal) -> tuple[dict, dict, dict]:
    """(decisions for the service, what was chosen, reasons) from the posted form."""
    decisions, chosen, reasons = {}, {}, {}
    for line in proposal.lines:
        choice = request.form.get(f"decision-{line.id}", "")
        reason = request.form.get(f"reason-{line.id}", "").strip()[:2000]
        reasons[line.id] = reason
        if choice in ("accept", "reject"):
            chosen[line.id] = choice
            decisions[line.id] = (choice == "accept", reason)
    return decisions, chosen, reasons


@bp.route("/proposals/<int:proposal_id>", methods=["GET", "POST"])
@login_required
@require("agreements.view")
def proposal(proposal_id: int):
    found = price_proposals.get_proposal(proposal_id)
    authorize("price_proposals.view", found)
    form = DecideForm()
    errors, chosen, reasons, problem = {}, {}, {}, None
    if request.method == "POST":
        authorize("price_proposals.decide", found)
        if form.validate_on_submit():
            decisions, chosen, reasons = _choices(found)
            if not decisions:
                problem = _("Choose accept or reject for at least one line.")
            else:
                try:
                    with unit_of_work():
                        price_proposals.decide(found, actor(), decisions=decisions)
                except price_proposals.DecisionRefused as exc:
                    errors = {k: message_text(v) for k, v in exc.problems.items()}
                    problem = message_text(exc.message)
                else:
                    accepted = sum(1 for a, _r in decisions.values() if a)
                    return saved(_("Saved: %(accepted)s accepted, %(rejected)s rejected.",
                                   accepted=accepted, rejected=len(decisions) - accepted),
                                 url_for("agreements.proposal", proposal_id=proposal_id))
        else:
            problem = _("The form has expired; send it again.")
        found = price_proposals.get_proposal(proposal_id)
    status = 422 if request.method == "POST" else 200
    return render("agreements/proposal.html", proposal=found, form=form, errors=errors,
                  chosen=chosen, reasons=reasons, problem=problem,
                  names=price_proposals.item_names(found), change=price_proposals.change_percent,
                  decidable=found.status == ProposalStatus.OPEN), status
