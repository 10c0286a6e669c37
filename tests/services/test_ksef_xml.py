"""The KSeF FA(3) XML of an issued invoice or credit note of a Polish supplier: every variant
validates against the official XSD (tests/data/ksef_fa3/, offline) and carries what it says.

Invoices are built here as model rows (as the issuing service would leave them: numbered, with
totals the invoice way and the `parties` snapshot), so these tests depend on no other service.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain.terms import PaymentTerms
from portal.domain.vat import line_net, line_vat, totals_by_code
from portal.extensions import db
from portal.models import SupplierLink, User
from portal.models.invoice import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from portal.models.order import OrderSource, OrderStatus, PurchaseOrder
from portal.services.invoicing import ksef
from portal.tenancy import ALL_TENANTS, system
from tests.factories import acting_for, make_link, make_org, make_user
from tests.ksef_validation import fa3_errors, validate_fa3

D = Decimal
NS = {"f": ksef.NAMESPACE}
ISSUED_AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
IBAN = "PL61109010140000071219812874"
_numbers = iter(range(1, 100_000))


# ---------------------------------------------------------------- building invoices as rows


def party(org) -> dict:
    data = {key: getattr(org, key) for key in (
        "name", "legal_name", "tax_id", "address_line", "postal_code", "city", "country")}
    if org.is_supplier:
        data.update(iban=org.iban, bank=org.bank_name)
    return data


@pytest.fixture
def polbud():
    # Real-looking NIPs: FA(3) refuses a tax-office prefix like "100" that the factory NIPs have.
    supplier = make_org("supplier", name="Polbud", country="PL", tax_id="5261040828")
    supplier.iban, supplier.bank_name = IBAN, "Bank Testowy S.A."
    return supplier


def author(supplier) -> User:
    """The supplier's user who issues its invoices (made on first use)."""
    with system(db.session):
        found = db.session.scalars(select(User).where(User.organization_id == supplier.id)
                                   .execution_options(**ALL_TENANTS)).first()
    return found or make_user(supplier, roles=["supplier_sales"])


def link_between(buyer, supplier, currency: str) -> SupplierLink:
    with system(db.session):
        found = db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == buyer.id, SupplierLink.supplier_id == supplier.id)).first()
    return found or make_link(buyer, supplier, currency=currency)


@pytest.fixture
def acme():
    return make_org("buyer", name="Acme", country="PL", tax_id="7740001454")


def make_invoice(supplier, buyer, lines, *, currency="PLN", kind=InvoiceKind.INVOICE,
                 corrects=None, terms=None, exchange_rate=None, order=None, **fields) -> Invoice:
    """An issued invoice (or credit note) of `supplier` to `buyer` with `lines` of
    (description, quantity, unit price, VAT code), totals per code and frozen parties."""
    link = link_between(buyer, supplier, currency)
    user = author(supplier)
    terms = terms or PaymentTerms.net(30)
    credit = kind == InvoiceKind.CREDIT_NOTE
    issue_day = ISSUED_AT.date()
    n = next(_numbers)
    with acting_for(supplier):
        invoice = Invoice(
            organization_id=buyer.id, supplier_id=supplier.id, link_id=link.id, kind=kind,
            number=f"{'KOR' if credit else 'FV'}/2026/{n:06d}", status=InvoiceStatus.ISSUED,
            currency=currency, payment_terms=terms, language="pl", issue_date=issue_day,
            sale_date=date(2026, 11, 18), due_date=None if credit else terms.due_date(issue_day),
            corrects_id=corrects.id if corrects else None, exchange_rate=exchange_rate,
            exchange_rate_date=date(2026, 11, 19) if exchange_rate else None,
            parties={"seller": party(supplier), "buyer": party(buyer)},
            bank_account=supplier.iban, created_by_id=user.id,
            issued_by_id=user.id, issued_at=ISSUED_AT, **fields)
        pairs = []
        for position, (description, quantity, price, code) in enumerate(lines, 1):
            net = line_net(D(quantity), D(price), currency)
            vat = line_vat(net, code, currency)
            invoice.lines.append(InvoiceLine(
                position=position, description=description, quantity=D(quantity), unit="szt",
                unit_price=D(price), vat_code=code, vat_rate=D(0) if not code.isdigit() else D(code),
                net=net, vat=vat, gross=net + vat, order_id=order.id if order else None))
            pairs.append((code, net))
        summary = totals_by_code(pairs, currency)
        invoice.net_total, invoice.vat_total, invoice.gross_total = (
            summary.net, summary.vat, summary.gross)
        if exchange_rate is not None:
            invoice.vat_total_pln = (summary.vat * exchange_rate).quantize(D("0.01"))
        terms_discount = terms.early_payment(issue_day, summary.gross, currency)
        if terms_discount and not credit:
            invoice.discount_until = terms_discount.pay_by
            invoice.discount_amount = terms_discount.discount
        db.session.add(invoice)
        db.session.flush()
    return invoice


def make_order(buyer, supplier, number="PO/2026/00042") -> PurchaseOrder:
    link = link_between(buyer, supplier, "PLN")
    with acting_for(buyer):
        order = PurchaseOrder(
            organization_id=buyer.id, supplier_id=supplier.id, number=number, link_id=link.id,
            source=OrderSource.AGREEMENT, status=OrderStatus.ACKNOWLEDGED, currency="PLN",
            issued_at=datetime(2026, 10, 31, 23, 30, tzinfo=UTC))
        db.session.add(order)
        db.session.flush()
    return order


def xml_of(invoice) -> tuple[bytes, ET.Element]:
    with acting_for(invoice.supplier):
        data = ksef.fa3_xml(invoice)
    assert fa3_errors(data) == []
    validate_fa3(data)
    root = parse(data)
    assert_adds_up(root)
    return data, root


def assert_adds_up(root) -> None:
    """The sums per rate (net P_13_x and VAT P_14_x, not the PLN P_14_xW) make the gross P_15."""
    fa = root.find("f:Fa", NS)
    parts = [D(e.text) for e in fa if re.fullmatch(r"\{.*\}P_1[34]_[0-9_]+", e.tag)]
    assert sum(parts, D(0)) == D(text(fa, "f:P_15"))


def parse(data: bytes) -> ET.Element:
    return ET.fromstring(data)  # noqa: S314 - the portal's own output


def text(root, path: str) -> str | None:
    found = root.find(path, NS)
    return None if found is None else found.text


def texts(root, path: str) -> list[str]:
    return [e.text for e in root.findall(path, NS)]


MIXED = [
    ("Papier A4", "10", "20.00", "23"),
    ("Toner", "3", "299.99", "23"),
    ("Książki", "2", "45.50", "5"),
    ("Usługa gastronomiczna", "1", "100.00", "8"),
    ("Eksport próbek", "4", "12.345", "0"),
    ("Szkolenie", "1", "1500.00", "zw"),
]


# ---------------------------------------------------------------- variants


def test_a_pln_invoice_with_every_domestic_rate_validates_and_carries_the_totals(polbud, acme):
    invoice = make_invoice(polbud, acme, MIXED)
    data, root = xml_of(invoice)

    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Faktura xmlns="http://crd.gov.pl/')
    assert root.tag == f"{{{ksef.NAMESPACE}}}Faktura"
    header = root.find("f:Naglowek", NS)
    assert header.find("f:KodFormularza", NS).attrib == {"kodSystemowy": "FA (3)", "wersjaSchemy": "1-0E"}
    assert text(header, "f:WariantFormularza") == "3"
    assert text(header, "f:DataWytworzeniaFa") == "2026-11-20T09:30:00Z"
    assert text(header, "f:SystemInfo") == "Portal"

    assert text(root, "f:Podmiot1/f:DaneIdentyfikacyjne/f:NIP") == polbud.tax_id
    assert text(root, "f:Podmiot1/f:DaneIdentyfikacyjne/f:Nazwa") == "Polbud sp. z o.o."
    assert text(root, "f:Podmiot1/f:Adres/f:AdresL2") == "00-001 Warszawa"
    assert text(root, "f:Podmiot2/f:DaneIdentyfikacyjne/f:NIP") == acme.tax_id
    assert text(root, "f:Podmiot2/f:JST") == "2"

    fa = root.find("f:Fa", NS)
    assert text(fa, "f:KodWaluty") == "PLN"
    assert (text(fa, "f:P_1"), text(fa, "f:P_2"), text(fa, "f:P_6")) == (
        "2026-11-20", invoice.number, "2026-11-18")
    assert text(fa, "f:P_1M") == "Warszawa"
    # 23 %: 200.00 + 899.97 = 1099.97, VAT 252.99 (once per code, half-up)
    assert (text(fa, "f:P_13_1"), text(fa, "f:P_14_1")) == ("1099.97", "252.99")
    assert (text(fa, "f:P_13_2"), text(fa, "f:P_14_2")) == ("100.00", "8.00")
    assert (text(fa, "f:P_13_3"), text(fa, "f:P_14_3")) == ("91.00", "4.55")
    assert text(fa, "f:P_13_6_1") == "49.38"
    assert text(fa, "f:P_13_7") == "1500.00"
    assert fa.find("f:P_14_1W", NS) is None
    assert text(fa, "f:P_15") == f"{invoice.gross_total:.2f}" == "3105.89"
    assert text(fa, "f:RodzajFaktury") == "VAT"

    notes = fa.find("f:Adnotacje", NS)
    assert [text(notes, f"f:{f}") for f in ("P_16", "P_17", "P_18", "P_18A", "P_23")] == ["2"] * 5
    assert text(notes, "f:Zwolnienie/f:P_19") == "1"
    assert "art. 43" in text(notes, "f:Zwolnienie/f:P_19A")
    assert text(notes, "f:NoweSrodkiTransportu/f:P_22N") == "1"
    assert text(notes, "f:PMarzy/f:P_PMarzyN") == "1"

    rows = fa.findall("f:FaWiersz", NS)
    assert [text(r, "f:NrWierszaFa") for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert [text(r, "f:P_12") for r in rows] == ["23", "23", "5", "8", "0 KR", "zw"]
    assert [text(r, "f:P_7") for r in rows][2] == "Książki"
    assert [(text(r, "f:P_8B"), text(r, "f:P_9A"), text(r, "f:P_11")) for r in rows][4] == (
        "4", "12.345", "49.38")

    assert texts(fa, "f:Platnosc/f:TerminPlatnosci/f:Termin") == ["2026-12-20"]
    assert text(fa, "f:Platnosc/f:FormaPlatnosci") == "6"
    assert text(fa, "f:Platnosc/f:RachunekBankowy/f:NrRB") == IBAN
    assert text(fa, "f:Platnosc/f:RachunekBankowy/f:NazwaBanku") == "Bank Testowy S.A."
    assert fa.find("f:Platnosc/f:Skonto", NS) is None


def test_no_exemption_annotation_without_exempt_lines(polbud, acme):
    _, root = xml_of(make_invoice(polbud, acme, MIXED[:2]))
    notes = root.find("f:Fa/f:Adnotacje", NS)
    assert text(notes, "f:Zwolnienie/f:P_19N") == "1"
    assert notes.find("f:Zwolnienie/f:P_19", NS) is None


def test_a_credit_note_is_a_kor_with_negative_differences_and_the_corrected_invoice(polbud, acme):
    original = make_invoice(polbud, acme, MIXED[:3])
    credit = make_invoice(polbud, acme, [("Toner", "1", "299.99", "23")],
                          kind=InvoiceKind.CREDIT_NOTE, corrects=original,
                          correction_reason="Zwrot jednego tonera (uszkodzony)")
    _, root = xml_of(credit)

    fa = root.find("f:Fa", NS)
    assert text(fa, "f:RodzajFaktury") == "KOR"
    assert text(fa, "f:P_2") == credit.number
    assert text(fa, "f:PrzyczynaKorekty") == "Zwrot jednego tonera (uszkodzony)"
    assert text(fa, "f:TypKorekty") == "2"
    assert text(fa, "f:DaneFaKorygowanej/f:NrFaKorygowanej") == original.number
    assert text(fa, "f:DaneFaKorygowanej/f:DataWystFaKorygowanej") == "2026-11-20"
    assert text(fa, "f:DaneFaKorygowanej/f:NrKSeFN") == "1"
    assert (text(fa, "f:P_13_1"), text(fa, "f:P_14_1"), text(fa, "f:P_15")) == (
        "-299.99", "-69.00", "-368.99")
    row = fa.find("f:FaWiersz", NS)
    assert (text(row, "f:P_8B"), text(row, "f:P_9A"), text(row, "f:P_11")) == ("-1", "299.99", "-299.99")
    assert fa.find("f:Platnosc", NS) is None


def test_a_credit_note_without_its_own_parties_uses_the_corrected_invoices(polbud, acme):
    original = make_invoice(polbud, acme, MIXED[:1])
    credit = make_invoice(polbud, acme, MIXED[:1], kind=InvoiceKind.CREDIT_NOTE, corrects=original)
    with acting_for(polbud):
        credit.parties = None
        db.session.flush()
    _, root = xml_of(credit)
    assert text(root, "f:Podmiot1/f:DaneIdentyfikacyjne/f:NIP") == polbud.tax_id


def test_split_payment_is_annotated(polbud, acme):
    invoice = make_invoice(polbud, acme, [("Stal zbrojeniowa", "10", "2000.00", "23")],
                           annex15=True, split_payment=True)
    _, root = xml_of(invoice)
    assert text(root, "f:Fa/f:Adnotacje/f:P_18A") == "1"
    assert text(root, "f:Fa/f:Adnotacje/f:P_18") == "2"


def test_a_foreign_currency_invoice_carries_the_rate_and_the_vat_in_pln(polbud, acme):
    invoice = make_invoice(polbud, acme, [("Części", "3", "100.10", "23"), ("Druki", "1", "50.00", "8")],
                           currency="EUR", exchange_rate=D("4.2512"))
    _, root = xml_of(invoice)
    fa = root.find("f:Fa", NS)
    assert text(fa, "f:KodWaluty") == "EUR"
    assert (text(fa, "f:P_13_1"), text(fa, "f:P_14_1"), text(fa, "f:P_14_1W")) == (
        "300.30", "69.07", "293.63")  # 69.07 × 4.2512 = 293.630… → 293.63
    assert (text(fa, "f:P_14_2"), text(fa, "f:P_14_2W")) == ("4.00", "17.00")
    assert texts(fa, "f:FaWiersz/f:KursWaluty") == ["4.2512", "4.2512"]


def test_reverse_charge_to_an_eu_buyer(polbud):
    hansa = make_org("buyer", name="Hansa", country="DE", tax_id="DE136695976", currency="EUR")
    invoice = make_invoice(polbud, hansa, [("Montaż", "2", "400.00", "oo")], currency="EUR",
                           reverse_charge=True, exchange_rate=D("4.25"))
    _, root = xml_of(invoice)
    ids = root.find("f:Podmiot2/f:DaneIdentyfikacyjne", NS)
    assert (text(ids, "f:KodUE"), text(ids, "f:NrVatUE")) == ("DE", "136695976")
    assert ids.find("f:NIP", NS) is None
    assert text(root, "f:Podmiot2/f:Adres/f:KodKraju") == "DE"
    fa = root.find("f:Fa", NS)
    assert text(fa, "f:Adnotacje/f:P_18") == "1"
    assert text(fa, "f:P_13_9") == "800.00"
    assert text(fa, "f:P_15") == "800.00"
    assert text(fa, "f:FaWiersz/f:P_12") == "np II"


def test_domestic_reverse_charge_and_goods_outside_poland(polbud, acme):
    invoice = make_invoice(polbud, acme, [("Złom", "5", "10.00", "oo"), ("Montaż w Berlinie", "1", "70", "np")])
    _, root = xml_of(invoice)
    fa = root.find("f:Fa", NS)
    assert (text(fa, "f:P_13_8"), text(fa, "f:P_13_10")) == ("70.00", "50.00")
    assert texts(fa, "f:FaWiersz/f:P_12") == ["oo", "np I"]
    assert text(fa, "f:Adnotacje/f:P_18") == "1"


def test_zero_rate_to_eu_and_outside_eu_buyers(polbud):
    hansa = make_org("buyer", name="Hansa", country="DE", tax_id="DE136695976", currency="EUR")
    fjord = make_org("buyer", name="Fjord", country="NO", tax_id="NO923609016MVA", currency="NOK")
    _, root = xml_of(make_invoice(polbud, hansa, [("Rury", "1", "10.00", "0")], currency="EUR"))
    assert text(root, "f:Fa/f:FaWiersz/f:P_12") == "0 WDT"
    assert text(root, "f:Fa/f:P_13_6_2") == "10.00"
    _, root = xml_of(make_invoice(polbud, fjord, [("Rury", "1", "10.00", "0")], currency="NOK"))
    assert text(root, "f:Fa/f:FaWiersz/f:P_12") == "0 EX"
    assert text(root, "f:Fa/f:P_13_6_3") == "10.00"
    ids = root.find("f:Podmiot2/f:DaneIdentyfikacyjne", NS)
    assert (text(ids, "f:KodKraju"), text(ids, "f:NrID")) == ("NO", "NO923609016MVA")


def test_a_buyer_without_a_tax_id_is_marked_so(polbud, acme):
    invoice = make_invoice(polbud, acme, MIXED[:1])
    with acting_for(polbud):
        invoice.parties = {**invoice.parties, "buyer": {**invoice.parties["buyer"], "tax_id": "", "country": "US"}}
        db.session.flush()
    _, root = xml_of(invoice)
    assert text(root, "f:Podmiot2/f:DaneIdentyfikacyjne/f:BrakID") == "1"


def test_instalments_list_every_due_date_and_a_discount_is_described(polbud, acme):
    instalments = make_invoice(polbud, acme, MIXED[:1],
                               terms=PaymentTerms.in_instalments([(D(50), 14), (D(50), 44)]))
    _, root = xml_of(instalments)
    assert texts(root, "f:Fa/f:Platnosc/f:TerminPlatnosci/f:Termin") == ["2026-12-04", "2027-01-03"]

    discount = make_invoice(polbud, acme, MIXED[:1], terms=PaymentTerms.early_discount(D(2), 10, 30))
    _, root = xml_of(discount)
    skonto = root.find("f:Fa/f:Platnosc/f:Skonto", NS)
    assert text(skonto, "f:WarunkiSkonta") == "zapłata do 2026-11-30"
    assert text(skonto, "f:WysokoscSkonta") == "2% (4.92 PLN)"


def test_the_orders_invoiced_are_referenced(polbud, acme):
    order = make_order(acme, polbud)
    invoice = make_invoice(polbud, acme, MIXED[:2], order=order)
    _, root = xml_of(invoice)
    orders = root.findall("f:Fa/f:WarunkiTransakcji/f:Zamowienia", NS)
    assert len(orders) == 1
    # Issued 23:30 UTC on 31 October: 1 November in Warsaw.
    assert (text(orders[0], "f:NrZamowienia"), text(orders[0], "f:DataZamowienia")) == (
        "PO/2026/00042", "2026-11-01")


def test_notes_go_to_the_footer_and_free_text_is_made_fit(polbud, acme):
    invoice = make_invoice(polbud, acme, [("Opis\x01 z\tznakiem  sterującym\n" + "x" * 250, "1", "1", "23")],
                           notes="Dziękujemy za zamówienie.\nProsimy o terminową płatność.")
    _, root = xml_of(invoice)
    assert text(root, "f:Stopka/f:Informacje/f:StopkaFaktury") == (
        "Dziękujemy za zamówienie.\nProsimy o terminową płatność.")
    assert text(root, "f:Fa/f:FaWiersz/f:P_7") == "Opis z znakiem sterującym " + "x" * 250

    credit = make_invoice(polbud, acme, MIXED[:1], kind=InvoiceKind.CREDIT_NOTE, corrects=invoice,
                          correction_reason="Zwrot. " + "y" * 400)
    _, root = xml_of(credit)
    reason = text(root, "f:Fa/f:PrzyczynaKorekty")
    assert reason.startswith("Zwrot. yyy") and len(reason) == 256


def test_three_hundred_lines_validate(polbud, acme):
    lines = [(f"Pozycja {i}", str(1 + i % 7), str(D((i * 37) % 1000) + D("0.01")), ("23", "8", "5", "0", "zw")[i % 5])
             for i in range(300)]
    invoice = make_invoice(polbud, acme, lines)
    started = time.perf_counter()
    with acting_for(polbud):
        data = ksef.fa3_xml(invoice)
    elapsed = time.perf_counter() - started
    validate_fa3(data)
    root = parse(data)
    assert len(root.findall("f:Fa/f:FaWiersz", NS)) == 300
    assert text(root, "f:Fa/f:FaWiersz[300]/f:NrWierszaFa") == "300"
    assert elapsed < 1.0


def test_the_xml_is_the_same_every_time(polbud, acme):
    invoice = make_invoice(polbud, acme, MIXED)
    with acting_for(polbud):
        assert ksef.fa3_xml(invoice) == ksef.fa3_xml(invoice)


def test_a_foreign_suppliers_invoice_gets_no_xml(acme):
    nordwind = make_org("supplier", name="Nordwind", country="DE", tax_id="DE136695976", currency="EUR")
    invoice = make_invoice(nordwind, acme, [("Pompa", "1", "100", "oo")], currency="EUR", reverse_charge=True)
    assert not ksef.applies(invoice)
    with pytest.raises(ksef.NotApplicable):
        ksef.fa3_xml(invoice)


def test_a_draft_gets_no_xml(polbud, acme):
    invoice = make_invoice(polbud, acme, MIXED[:1])
    assert ksef.applies(invoice)
    with acting_for(polbud):
        invoice.number, invoice.issue_date = None, None
        db.session.flush()
    assert not ksef.applies(invoice)
    with pytest.raises(ksef.NotApplicable):
        ksef.fa3_xml(invoice)


def test_the_validator_refuses_a_broken_document(polbud, acme):
    data, _ = xml_of(make_invoice(polbud, acme, MIXED[:1]))
    broken = data.replace(b"<P_12>23</P_12>", b"<P_12>24</P_12>")
    assert fa3_errors(broken)
    with pytest.raises(Exception, match="P_12"):
        validate_fa3(broken)


def test_a_row_without_a_snapshot_reads_the_organisations(polbud, acme):
    invoice = make_invoice(polbud, acme, MIXED[:1])
    with acting_for(polbud):
        invoice.parties = None
        db.session.flush()
    _, root = xml_of(invoice)
    assert text(root, "f:Podmiot1/f:DaneIdentyfikacyjne/f:NIP") == "5261040828"
    assert text(root, "f:Podmiot2/f:DaneIdentyfikacyjne/f:NIP") == "7740001454"
    assert text(root, "f:Fa/f:Platnosc/f:RachunekBankowy/f:NrRB") == IBAN


def test_a_credit_note_that_ends_a_code_carries_the_vat_it_was_issued_with(polbud, acme):
    # 0.03 + 0.03 at 23 %: VAT 0.01 once for the code. Crediting one line (0.0069 → 0.01), then
    # the other: that takes what remains of the code's VAT, 0.00, not its own 0.01.
    original = make_invoice(polbud, acme, [("Śruba", "1", "0.03", "23"), ("Nakrętka", "1", "0.03", "23")])
    first = make_invoice(polbud, acme, [("Śruba", "1", "0.03", "23")], kind=InvoiceKind.CREDIT_NOTE,
                         corrects=original)
    last = make_invoice(polbud, acme, [("Nakrętka", "1", "0.03", "23")], kind=InvoiceKind.CREDIT_NOTE,
                        corrects=original)
    with acting_for(polbud):
        first.lines[0].corrects_line_id = original.lines[0].id
        last.lines[0].corrects_line_id = original.lines[1].id
        last.vat_total, last.gross_total = D("0.00"), D("0.03")
        db.session.flush()
    _, root = xml_of(last)
    assert (text(root, "f:Fa/f:P_13_1"), text(root, "f:Fa/f:P_14_1"), text(root, "f:Fa/f:P_15")) == (
        "-0.03", "0.00", "-0.03")
