from flask_login import current_user, login_required

from portal.blueprints.dashboard import bp
from portal.htmx import render
from portal.services import dashboard


@bp.route("/")
@login_required
def index():
    sections = dashboard.widgets_for(current_user)
    context = {"sections": sections}
    if "buyer" in sections:
        context["buyer"] = dashboard.buyer_summary(current_user)
    if "approver" in sections:
        context["approver"] = dashboard.approver_summary(current_user)
    if "admin" in sections:
        context["admin"] = dashboard.admin_summary(current_user)
        if not current_user.organization.is_supplier:
            context["suppliers"] = dashboard.supplier_counts(current_user)
    if not current_user.organization.is_supplier and (
        "admin" in sections or dashboard.manages_cost_centers(current_user)
    ):
        context["budgets"] = dashboard.budget_watch(current_user)
    if "customers" in sections:
        context["customers"] = dashboard.customers(current_user)
    return render("dashboard/index.html", **context)
