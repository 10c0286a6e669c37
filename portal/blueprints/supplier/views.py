from flask_login import login_required

from portal.blueprints.supplier import bp
from portal.htmx import render
from portal.policies import require


@bp.route("/customers")
@login_required
@require("customers.view")
def customers():
    return render("errors/error.html", code=200, title="Customers", message="")
