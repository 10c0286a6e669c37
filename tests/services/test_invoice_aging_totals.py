"""The aging pages' stored figures (portal/models/invoice_aging.py): which pairs owe (with both
names as sort keys), each company's open amounts per due date and its count of counterparties,
kept in step by the flush with every issue, credit note and payment; a rollback leaves nothing;
each company reads only its own; the pages read from them the very figures the documents give."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Organization, SupplierLink
from portal.models.invoice import Invoice, InvoiceStatus
from portal.models.invoice_aging import OpenCount, OpenDay, OpenParty, name_key, rebuild
from portal.models.invoice_aging import stored as stored_aging
from portal.services.invoicing import buyer, issuing, statements
from portal.services.paging import BadCursor
from portal.tenancy import system
from tests.factories import acting_for
from tests.services.invoice_rows import add_invoice, link_of
from tests.services.supplier_invoice_fixtures import (
    as_supplier,
    draft,
    give_ibans,
    issue,
    received_order,
    stub_documents,  # noqa: F401 - fixture
)

D = Decimal
S = InvoiceStatus
TODAY = date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _world(world, stub_documents):  # noqa: F811
    give_ibans(world)


def expected_aging(opened: dict) -> tuple[dict, dict, dict]:
    """The three tables as `invoice_aging.stored` gives them, from the open amounts computed
    from the documents ({(buyer, supplier, currency, due date): (amount, invoices)})."""
    owing: dict[tuple, int] = {}
    days: dict[tuple, list] = {}
    for (org_id, supplier_id, currency, due), (amount, count) in opened.items():
        if amount:
            owing[(org_id, supplier_id)] = owing.get((org_id, supplier_id), 0) + 1
        for key in ((org_id, "buyer", currency, due), (supplier_id, "supplier", currency, due)):
            entry = days.setdefault(key, [D("0.00"), 0])
            entry[0] += amount
            entry[1] += count
    with system(db.session):
        names = dict(db.session.execute(select(Organization.id, Organization.name)).all())
        links = {(link.organization_id, link.supplier_id): link.id for link in db.session.scalars(select(SupplierLink))}
    parties, counts = {}, {}
    for (org_id, supplier_id), n in owing.items():
        for company, side, party in ((org_id, "buyer", supplier_id), (supplier_id, "supplier", org_id)):
            parties[(company, side, party)] = (links[(org_id, supplier_id)], n, name_key(names[party]))
            counts[(company, side)] = counts.get((company, side), 0) + 1
    return parties, {k: tuple(v) for k, v in days.items() if any(v)}, counts


def _stored():
    with system(db.session):
        return stored_aging(db.session.connection())


def _in_step():
    from tests.services.test_invoice_totals import from_documents

    db.session.commit()
    assert _stored() == expected_aging(from_documents()[0])


def test_an_issue_a_credit_note_and_the_payment_move_the_stored_figures(world):
    acme, polbud = world.acme, world.polbud
    admin = world.user("admin@acme")
    assert _stored() == ({}, {}, {})
    invoice_id = draft(world, received_order(world))
    issue(world, invoice_id)
    _in_step()
    with system(db.session):
        invoice = db.session.get(Invoice, invoice_id)
        gross, due, currency = invoice.gross_total, invoice.due_date, invoice.currency
    parties, days, counts = _stored()
    assert sorted(parties) == sorted([(acme.id, "buyer", polbud.id), (polbud.id, "supplier", acme.id)])
    assert parties[(acme.id, "buyer", polbud.id)][1:] == (1, polbud.name.casefold())
    assert days == {(acme.id, "buyer", currency, due): (gross, 1), (polbud.id, "supplier", currency, due): (gross, 1)}
    assert counts == {(acme.id, "buyer"): 1, (polbud.id, "supplier"): 1}

    with as_supplier(world) as actor:  # a credit note of the whole invoice
        issuing.issue_credit_note(db.session.get(Invoice, invoice_id), actor, reason="Zwrot", lines=None)
        db.session.commit()
    _in_step()
    with system(db.session):
        invoice = db.session.get(Invoice, invoice_id)
        left = invoice.amount_due
    assert _stored()[1].get((acme.id, "buyer", currency, due), (D("0.00"), 0))[0] == left

    second = draft(world, received_order(world))
    issue(world, second)
    with acting_for(acme):
        invoice = db.session.get(Invoice, second)
        buyer.approve_invoice(invoice, admin, override_reason="Zgoda")
        buyer.record_payment(invoice, admin, paid_on=invoice.issue_date, amount=invoice.amount_due,
                             reference="TR 1", today=invoice.issue_date)
        db.session.commit()
    _in_step()
    # Everything paid or credited: nothing open, no pair, no count.
    if not left:
        assert _stored() == ({}, {}, {})


def test_a_rolled_back_flush_leaves_nothing(world):
    acme, polbud = world.acme, world.polbud
    add_invoice(acme, polbud, status=S.ISSUED, gross="100.00", due=TODAY, commit=False)
    with system(db.session):
        assert _stored()[2] == {(acme.id, "buyer"): 1, (polbud.id, "supplier"): 1}  # in the transaction
    db.session.rollback()
    assert _stored() == ({}, {}, {})


def test_the_last_open_amount_of_a_pair_removes_it_and_its_count(world):
    acme, polbud = world.acme, world.polbud
    first = add_invoice(acme, polbud, status=S.ISSUED, gross="100.00", due=TODAY)
    add_invoice(acme, polbud, status=S.ISSUED, gross="50.00", due=TODAY + timedelta(days=9))
    _in_step()
    assert _stored()[0][(acme.id, "buyer", polbud.id)][1] == 2
    for invoice in (first,):
        with system(db.session):
            row = db.session.get(Invoice, invoice.id)
            row.status, row.paid_total = S.PAID, row.gross_total
            db.session.commit()
    _in_step()
    assert _stored()[0][(polbud.id, "supplier", acme.id)][1] == 1
    with system(db.session):
        for row in db.session.scalars(select(Invoice)):
            row.status, row.paid_total = S.PAID, row.gross_total
        db.session.commit()
    _in_step()
    assert _stored() == ({}, {}, {})


def test_two_companies_read_only_their_own_figures(world):
    acme, globex, nordwind = world.acme, world.globex, world.nordwind
    add_invoice(acme, nordwind, status=S.ISSUED, gross="7.00", currency="PLN", due=TODAY - timedelta(days=100))
    add_invoice(globex, nordwind, status=S.ISSUED, gross="5.00", currency="EUR", due=TODAY - timedelta(days=1))
    _in_step()
    with acting_for(acme):
        page = statements.aging_page(side="buyer", today=TODAY)
        assert {(d.organization_id, d.currency) for d in db.session.scalars(select(OpenDay))} == {(acme.id, "PLN")}
        assert {(p.side, p.party_id) for p in db.session.scalars(select(OpenParty))} == {("buyer", nordwind.id)}
        assert {c.organization_id for c in db.session.scalars(select(OpenCount))} == {acme.id}
    assert page.counterparties == 1 and [(t.currency, t.d90_plus) for t in page.totals] == [("PLN", D("7.00"))]
    with acting_for(globex):
        page = statements.aging_page(side="buyer", today=TODAY)
    assert page.counterparties == 1 and [(t.currency, t.d1_30) for t in page.totals] == [("EUR", D("5.00"))]
    with acting_for(nordwind):
        page = statements.aging_page(side="supplier", today=TODAY)
        assert statements.aging_page(side="buyer", today=TODAY).rows == []
    assert page.counterparties == 2 and {r.counterparty_id for r in page.rows} == {acme.id, globex.id}
    assert [(t.currency, t.total) for t in page.totals] == [("EUR", D("5.00")), ("PLN", D("7.00"))]


def test_the_pages_follow_a_renamed_company_and_agree_with_all_the_rows(world, monkeypatch):
    acme, polbud, nordwind = world.acme, world.polbud, world.nordwind
    monkeypatch.setattr(statements, "AGING_PAGE", 1)
    add_invoice(acme, polbud, status=S.ISSUED, gross="100.00", due=TODAY - timedelta(days=40))
    add_invoice(acme, nordwind, status=S.ISSUED, gross="50.00", due=TODAY, currency=link_of(acme, polbud).currency)

    def names() -> list[str]:
        with acting_for(acme):
            first = statements.aging_page(side="buyer", today=TODAY)
            second = statements.aging_page(side="buyer", today=TODAY, cursor=first.next)
            back = statements.aging_page(side="buyer", today=TODAY, cursor=second.prev)
            every = statements.aging(side="buyer", today=TODAY)
        assert (first.first, second.first, back.first, second.next, back.prev) == (0, 1, 0, None, None)
        assert [r.counterparty_id for r in back.rows] == [r.counterparty_id for r in first.rows]
        assert [r.counterparty_id for r in first.rows + second.rows] == [r.counterparty_id for r in every]
        assert first.totals == second.totals and sum(t.total for t in first.totals) == D("150.00")
        return [r.counterparty_name for r in first.rows + second.rows]

    assert names() == sorted([polbud.name, nordwind.name], key=str.casefold)
    with system(db.session):
        db.session.get(Organization, polbud.id).name = "Aaa Polbud"
        db.session.commit()
    assert names() == ["Aaa Polbud", nordwind.name]
    _in_step()
    with acting_for(acme), pytest.raises(BadCursor):
        statements.aging_page(side="buyer", today=TODAY, cursor="abc")


def test_the_rebuild_gives_the_same_rows(world):
    acme, polbud = world.acme, world.polbud
    add_invoice(acme, polbud, status=S.ISSUED, gross="100.00", due=TODAY)
    add_invoice(acme, world.nordwind, status=S.APPROVED, gross="20.00", due=None)
    add_invoice(world.globex, world.nordwind, status=S.ISSUED, gross="5.00", currency="EUR")
    before = _stored()
    with system(db.session):
        rebuild(db.session.connection())
        db.session.commit()
    assert _stored() == before and before[2][(world.nordwind.id, "supplier")] == 2
