"""The legal basis of a VAT exemption on the stored invoice PDF (art. 106e ust. 1 pkt 19):
printed beside the VAT summary of an invoice with exempt (zw) lines, in the invoice's language
(the provision as the supplier typed it, its kind in the invoice's words), and not at all
without zw lines. Expected words come from the catalogue in the invoice's language."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest
from flask_babel import force_locale, gettext

from portal.domain.exemption import KIND_PRINTED
from tests.conftest import as_org
from tests.pdf.invoice_fixtures import make_invoice
from tests.pdf.test_invoice_pdf import stored_text
from tests.pdf.test_order_pdf import flat, plain

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")

D = Decimal
ITEMS = [(D(2), D("450.00"), "23"), (D(1), D("1300.00"), "zw")]
SENTENCE = "zw: supply exempt from VAT. Legal basis of the exemption (%(kind)s): %(basis)s"


def printed(language: str, kind: str, basis: str) -> str:
    with force_locale(language):
        return plain(gettext(SENTENCE, kind=gettext(KIND_PRINTED[kind]), basis=basis))


@pytest.mark.parametrize(("language", "kind", "basis"), [
    ("pl", "ustawa", "art. 43 ust. 1 pkt 29 lit. b ustawy o VAT"),
    ("en", "dyrektywa", "art. 132 ust. 1 lit. i dyrektywy 2006/112/WE"),
    ("pl", "inna", "art. 15 umowy międzynarodowej <z> & \"cudzysłowem\""),
])
def test_the_basis_is_printed_in_the_invoices_language(world, language, kind, basis):
    acme, polbud = world.acme, world.polbud
    with as_org(polbud):
        invoice = make_invoice(polbud, acme, items=ITEMS, language=language)
        invoice.exemption_basis_kind, invoice.exemption_basis = kind, basis
        text = flat(stored_text(invoice))
    assert printed(language, kind, basis) in text
    with force_locale(language):
        generic = gettext("zw: supply exempt from VAT under art. 43 ust. 1 of the Polish VAT act.")
    assert plain(generic) not in text


def test_no_basis_is_printed_without_exempt_lines(world):
    acme, polbud = world.acme, world.polbud
    with as_org(polbud):
        invoice = make_invoice(polbud, acme, items=ITEMS[:1], language="en")
        text = flat(stored_text(invoice))
    assert "Legal basis" not in text and "zw:" not in text
