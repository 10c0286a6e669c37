"""Queries per invoicing page: the buyer's and the supplier's invoice lists (every tab, filtered,
searched, a deep page by cursor), aging, statements and the dashboards send the same number of
SQL statements at 1× and 4× the invoices, and few; on SQLite every list page's invoice
statements walk an `ix_invoices_*` index, never the table, never a sort. The buyer's dashboard
shows its invoicing widgets with capped counts. Deterministic: statements are counted, nothing
is timed."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import update

from portal.extensions import db
from portal.models import User
from portal.models.invoice import InvoiceStatus
from portal.services.clock import today_for
from tests.conftest import as_system
from tests.kit import count_queries
from tests.listdata import captured_selects, plan
from tests.services.invoice_rows import add_invoice, bulk, link_of

S = InvoiceStatus
LIMIT = 16


@pytest.fixture(autouse=True)
def _english(world):
    with as_system():
        db.session.execute(update(User).values(locale="en"))
        db.session.commit()


def _count(client, url) -> int:
    with count_queries() as statements:
        response = client.get(url)
        assert response.status_code == 200, url
    return len(statements)


def _next(client, url: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next"', client.get(url).text)
    return unescape(found.group(1)) if found else None


def _urls(world):
    polbud_link = link_of(world.acme, world.polbud).id
    buyer = [("admin", "/invoices/" + (f"?tab={t}" if t else "")) for t in
             ("", "mismatched", "disputed", "approved", "overdue", "paid", "all")]
    buyer += [("admin", f"/invoices/?tab=all&supplier={world.polbud.id}"),
              ("admin", f"/invoices/?tab=approved&supplier={world.polbud.id}"),
              ("admin", "/invoices/?tab=all&q=FV%2F2026"),
              ("admin", "/invoices/aging"),
              ("admin", f"/invoices/statements/{polbud_link}"),
              ("admin", "/")]
    supplier = [("supplier", "/supplier/invoices" + (f"?tab={t}" if t else "")) for t in
                ("", "issued", "disputed", "approved", "overdue", "paid", "credit_notes", "all")]
    supplier += [("supplier", f"/supplier/invoices?tab=all&buyer={world.acme.id}"),
                 ("supplier", "/supplier/invoices/aging"),
                 ("supplier", f"/supplier/statements/{polbud_link}")]
    return buyer + supplier


def _measure(world, clients) -> dict[str, int]:
    counts = {}
    for who, url in _urls(world):
        client = clients[who]
        counts[f"{who} {url}"] = _count(client, url)
        deeper = _next(client, url) if "invoices" in url and "aging" not in url else None
        if deeper:
            counts[f"{who} deep {url}"] = _count(client, deeper)
    return counts


def test_invoicing_pages_send_the_same_statements_at_any_size(world, login_as, app):
    app.config["PAGE_SIZE"], size = 5, app.config.get("PAGE_SIZE")
    try:
        clients = {"admin": login_as(world.user("admin@acme")), "supplier": login_as(world.user("sales@polbud"))}
        bulk(world.acme, world.polbud, 24)
        small = _measure(world, clients)
        bulk(world.acme, world.polbud, 72, start=24)
        large = _measure(world, clients)
    finally:
        app.config["PAGE_SIZE"] = size
    for key, count in large.items():
        assert count <= LIMIT + (12 if key.endswith(" /") else 0), (key, count)
        # A list that first fit on one page may need its bounded count later: one more at most.
        assert count <= small.get(key, small.get(key.replace(" deep", ""), count)) + 1, (key, count, small.get(key))


INDEXES = ("ix_invoices_org_created", "ix_invoices_org_status_created", "ix_invoices_org_status_due",
           "ix_invoices_org_supplier_due", "ix_invoices_supplier_created",
           "ix_invoices_supplier_status_created", "ix_invoices_supplier_status_due",
           "ix_invoices_supplier_org_due", "ix_invoices_org_status_aging", "ix_invoices_supplier_status_aging")


def test_list_pages_walk_the_invoice_indexes(world, login_as):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    bulk(world.acme, world.polbud, 160)
    clients = {"admin": login_as(world.user("admin@acme")), "supplier": login_as(world.user("sales@polbud"))}
    checked = 0
    for who, url in _urls(world):
        if "statements" in url or url == "/":
            continue
        client = clients[who]
        for page_url in filter(None, [url, _next(client, url)]):
            for statement, parameters in captured_selects(client, page_url, "FROM invoices"):
                text = " | ".join(plan(statement, parameters))
                allowed = INDEXES + (("ix_invoices_organization_id", "ix_invoices_supplier_id",
                                      "ix_invoices_org_supplier_issued", "ix_invoices_supplier_org_issued")
                                     if "count(*)" in statement else ())
                assert any(name in text for name in allowed), f"{page_url}: {text}"
                if "count(*)" in statement or "sum(" in statement.lower():
                    text = text.replace("USE TEMP B-TREE FOR GROUP BY", "")
                assert "TEMP B-TREE" not in text, f"{page_url}: {text}"
                assert "SCAN invoices" not in text.replace("SCAN invoices USING", ""), f"{page_url}: {text}"
                checked += 1
    assert checked >= 20
    # The dashboard's widgets: one statement, every part an index range, the rows by primary key.
    dashboard = captured_selects(clients["admin"], "/", "FROM invoices")
    assert len(dashboard) == 1
    text = " | ".join(plan(*dashboard[0]))
    assert "ix_invoices_org_status_due" in text, text
    assert "SCAN invoices" not in text.replace("SCAN invoices USING", ""), text


def test_the_buyer_dashboard_shows_invoices_to_approve_and_overdue(world, login_as):
    today = today_for(world.acme)
    late = add_invoice(world.acme, world.polbud, status=S.ISSUED, due=today - timedelta(days=3))
    soon = add_invoice(world.acme, world.polbud, status=S.ISSUED, due=today + timedelta(days=3))
    owed = add_invoice(world.acme, world.nordwind, status=S.APPROVED, due=today - timedelta(days=10),
                       currency="PLN")
    paid = add_invoice(world.acme, world.polbud, status=S.PAID, due=today - timedelta(days=30))
    page = login_as(world.user("admin@acme")).get("/").text
    assert 'data-testid="invoices-to-approve-widget"' in page
    approve = page.split('data-testid="invoices-overdue-widget"')[0]
    overdue = page.split('data-testid="invoices-overdue-widget"')[1]
    assert late.number in approve and soon.number in approve
    assert approve.index(late.number) < approve.index(soon.number)  # the soonest due first
    assert owed.number in overdue and late.number in overdue and paid.number not in page
    assert overdue.index(owed.number) < overdue.index(late.number)  # the longest overdue first
    assert "10 days overdue" in overdue
    # A buyer does not approve invoices: no widget.
    assert 'invoices-to-approve-widget' not in login_as(world.user("buyer@acme")).get("/").text


def test_the_dashboard_counts_stop_at_99(world, login_as):
    today = today_for(world.acme)
    for i in range(101):
        add_invoice(world.acme, world.polbud, status=S.ISSUED, due=today - timedelta(days=1 + i % 5),
                    commit=False)
    db.session.commit()
    page = login_as(world.user("admin@acme")).get("/").text
    assert page.count('data-testid="invoice-to-approve-row"') == 5
    assert "99+" in page and "and 94+ more to approve" in page
