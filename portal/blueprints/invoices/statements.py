"""The buyer's aging report and statements of account per supplier."""

from __future__ import annotations

from datetime import date

from flask import Response, request
from flask_babel import get_locale
from flask_login import login_required

from portal.blueprints.cache import cached_page
from portal.blueprints.edge import actor, load_or_404
from portal.blueprints.invoices import bp
from portal.blueprints.invoices.forms import PeriodForm
from portal.domain import invoicing as rules
from portal.htmx import render
from portal.models.org import SupplierLink
from portal.money import is_currency
from portal.policies import authorize, require
from portal.services.invoicing import buyer
from portal.services.invoicing import statements as service


@bp.route("/aging")
@login_required
@require("invoices.statements")
def aging():
    """What the company owes its suppliers, by how long it is overdue (per supplier and currency),
    a page of suppliers at a time; the totals count every supplier."""
    cursor = request.args.get("cursor")

    def build():
        today = buyer.today_of_org(actor().organization)
        page = service.aging_page(side="buyer", today=today, cursor=cursor)
        rows = page.rows
        return {"rows": rows, "page": page, "totals": _totals(page.totals), "buckets": rules.BUCKET_LABELS,
                "links": buyer.links_by_supplier({row.counterparty_id for row in rows}), "today": today}

    return cached_page("invoices/aging.html", build)


def _totals(totals) -> list:
    """Per currency: (currency, current, 1–30, 31–60, 61–90, 90+, total)."""
    return [(t.currency, t.current, t.d1_30, t.d31_60, t.d61_90, t.d90_plus, t.total) for t in totals]


def _link(link_id: int) -> SupplierLink:
    link = load_or_404(SupplierLink, link_id)
    authorize("invoices.statements", link)
    return link


def _period(form: PeriodForm, today: date) -> tuple[date, date]:
    """The chosen period, or (from a wrong one, or none) this year up to today."""
    default = (date(today.year, 1, 1), today)
    if not form.validate():
        return default
    return form.start.data or default[0], form.end.data or today


def _currency() -> str | None:
    """The statement's currency from the query string (a known code), else the link's."""
    code = (request.args.get("currency") or "").strip().upper()
    return code if is_currency(code) else None


@bp.route("/statements/<int:link_id>")
@login_required
@require("invoices.statements")
def statement(link_id: int):
    link = _link(link_id)
    today = buyer.today_of_org(actor().organization)
    form = PeriodForm(formdata=request.args)
    start, end = _period(form, today)
    found = service.statement(link=link, start=start, end=end, currency=_currency(),
                              page_size=service.ENTRIES_PAGE, cursor=request.args.get("cursor"))
    status = 422 if form.errors else 200
    if not form.errors:
        form.start.data, form.end.data = start, end
    return render("invoices/statement.html", link=link, statement=found, form=form, start=start, end=end,
                  status_labels=rules.STATUS_LABELS), status


@bp.route("/statements/<int:link_id>/pdf")
@login_required
@require("invoices.statements")
def statement_pdf(link_id: int):
    link = _link(link_id)
    today = buyer.today_of_org(actor().organization)
    start, end = _period(PeriodForm(formdata=request.args), today)
    found = service.statement(link=link, start=start, end=end, currency=_currency())
    body = service.render_statement_pdf(found, locale=str(get_locale() or "en"))
    filename = f"statement-{link.id}-{start}-{end}.pdf"
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})
