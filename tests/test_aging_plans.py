"""The aging pages (buyer /invoices/aging, supplier /supplier/invoices/aging) read what they show:
the page's counterparties along the company's range of `ix_invoice_open_parties_walk` (by name,
stopping after a page), the totals from the company's open amounts per due date
(`ix_invoice_open_days_sums`) and the count from one row; never every counterparty, never a
sort of them. SQLite's EXPLAIN QUERY PLAN of the statements the pages really send (PostgreSQL's planner
chooses by statistics on so few rows: its plans at scale are the bench's); deterministic."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import SupplierLink
from portal.models.invoice_aging import rebuild
from portal.models.invoice_totals import OpenAmount
from portal.services.invoicing import statements
from tests.conftest import as_system
from tests.listdata import bulk_customers, bulk_suppliers, captured_selects, next_page

WALK, SUMS = "ix_invoice_open_parties_walk", "ix_invoice_open_days_sums"
TODAY = date(2026, 6, 15)


def _owing(links) -> None:
    """Open amounts on three due dates for each link, and the aging tables rebuilt from them
    (the bulk rows bypass the session: as the bench loader does)."""
    rows = [{"organization_id": link.organization_id, "supplier_id": link.supplier_id, "link_id": link.id,
             "currency": "PLN", "due_date": TODAY - timedelta(days=45 * k + i % 7), "amount": Decimal(10 + i),
             "invoices": 1} for i, link in enumerate(links) for k in range(3)]
    with as_system():
        conn = db.session.connection()
        conn.execute(OpenAmount.__table__.insert(), rows)
        rebuild(conn)
        db.session.commit()


@pytest.fixture
def owing(world, app, monkeypatch):
    monkeypatch.setattr(statements, "AGING_PAGE", 20)
    bulk_suppliers(world.acme, 160)
    bulk_customers(world.polbud, 160)
    with as_system():
        links = db.session.scalars(select(SupplierLink).where(
            (SupplierLink.organization_id == world.acme.id) | (SupplierLink.supplier_id == world.polbud.id))).all()
    _owing(links)
    return world


def _pages(client, url: str) -> list[str]:
    first = client.get(url)
    assert first.status_code == 200 and 'data-testid="aging-range"' in first.text
    second = next_page(first.text)
    assert second, url
    return [url, second]


def _plan(statement: str, parameters) -> str:
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return " | ".join(row[3] for row in rows)


@pytest.mark.parametrize("who, url", [("admin@acme", "/invoices/aging"), ("sales@polbud", "/supplier/invoices/aging")])
@pytest.mark.usefixtures("uncached_lists")
def test_an_aging_page_walks_its_counterparties_by_name_and_sums_its_days(owing, login_as, who, url):
    if db.engine.dialect.name != "sqlite":
        # On a few hundred rows PostgreSQL's planner may take a bitmap scan of another index and
        # sort (seen in CI on a fresh database): its plans at scale are the bench's to show.
        pytest.skip("the plans checked are SQLite's")
    client = login_as(owing.user(who))
    for page_url in _pages(client, url):
        sent = captured_selects(client, page_url, "FROM invoice_open")
        tables = [s for s, _ in sent]
        # The walk, the page's open amounts, the totals, the count: one statement each.
        assert len(tables) == 4, (page_url, tables)
        for statement, parameters in sent:
            text = _plan(statement, parameters)
            if "FROM invoice_open_parties" in statement:
                assert WALK in text and "LIMIT" in statement.upper(), f"{page_url}: {text}"
                assert "TEMP B-TREE" not in text, f"{page_url}: {text}"  # walked in order
            elif "FROM invoice_open_days" in statement:
                assert SUMS in text and "TEMP B-TREE" not in text, f"{page_url}: {text}"
            elif "FROM invoice_open_amounts" in statement:  # the page's counterparties only
                assert statement.count("?") >= 20, statement
            for table in ("invoice_open_parties", "invoice_open_days", "invoice_open_amounts", "organizations"):
                assert f"SCAN {table}" not in text.replace(f"SCAN {table} USING", ""), f"{page_url}: {text}"
