"""The KSeF FA(3) structured invoice: the XML a KSeF client would send for an issued invoice or
credit note of a Polish supplier.

`fa3_xml(invoice)` renders, once at issue (helper `documents.store_documents` stores the bytes
beside the PDF), the structured invoice of Poland's National e-Invoice System in the FA(3)
schema (`http://crd.gov.pl/wzor/2025/06/25/13775/`, vendored for the tests in
tests/data/ksef_fa3/). Like the PDF it reads only what the invoice froze at issue: its stored
fields and totals, its lines and the `parties` snapshot (seller and buyer as printed), so the
XML never changes after issue. Sending it to KSeF is out of scope.

What goes where (element order as the XSD's sequences demand):

- `Naglowek`: form code FA (3), variant 3, the moment of issue (`DataWytworzeniaFa`, UTC), and
  `SystemInfo` "Portal".
- `Podmiot1` (the seller): NIP, legal name, address. `Podmiot2` (the buyer): a Polish NIP; for
  another EU country the country code and the VAT number without its prefix (`KodUE`,
  `NrVatUE`); elsewhere the country and the tax ID (`NrID`) or `BrakID`. JST and GV are "no".
- `Fa`: currency, issue date and place, number, sale date (`P_6`), the net and VAT per rate
  (`P_13_x`/`P_14_x`, with `P_14_xW` the VAT in PLN at the invoice's exchange rate for a
  foreign currency), the gross (`P_15`), the annotations (`Adnotacje`: reverse charge `P_18`,
  split payment `P_18A`, the exemption basis for `zw` lines, no new means of transport, no
  simplified triangular procedure, no margin scheme), the kind (VAT, or KOR with the corrected
  invoice's date and number and the reason), one `FaWiersz` per line, `Platnosc` (due dates,
  transfer, the seller's bank account, the early-payment discount) and `WarunkiTransakcji`
  (the orders invoiced). The invoice's notes go to the footer (`Stopka`).

VAT codes (portal.domain.vat) to FA(3) rates and sums, decided per invoice:

    23 → "23", P_13_1/P_14_1      8 → "8", P_13_2/P_14_2      5 → "5", P_13_3/P_14_3
    0  → "0 KR", P_13_6_1 (buyer in Poland); "0 WDT", P_13_6_2 (buyer in another EU country);
         "0 EX", P_13_6_3 (buyer outside the EU)
    zw → "zw", P_13_7 (the exemption's basis chosen on the draft: `P_19A` a provision of the
         VAT act, `P_19B` of Directive 2006/112/EC, `P_19C` another legal basis)
    np → "np I", P_13_8 (supply outside Poland)
    oo → "oo", P_13_10 (buyer in Poland: domestic reverse charge); "np II", P_13_9 (buyer
         abroad: intra-EU B2B, the customer accounts for the VAT) — both with P_18 = 1.

A credit note is a KOR whose amounts are the (negative) differences it makes to the corrected
invoice: the portal stores credit-note lines and totals as positive amounts that reduce, so
`P_13_x`, `P_14_x`, `P_15` and each line's quantity and net are written negated ("the
difference" way of art. 106j ust. 2 pkt 5; no before/after rows). It takes effect on its issue
date (`TypKorekty` 2); the corrected invoice was not sent to KSeF, so it has no KSeF number
(`NrKSeFN`). Its VAT per rate is the one it was issued with (a rate credited to its end takes
what remained of the invoice's VAT: `invoiceable.credit_vat_by_code`).

The XML's free text (the exemption basis, the discount terms) is in Polish whatever the
invoice's language: FA(3) is a Polish legal document and KSeF shows the text as it is.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from portal.domain.exemption import ExemptionBasisKind
from portal.domain.invoicing import vat_in_pln
from portal.domain.taxid import EU_COUNTRIES
from portal.domain.terms import TermsKind
from portal.domain.vat import totals_by_code, vat_code
from portal.models.invoice import Invoice, InvoiceKind
from portal.services import clock
from portal.services.invoicing import invoiceable

NAMESPACE = "http://crd.gov.pl/wzor/2025/06/25/13775/"
SYSTEM_INFO = "Portal"
# The legal basis stated for exempt (`zw`) lines of an invoice issued before the supplier chose
# one (the migration backfills it; kept so such a row still renders as it did).
EXEMPTION_BASIS = "art. 43 ust. 1 ustawy z dnia 11 marca 2004 r. o podatku od towarów i usług"
# Where each kind of basis goes (art. 106e ust. 1 pkt 19: the act, the directive, another).
EXEMPTION_FIELDS = {ExemptionBasisKind.ACT: "P_19A", ExemptionBasisKind.DIRECTIVE: "P_19B",
                    ExemptionBasisKind.OTHER: "P_19C"}
TRANSFER = "6"  # FormaPlatnosci: przelew
YES, NO = "1", "2"
MAX_ORDERS = 100  # WarunkiTransakcji/Zamowienia maxOccurs
MAX_DUE_DATES = 100  # Platnosc/TerminPlatnosci maxOccurs
MAX_LINES = 10_000  # FaWiersz maxOccurs

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_TWO_PLACES = Decimal("0.01")
# Characters XML 1.0 cannot carry (C0 controls but tab, newline and carriage return).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SPACES = re.compile(r"\s+")


class NotApplicable(ValueError):
    """The invoice gets no FA(3) XML: its seller is not Polish, or it is not issued yet."""


@dataclass(frozen=True)
class _Rate:
    """Where one VAT code's lines go on an FA(3) invoice: the line rate (`P_12`), the net sum's
    field (`P_13_…`) and, for the taxed rates, the VAT sum's (`P_14_…`, `P_14_…W` in PLN)."""

    p12: str
    net_field: str
    vat_field: str | None = None
    order: int = 0


_RATE_23 = _Rate("23", "P_13_1", "P_14_1", 1)
_RATE_8 = _Rate("8", "P_13_2", "P_14_2", 2)
_RATE_5 = _Rate("5", "P_13_3", "P_14_3", 3)
_ZERO_DOMESTIC = _Rate("0 KR", "P_13_6_1", order=6)
_ZERO_EU = _Rate("0 WDT", "P_13_6_2", order=7)
_ZERO_EXPORT = _Rate("0 EX", "P_13_6_3", order=8)
_EXEMPT = _Rate("zw", "P_13_7", order=9)
_OUTSIDE = _Rate("np I", "P_13_8", order=10)
_SERVICES_ABROAD = _Rate("np II", "P_13_9", order=11)
_REVERSE_CHARGE = _Rate("oo", "P_13_10", order=12)


def fa3_rate(code: str, buyer_country: str) -> _Rate:
    """The FA(3) rate of a portal VAT code on an invoice to a buyer in `buyer_country`."""
    code = vat_code(code).code
    domestic = buyer_country == "PL"
    if code == "23":
        return _RATE_23
    if code == "8":
        return _RATE_8
    if code == "5":
        return _RATE_5
    if code == "0":
        if domestic:
            return _ZERO_DOMESTIC
        return _ZERO_EU if buyer_country in EU_COUNTRIES else _ZERO_EXPORT
    if code == "zw":
        return _EXEMPT
    if code == "np":
        return _OUTSIDE
    return _REVERSE_CHARGE if domestic else _SERVICES_ABROAD  # oo


def applies(invoice: Invoice) -> bool:
    """True when the invoice gets an FA(3) XML: issued (numbered) by a Polish seller."""
    seller = _parties(invoice).get("seller") or {}
    return bool(invoice.number) and invoice.issue_date is not None and (
        (seller.get("country") or "").upper() == "PL")


def fa3_xml(invoice: Invoice) -> bytes:
    """The FA(3) XML (UTF-8, with declaration) of an issued invoice or credit note of a Polish
    seller; NotApplicable for a draft or a foreign seller's invoice."""
    if not invoice.number or invoice.issue_date is None:
        raise NotApplicable("only an issued invoice has an FA(3) XML")
    parties = _parties(invoice)
    seller = parties.get("seller") or {}
    buyer = parties.get("buyer") or {}
    if (seller.get("country") or "").upper() != "PL":
        raise NotApplicable("only a Polish seller's invoice has an FA(3) XML")
    if len(invoice.lines) > MAX_LINES:
        raise ValueError(f"FA(3) allows at most {MAX_LINES} lines")

    ET.register_namespace("", NAMESPACE)
    root = _el(None, "Faktura")
    _header(root, invoice)
    _seller(root, seller)
    _buyer(root, buyer)
    _fa(root, invoice, seller, buyer)
    _footer(root, invoice)
    ET.indent(root, space="  ")
    return _DECLARATION + ET.tostring(root, encoding="unicode").encode() + b"\n"


# ------------------------------------------------------------------------------- sections


def _header(root: ET.Element, invoice: Invoice) -> None:
    header = _el(root, "Naglowek")
    code = _el(header, "KodFormularza", "FA")
    code.set("kodSystemowy", "FA (3)")
    code.set("wersjaSchemy", "1-0E")
    _el(header, "WariantFormularza", "3")
    _el(header, "DataWytworzeniaFa", _moment(invoice.issued_at or clock.now()))
    _el(header, "SystemInfo", SYSTEM_INFO)


def _seller(root: ET.Element, seller: dict) -> None:
    section = _el(root, "Podmiot1")
    ids = _el(section, "DaneIdentyfikacyjne")
    _el(ids, "NIP", _nip(seller.get("tax_id")))
    _el(ids, "Nazwa", _name(seller))
    _address(section, seller)


def _buyer(root: ET.Element, buyer: dict) -> None:
    section = _el(root, "Podmiot2")
    ids = _el(section, "DaneIdentyfikacyjne")
    country = (buyer.get("country") or "").upper()
    tax_id = re.sub(r"[^0-9A-Za-z]", "", buyer.get("tax_id") or "").upper()
    if country == "PL" and tax_id:
        _el(ids, "NIP", _nip(tax_id))
    elif country in EU_COUNTRIES and tax_id:
        prefix = "EL" if country == "GR" else country
        _el(ids, "KodUE", prefix)
        _el(ids, "NrVatUE", tax_id.removeprefix(prefix).removeprefix(country)[:12])
    elif tax_id:
        if country:
            _el(ids, "KodKraju", country)
        _el(ids, "NrID", tax_id[:50])
    else:
        _el(ids, "BrakID", YES)
    _el(ids, "Nazwa", _name(buyer))
    if country:
        _address(section, buyer)
    _el(section, "JST", NO)
    _el(section, "GV", NO)


def _address(section: ET.Element, party: dict) -> None:
    address = _el(section, "Adres")
    _el(address, "KodKraju", (party.get("country") or "PL").upper())
    street = _text(party.get("address_line"), 512)
    town = _text(" ".join(filter(None, (party.get("postal_code"), party.get("city")))), 512)
    _el(address, "AdresL1", street or town or "-")
    if street and town:
        _el(address, "AdresL2", town)


def _fa(root: ET.Element, invoice: Invoice, seller: dict, buyer: dict) -> None:
    credit = invoice.kind == InvoiceKind.CREDIT_NOTE
    sign = Decimal(-1) if credit else Decimal(1)
    buyer_country = (buyer.get("country") or "").upper()
    lines = list(invoice.lines)
    rates = [fa3_rate(line.vat_code, buyer_country) for line in lines]

    fa = _el(root, "Fa")
    _el(fa, "KodWaluty", invoice.currency)
    _el(fa, "P_1", invoice.issue_date.isoformat())
    place = _text(seller.get("city"), 256)
    if place:
        _el(fa, "P_1M", place)
    _el(fa, "P_2", _text(invoice.number, 256))
    if invoice.sale_date:
        _el(fa, "P_6", invoice.sale_date.isoformat())

    # Net and VAT per rate, the invoice way (art. 106e ust. 11: VAT once per code from the
    # summed nets) — the same per-code totals the PDF prints.
    sums: dict[_Rate, tuple[Decimal, Decimal]] = {}
    for code, net, vat in _vat_by_code(invoice, lines):
        rate = fa3_rate(code, buyer_country)
        before = sums.get(rate, (Decimal(0), Decimal(0)))
        sums[rate] = (before[0] + net, before[1] + vat)
    foreign = invoice.currency != "PLN" and invoice.exchange_rate is not None
    for rate in sorted(sums, key=lambda r: r.order):
        net, vat = sums[rate]
        _el(fa, rate.net_field, _amount(sign * net))
        if rate.vat_field:
            _el(fa, rate.vat_field, _amount(sign * vat))
            if foreign:
                _el(fa, rate.vat_field + "W", _amount(sign * vat_in_pln(vat, invoice.exchange_rate)))
    _el(fa, "P_15", _amount(sign * invoice.gross_total))

    _annotations(fa, invoice, rates)
    _el(fa, "RodzajFaktury", "KOR" if credit else "VAT")
    if credit:
        _correction(fa, invoice)
    for number, (line, rate) in enumerate(zip(lines, rates, strict=True), 1):
        _line(fa, number, line, rate, sign, invoice)
    if not credit:
        _payment(fa, invoice, seller)
    _orders(fa, lines)


def _annotations(fa: ET.Element, invoice: Invoice, rates) -> None:
    rates = set(rates)
    reverse = invoice.reverse_charge or bool(rates & {_REVERSE_CHARGE, _SERVICES_ABROAD})
    notes = _el(fa, "Adnotacje")
    _el(notes, "P_16", NO)  # cash accounting
    _el(notes, "P_17", NO)  # self-billing
    _el(notes, "P_18", YES if reverse else NO)
    _el(notes, "P_18A", YES if invoice.split_payment else NO)
    exemption = _el(notes, "Zwolnienie")
    if _EXEMPT in rates:
        _el(exemption, "P_19", YES)
        _el(exemption, *_exemption_basis(invoice))
    else:
        _el(exemption, "P_19N", YES)
    transport = _el(notes, "NoweSrodkiTransportu")
    _el(transport, "P_22N", YES)
    _el(notes, "P_23", NO)  # simplified triangular procedure
    margin = _el(notes, "PMarzy")
    _el(margin, "P_PMarzyN", YES)


def _exemption_basis(invoice: Invoice) -> tuple[str, str]:
    """(P_19A, P_19B or P_19C, the basis) of an invoice with exempt lines."""
    field = EXEMPTION_FIELDS.get(invoice.exemption_basis_kind or "")
    basis = _text(invoice.exemption_basis, 256)
    if field is None or not basis:
        return "P_19A", EXEMPTION_BASIS
    return field, basis


def _correction(fa: ET.Element, invoice: Invoice) -> None:
    reason = _text(invoice.correction_reason, 256)
    if reason:
        _el(fa, "PrzyczynaKorekty", reason)
    _el(fa, "TypKorekty", "2")  # takes effect on the credit note's issue date
    original = invoice.corrects
    corrected = _el(fa, "DaneFaKorygowanej")
    if original is None or not original.number or original.issue_date is None:
        raise NotApplicable("a credit note needs the issued invoice it corrects")
    _el(corrected, "DataWystFaKorygowanej", original.issue_date.isoformat())
    _el(corrected, "NrFaKorygowanej", _text(original.number, 256))
    _el(corrected, "NrKSeFN", YES)


def _line(fa: ET.Element, number: int, line, rate: _Rate, sign: Decimal, invoice: Invoice) -> None:
    row = _el(fa, "FaWiersz")
    _el(row, "NrWierszaFa", str(number))
    description = _text(line.description, 512)
    if description:
        _el(row, "P_7", description)
    unit = _text(line.unit, 256)
    if unit:
        _el(row, "P_8A", unit)
    _el(row, "P_8B", _decimal(sign * line.quantity, 6))
    _el(row, "P_9A", _decimal(line.unit_price, 8))
    _el(row, "P_11", _amount(sign * line.net))
    _el(row, "P_12", rate.p12)
    if invoice.currency != "PLN" and invoice.exchange_rate is not None:
        _el(row, "KursWaluty", _decimal(invoice.exchange_rate, 6))


def _payment(fa: ET.Element, invoice: Invoice, seller: dict) -> None:
    payment = _el(fa, "Platnosc")
    for due in _due_dates(invoice)[:MAX_DUE_DATES]:
        term = _el(payment, "TerminPlatnosci")
        _el(term, "Termin", due.isoformat())
    _el(payment, "FormaPlatnosci", TRANSFER)
    account = re.sub(r"\s+", "", seller.get("iban") or invoice.bank_account or "").upper()
    if 10 <= len(account) <= 34:
        bank = _el(payment, "RachunekBankowy")
        _el(bank, "NrRB", account)
        bank_name = _text(seller.get("bank") or seller.get("bank_name"), 256)
        if bank_name:
            _el(bank, "NazwaBanku", bank_name)
    terms = invoice.payment_terms
    if invoice.discount_until and invoice.discount_amount:
        discount = _el(payment, "Skonto")
        _el(discount, "WarunkiSkonta", f"zapłata do {invoice.discount_until.isoformat()}")
        size = f"{_amount(invoice.discount_amount)} {invoice.currency}"
        if terms is not None and terms.kind == TermsKind.DISCOUNT and terms.discount_percent:
            size = f"{_decimal(terms.discount_percent, 2)}% ({size})"
        _el(discount, "WysokoscSkonta", size)


def _orders(fa: ET.Element, lines) -> None:
    orders = []
    seen = set()
    for line in lines:
        if line.order_id is not None and line.order_id not in seen:
            seen.add(line.order_id)
            if line.order is not None:
                orders.append(line.order)
    if not orders:
        return
    terms = _el(fa, "WarunkiTransakcji")
    for order in orders[:MAX_ORDERS]:
        entry = _el(terms, "Zamowienia")
        if order.issued_at is not None:
            _el(entry, "DataZamowienia", _local_day(order.issued_at).isoformat())
        _el(entry, "NrZamowienia", _text(order.number, 256))


def _footer(root: ET.Element, invoice: Invoice) -> None:
    notes = _text(invoice.notes, 3500, collapse=False)
    if notes:
        footer = _el(root, "Stopka")
        info = _el(footer, "Informacje")
        _el(info, "StopkaFaktury", notes)


# ------------------------------------------------------------------------------- values


_PARTY_FIELDS = ("name", "legal_name", "tax_id", "address_line", "postal_code", "city", "country")


def _parties(invoice: Invoice) -> dict:
    """The invoice's frozen parties; a credit note without its own takes its invoice's, and a
    row without any snapshot reads the organisations as they are."""
    if invoice.parties:
        return invoice.parties
    if invoice.corrects is not None and invoice.corrects.parties:
        return invoice.corrects.parties
    live = {}
    for key, org in (("seller", invoice.supplier), ("buyer", invoice.buyer)):
        if org is not None:
            live[key] = {name: getattr(org, name, "") or "" for name in _PARTY_FIELDS}
    if "seller" in live:
        live["seller"].update(iban=invoice.supplier.iban or "", bank=invoice.supplier.bank_name or "")
    return live


def _due_dates(invoice: Invoice) -> list[date]:
    terms = invoice.payment_terms
    if terms is not None and terms.kind == TermsKind.INSTALMENTS:
        return [due.due_on for due in terms.schedule(invoice.issue_date, invoice.gross_total,
                                                     invoice.currency)]
    return [invoice.due_date] if invoice.due_date else []


def _vat_by_code(invoice: Invoice, lines) -> list[tuple[str, Decimal, Decimal]]:
    """(code, net, vat) per VAT code, VAT once per code from the summed nets (art. 106e ust.
    11). A credit note takes the per-code VAT it was issued with (a code credited to its end
    takes exactly the VAT that remained of it: `invoiceable.credit_vat_by_code`)."""
    summary = totals_by_code(((line.vat_code, line.net) for line in lines), invoice.currency)
    rows = [(row.code.code, row.net, row.vat) for row in summary.per_code]
    if invoice.kind == InvoiceKind.CREDIT_NOTE and invoice.corrects is not None:
        vat = invoiceable.credit_vat_by_code(invoice)
        rows = [(code, net, vat.get(code, own)) for code, net, own in rows]
    return rows


def _amount(value: Decimal) -> str:
    """An FA(3) amount (TKwotowy): two decimals, never "-0.00"."""
    value = Decimal(value).quantize(_TWO_PLACES, rounding=ROUND_HALF_UP)
    return f"{value + 0:.2f}" if value else "0.00"


def _decimal(value: Decimal, places: int) -> str:
    """A quantity, unit price or rate with at most `places` decimals, no exponent, no "-0"."""
    value = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if not value:
        return "0"
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _nip(value: str | None) -> str:
    """A Polish NIP as FA(3) wants it: ten digits, no PL prefix, no dashes."""
    return re.sub(r"\D", "", (value or "").upper().removeprefix("PL"))


def _name(party: dict) -> str:
    return _text(party.get("legal_name") or party.get("name"), 512) or "-"


def _text(value: str | None, limit: int, *, collapse: bool = True) -> str:
    """Free text fit for an FA(3) string field: XML-safe, whitespace collapsed (the fields
    are xsd:token), at most `limit` characters."""
    text = _NOT_XML.sub("", value or "")
    text = _SPACES.sub(" ", text).strip() if collapse else text.strip()
    return text[:limit].strip()


def _moment(value: datetime) -> str:
    """UTC, to the second: 2026-12-05T10:15:00Z."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _local_day(value: datetime) -> date:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo("Europe/Warsaw")).date()


def _el(parent: ET.Element | None, tag: str, text: str | None = None) -> ET.Element:
    name = f"{{{NAMESPACE}}}{tag}"
    element = ET.Element(name) if parent is None else ET.SubElement(parent, name)
    if text is not None:
        element.text = text
    return element
