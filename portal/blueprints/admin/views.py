from flask_login import login_required

from portal.blueprints.admin import bp
from portal.htmx import render
from portal.policies import require


@bp.route("/users")
@login_required
@require("users.manage")
def users():
    return render("errors/error.html", code=200, title="Users", message="")


@bp.route("/organization")
@login_required
@require("org.edit")
def organization():
    return render("errors/error.html", code=200, title="Org", message="")


@bp.route("/audit")
@login_required
@require("audit.view")
def audit():
    return render("errors/error.html", code=200, title="Audit", message="")
