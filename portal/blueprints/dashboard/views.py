from flask_login import login_required

from portal.blueprints.cache import cached_page
from portal.blueprints.dashboard import bp
from portal.blueprints.edge import actor
from portal.policies import can
from portal.services import dashboard, dashboard_invoicing, dashboard_sourcing


@bp.route("/")
@login_required
def index():
    return cached_page("dashboard/index.html", _context)


def _context() -> dict:
    user = actor()
    sections = dashboard.widgets_for(user)
    context = {"sections": sections}
    if "buyer" in sections:
        context["buyer"] = dashboard.buyer_summary(user)
    if "approver" in sections:
        context["approver"] = dashboard.approver_summary(user)
    if "admin" in sections:
        context["admin"] = dashboard.admin_summary(user)
        if not user.organization.is_supplier:
            context["suppliers"] = dashboard.supplier_counts(user)
            context["oldest"] = dashboard.oldest_open_steps(user)
    if not user.organization.is_supplier and (
        "admin" in sections or dashboard.manages_cost_centers(user)
    ):
        context["budgets"] = dashboard.budget_watch(user)
    if "sourcing" in sections:
        context["sourcing"] = dashboard_sourcing.buyer_sourcing(user)
    if not user.organization.is_supplier and can(user, "invoices.approve"):
        context["invoicing"] = dashboard_invoicing.buyer_invoicing(user)
    if "supplier_sourcing" in sections:
        context["supplier_sourcing"] = dashboard_sourcing.supplier_sourcing(user)
    if "supplier_invoicing" in sections:
        context["supplier_invoicing"] = dashboard_invoicing.supplier_invoicing(user)
    if "customers" in sections:
        context["customers"] = dashboard.customers(user)
        context["supplier_activity"] = dashboard.supplier_activity(user)
    return context
