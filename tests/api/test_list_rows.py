"""API lists read as rows of columns (core.RowPlan) answer exactly what the same lists answer
from ORM objects: the same items, fields, parties, derived amounts and cursors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from portal.blueprints.api import core, invoices, orders, requisitions
from portal.extensions import db
from portal.models.invoice import Invoice
from portal.services.invoicing import issuing
from portal.tenancy import system
from tests.api.test_invoices_api import ADMIN, BUYER, SELLER, _approve, _issued
from tests.factories import company_today
from tests.services.supplier_invoice_fixtures import give_ibans

LISTS = ("/invoices", "/invoices?limit=1", "/credit-notes", "/orders", "/requisitions",
         "/requisitions?limit=2")


def _from_objects(monkeypatch):
    """The list endpoints with their row plans ignored: pages of ORM objects, as before."""
    def objects(query, model, args, *, plan=None, **kwargs):
        return core.sync_page(query, model, args, **kwargs)

    for module in (invoices, orders, requisitions):
        monkeypatch.setattr(module, "sync_page", objects)


@pytest.fixture
def invoiced(world, api, monkeypatch):
    monkeypatch.setattr(issuing, "_store_documents", lambda invoice: None)  # no PDFs needed
    give_ibans(world)
    open_one, _ = _issued(world)
    paid_in_part, _ = _issued(world)
    _approve(api, paid_in_part)
    api(ADMIN).post(f"/invoices/{paid_in_part}/payments",
                    {"amount": "100.00", "paid_on": company_today().isoformat()}, status=201)
    with system(db.session):  # the open one is overdue
        db.session.execute(update(Invoice).where(Invoice.id == open_one)
                           .values(due_date=company_today() - timedelta(days=3)))
        db.session.commit()
    return open_one, paid_in_part


@pytest.mark.parametrize("who", [BUYER, ADMIN, SELLER])
def test_row_pages_equal_object_pages(invoiced, api, monkeypatch, who):
    caller = api(who)
    as_rows = {path: (caller.request("GET", path), caller.last.status_code) for path in LISTS}
    _from_objects(monkeypatch)
    as_objects = {path: (caller.request("GET", path), caller.last.status_code) for path in LISTS}
    for path in LISTS:
        assert as_rows[path] == as_objects[path], path
    if who != SELLER:
        rows = as_rows["/invoices"][0]["data"]
        assert any(row["overdue"] for row in rows)
        assert any(row["amount_due"] != row["gross_total"] for row in rows)


def test_the_buyers_rfq_rows_equal_the_rfqs_read_as_objects(api, world, monkeypatch):
    """The buyer's RFQ list (a row plan: phase and accepting_quotes from status and deadline, the
    buyer the caller's company, no invitation) answers what the RFQs read as objects answer."""
    from portal.blueprints.api import rfqs
    from portal.services import clock
    from tests.services.sourcing_fixtures import AFTER, BEFORE, open_sealed, published_rfq

    monkeypatch.setattr(clock, "now", lambda: BEFORE)
    published_rfq(world, publish=False, title="Szkic")
    past = published_rfq(world, title="Po terminie")
    published_rfq(world, title="Otwarte")
    opened = published_rfq(world, title="Otwarte koperty")
    open_sealed(world, opened)
    caller = api(BUYER)

    def objects(query, model, args, *, plan=None, **kwargs):
        page = core.sync_page(query, model, args, **kwargs)
        return {**page, "data": [rfqs._buyer_rfq(rfq, clock.now()) for rfq in page["data"]]}

    for moment in (BEFORE, AFTER):  # before every deadline, then past them ("deadline_passed")
        monkeypatch.setattr(clock, "now", lambda moment=moment: moment)
        paths = ("/rfqs", "/rfqs?limit=2", "/rfqs?status=open", "/rfqs?status=draft")
        as_rows = {path: caller.request("GET", path) for path in paths}
        with monkeypatch.context() as patched:
            patched.setattr(rfqs, "sync_page", objects)
            as_objects = {path: caller.request("GET", path) for path in paths}
        assert as_rows == as_objects
        rows = as_rows["/rfqs"]["data"]
        assert len(rows) == 4 and all("invitation" not in row for row in rows)
        assert {row["buyer"]["name"] for row in rows} == {world.acme.name}
    phases = {row["id"]: row["phase"] for row in as_rows["/rfqs"]["data"]}
    assert phases[past] == "deadline_passed" and phases[opened] != "deadline_passed"
