"""The supplier's aging report (open invoices per customer in buckets of days overdue) and the
statement of account of one customer for a period, on the page and as a PDF.

A statement is read through the supplier's own link to the customer (`get_customer_link`):
another supplier's link answers 404.
"""

from __future__ import annotations

from flask import Response, request
from flask_babel import get_locale
from flask_login import login_required

from portal.blueprints.cache import cached_page
from portal.blueprints.edge import actor
from portal.blueprints.supplier import bp
from portal.blueprints.supplier.invoice_forms import END_BEFORE_START, PeriodForm
from portal.htmx import render
from portal.policies import require
from portal.services import suppliers
from portal.services.clock import today_for
from portal.services.invoicing import statements


@bp.route("/invoices/aging")
@login_required
@require("supplier_invoices.statements")
def invoice_aging():
    cursor = request.args.get("cursor")

    def build():
        today = today_for(actor().organization)
        page = statements.aging_page(side="supplier", today=today, cursor=cursor)
        return {"rows": page.rows, "page": page, "totals": page.totals, "today": today}

    return cached_page("supplier/invoices/aging.html", build)


def _period(link, *, paged: bool = False):
    """The period asked for (default: from the first day of the previous month to today), or
    the form with its errors."""
    today = today_for(actor().organization)
    form = PeriodForm(formdata=request.args)
    if not form.validate():
        return form, None
    default_start, default_end = statements.default_period(today)
    end = form.end.data or default_end
    start = form.start.data or min(default_start, end)
    form.start.data, form.end.data = start, end
    if start > end:
        form.end.errors = [*form.end.errors, str(END_BEFORE_START)]
        return form, None
    if paged:
        return form, statements.statement(link=link, start=start, end=end, page_size=statements.ENTRIES_PAGE,
                                          cursor=request.args.get("cursor"))
    return form, statements.statement(link=link, start=start, end=end)


@bp.route("/statements/<int:link_id>")
@login_required
@require("supplier_invoices.statements")
def statement(link_id: int):
    link = suppliers.get_customer_link(actor(), link_id)
    form, found = _period(link, paged=True)
    return render("supplier/invoices/statement.html", link=link, buyer=link.buyer, form=form,
                  statement=found), 200 if found is not None else 422


@bp.route("/statements/<int:link_id>/pdf")
@login_required
@require("supplier_invoices.statements")
def statement_pdf(link_id: int):
    link = suppliers.get_customer_link(actor(), link_id)
    form, found = _period(link)
    if found is None:
        return render("supplier/invoices/statement.html", link=link, buyer=link.buyer, form=form,
                      statement=None), 422
    body = statements.render_statement_pdf(found, locale=str(get_locale() or "en"))
    filename = statements.statement_filename(found)
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})
