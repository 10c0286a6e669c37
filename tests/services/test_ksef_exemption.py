"""The exemption basis in the KSeF FA(3) XML (`Fa/Adnotacje/Zwolnienie`): with exempt (zw)
lines `P_19` = 1 and exactly one of `P_19A` (a provision of the VAT act), `P_19B` (of Directive
2006/112/EC), `P_19C` (another basis) holding the basis chosen on the draft; without zw lines
`P_19N` = 1. Every variant validates against the vendored FA(3) XSD."""

from __future__ import annotations

import pytest

from portal.models.invoice import InvoiceKind
from tests.services.test_ksef_xml import (  # noqa: F401 - fixtures
    NS,
    acme,
    make_invoice,
    polbud,
    text,
    xml_of,
)

LINES = [("Rusztowanie", "1", "8900.00", "23"), ("Szkolenie z montażu", "1", "1300.00", "zw")]


def exemption_of(root):
    return root.find("f:Fa/f:Adnotacje/f:Zwolnienie", NS)


def fields_of(exemption) -> dict[str, str]:
    return {child.tag.rsplit("}", 1)[1]: child.text for child in exemption}


@pytest.mark.parametrize(("kind", "field", "basis"), [
    ("ustawa", "P_19A", "art. 43 ust. 1 pkt 29 lit. b ustawy o VAT"),
    ("dyrektywa", "P_19B", "art. 132 ust. 1 lit. i dyrektywy 2006/112/WE"),
    ("inna", "P_19C", "art. 15 ust. 2 umowy między RP a USA o współpracy naukowej"),
])
def test_each_kind_of_basis_goes_to_its_own_field(polbud, acme, kind, field, basis):  # noqa: F811
    invoice = make_invoice(polbud, acme, LINES, exemption_basis_kind=kind, exemption_basis=basis)
    _, root = xml_of(invoice)  # validates against the XSD
    assert fields_of(exemption_of(root)) == {"P_19": "1", field: basis}


def test_the_longest_basis_fa3_allows_validates(polbud, acme):  # noqa: F811
    basis = "art. 43 ust. 1 pkt 37 ustawy o VAT " + "ą" * (256 - 35)
    assert len(basis) == 256
    _, root = xml_of(make_invoice(polbud, acme, LINES, exemption_basis_kind="ustawa", exemption_basis=basis))
    assert fields_of(exemption_of(root)) == {"P_19": "1", "P_19A": basis}


def test_without_zw_lines_p_19n_even_with_a_basis_left_on_the_row(polbud, acme):  # noqa: F811
    invoice = make_invoice(polbud, acme, LINES[:1], exemption_basis_kind="ustawa",
                           exemption_basis="art. 113 ust. 1 ustawy o VAT")
    _, root = xml_of(invoice)
    assert fields_of(exemption_of(root)) == {"P_19N": "1"}


def test_an_invoice_issued_before_the_basis_was_chosen_states_what_it_printed(polbud, acme):  # noqa: F811
    _, root = xml_of(make_invoice(polbud, acme, LINES))
    found = fields_of(exemption_of(root))
    assert found["P_19"] == "1" and found["P_19A"].startswith("art. 43 ust. 1 ustawy")


def test_a_credit_note_of_exempt_lines_states_the_basis(polbud, acme):  # noqa: F811
    basis = "art. 135 ust. 1 lit. a dyrektywy 2006/112/WE"
    original = make_invoice(polbud, acme, LINES, exemption_basis_kind="dyrektywa", exemption_basis=basis)
    note = make_invoice(polbud, acme, LINES[1:], kind=InvoiceKind.CREDIT_NOTE, corrects=original,
                        correction_reason="Szkolenie odwołane", exemption_basis_kind="dyrektywa",
                        exemption_basis=basis)
    _, root = xml_of(note)
    assert text(root, "f:Fa/f:RodzajFaktury") == "KOR"
    assert fields_of(exemption_of(root)) == {"P_19": "1", "P_19B": basis}
