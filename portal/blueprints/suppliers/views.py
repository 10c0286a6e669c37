from flask_login import login_required

from portal.blueprints.suppliers import bp
from portal.htmx import render
from portal.policies import require


@bp.route("/")
@login_required
@require("suppliers.view")
def index():
    return render("errors/error.html", code=200, title="Suppliers", message="")
