"""The demo world's invoicing (portal/services/demo_invoicing.py, issue 11 point 13): invoices
in every state for both buyers, the monthly consolidated invoice, credit notes, the reverse
charge, partial payments, drafts out of the buyer's sight, numbers in the order of their issue
dates, and every Polish supplier's invoice with FA(3) XML that validates against the XSD."""

from __future__ import annotations

import shutil
import time

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Invoice, InvoiceKind, InvoiceStatus, MatchStatus, Organization
from portal.models.base import utcnow
from portal.services.demo import seed_demo
from portal.tenancy import bound, scope_for, system
from tests.conftest import World

OPEN = {InvoiceStatus.ISSUED, InvoiceStatus.DISPUTED, InvoiceStatus.APPROVED, InvoiceStatus.PARTIALLY_PAID}


@pytest.fixture(scope="module")
def timing() -> dict:
    return {}


@pytest.fixture
def demo(app, world, timing) -> World:
    started = time.perf_counter()
    with system(db.session):
        built = seed_demo()
        db.session.commit()
        timing.setdefault("seed", time.perf_counter() - started)
        # Read as the seed wrote it: every company's rows (lines, payments) without a filter.
        yield World(orgs=built["orgs"], users=built["users"])


def _invoices(org: Organization) -> list[Invoice]:
    with system(db.session):
        return list(db.session.scalars(
            select(Invoice).where(Invoice.organization_id == org.id).order_by(Invoice.id)))


def _today(org) -> object:
    from zoneinfo import ZoneInfo

    return utcnow().astimezone(ZoneInfo(getattr(org, "time_zone", None) or "Europe/Warsaw")).date()


def test_every_state_exists_for_both_buyers(demo):
    for key in ("acme", "globex"):
        _every_state(demo, key)
    _monthly_reverse_charge_and_polish_invoices(demo)
    _drafts_are_the_suppliers_only(demo)
    _numbers_follow_the_issue_dates_per_supplier(demo)


def _every_state(demo, key):
    org = demo.orgs[key]
    invoices = _invoices(org)
    today = _today(org)
    plain = [i for i in invoices if i.kind == InvoiceKind.INVOICE]
    statuses = {i.status for i in plain}
    for status in (InvoiceStatus.DRAFT, InvoiceStatus.ISSUED, InvoiceStatus.DISPUTED,
                   InvoiceStatus.APPROVED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID):
        assert status in statuses, f"{key} has no {status} invoice"
    assert any(i.match_status == MatchStatus.MISMATCHED for i in plain), f"{key}: nothing mismatched"
    assert any(i.status in OPEN and i.due_date and i.due_date < today for i in plain), f"{key}: nothing overdue"
    credit_notes = [i for i in invoices if i.kind == InvoiceKind.CREDIT_NOTE]
    assert credit_notes and all(c.number.startswith("KOR/") and c.corrects_id for c in credit_notes)
    for invoice in plain:
        if invoice.status == InvoiceStatus.PARTIALLY_PAID:
            assert 0 < invoice.paid_total < invoice.gross_total - invoice.credited_total
        if invoice.status == InvoiceStatus.PAID:
            assert invoice.amount_due == 0 and invoice.paid_total > 0


def _monthly_reverse_charge_and_polish_invoices(demo):
    acme = demo.orgs["acme"]
    invoices = _invoices(acme)
    monthly = [i for i in invoices if i.period]
    assert len(monthly) == 1 and monthly[0].status == InvoiceStatus.ISSUED
    assert monthly[0].supplier_id == demo.orgs["polbud"].id
    assert len({line.order_id for line in monthly[0].lines}) >= 2, "a consolidated invoice"
    # Steel sections (annex 15) for more than 15 000 PLN: the split-payment note.
    assert monthly[0].annex15 and monthly[0].split_payment
    nordwind = [i for i in invoices if i.supplier_id == demo.orgs["nordwind"].id and i.number]
    assert nordwind and all(i.reverse_charge and i.vat_total == 0 for i in nordwind)
    polbud = [i for i in invoices if i.supplier_id == demo.orgs["polbud"].id and i.number]
    assert len(polbud) >= 3
    # An exempt (zw) training with the legal basis chosen on the draft (art. 106e ust. 1 pkt 19).
    exempt = [i for i in polbud if any(line.vat_code == "zw" for line in i.lines)]
    assert exempt and all(i.exemption_basis_kind == "ustawa" and i.exemption_basis.startswith("art. 43")
                          for i in exempt)
    if shutil.which("pdftotext"):
        from portal.services.invoicing.documents import document, document_bytes
        from tests.pdf.test_order_pdf import flat, pdf_text

        with system(db.session):
            assert exempt[0].exemption_basis in flat(pdf_text(document_bytes(document(exempt[0]))))


def _drafts_are_the_suppliers_only(demo):
    """The buyer's lists never show a draft (drafts are Nordwind's)."""
    from portal.services.invoicing.queries import buyer_invoice_page

    for key in ("acme", "globex"):
        org = demo.orgs[key]
        drafts = [i for i in _invoices(org) if i.status == InvoiceStatus.DRAFT]
        assert drafts and all(d.number is None for d in drafts)
        with bound(db.session, scope_for(db.session, org)):
            page = buyer_invoice_page(tab="all", supplier_id=None, search="", cursor=None, per_page=100)
            shown = {i.id for i in page.items}
        assert shown and not shown & {d.id for d in drafts}


def _numbers_follow_the_issue_dates_per_supplier(demo):
    with system(db.session):
        issued = list(db.session.scalars(select(Invoice).where(Invoice.number.is_not(None))))
    by_series: dict = {}
    for invoice in issued:
        by_series.setdefault((invoice.supplier_id, invoice.kind), []).append(invoice)
    for invoices in by_series.values():
        invoices.sort(key=lambda i: int(i.number.rsplit("/", 1)[1]))
        assert [int(i.number.rsplit("/", 1)[1]) for i in invoices] == list(range(1, len(invoices) + 1))
        dates = [i.issue_date for i in invoices]
        assert dates == sorted(dates), [(i.number, i.issue_date) for i in invoices]


def test_every_polish_invoice_has_fa3_xml_that_validates_and_seeding_again_adds_nothing(demo, timing):
    from portal.services.invoicing.documents import document, document_bytes
    from tests.ksef_validation import fa3_errors

    with system(db.session):
        issued = list(db.session.scalars(select(Invoice).where(Invoice.number.is_not(None))))
        polish = [i for i in issued if (i.parties or {}).get("seller", {}).get("country") == "PL"]
        assert len(polish) >= 3
        for invoice in polish:
            xml = document(invoice, "ksef")
            assert xml is not None, f"{invoice.number} has no FA(3) XML"
            errors = fa3_errors(document_bytes(xml))
            assert not errors, f"{invoice.number}: {errors[:3]}"
            assert document(invoice, "pdf") is not None
        for invoice in issued:
            assert document(invoice, "pdf") is not None, f"{invoice.number} has no PDF"
            if invoice not in polish:
                assert document(invoice, "ksef") is None
    before = {i.id for key in ("acme", "globex") for i in _invoices(demo.orgs[key])}
    started = time.perf_counter()
    with system(db.session):
        seed_demo()
        db.session.commit()
    again = time.perf_counter() - started
    after = {i.id for key in ("acme", "globex") for i in _invoices(demo.orgs[key])}
    assert after == before
    print(f"seed-demo: {timing.get('seed', 0):.1f} s; again: {again:.1f} s")
