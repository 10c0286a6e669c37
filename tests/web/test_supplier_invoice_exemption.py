"""The legal basis of a VAT exemption on the supplier's pages: the draft asks for it beside its
exempt (zw) lines (kind, provision, the usual provisions offered), saves it, refuses a zw line
without one beside the field; issuing without one is refused naming the field; the company
profile keeps a supplier's usual basis that new drafts start with."""

from __future__ import annotations

import re

from portal.domain.exemption import COMMON_PROVISIONS
from tests.conftest import reload
from tests.web.test_company_profile import profile
from tests.web.test_supplier_invoices import (  # noqa: F401 - fixtures
    _draft_form,
    _english,
    _stored_documents,
    drafted,
    fresh,
    polbud,
    received,
)

TRAINING = "art. 43 ust. 1 pkt 29 lit. b ustawy o VAT"


def _exempt_form(invoice, **changes) -> dict:
    """The draft's form with its first line exempt (zw)."""
    first = invoice.lines[0]
    return _draft_form(invoice, **{f"line-{first.id}-vat_code": "zw", **changes})


def _section(html: str) -> str:
    return re.search(r'<section class="card exemption-basis[^"]*".*?</section>', html, re.S).group(0)


def test_the_basis_is_asked_for_only_beside_exempt_lines(world, polbud):  # noqa: F811
    invoice_id = drafted(world, received(world))
    html = polbud.get(f"/supplier/invoices/{invoice_id}").text
    section = _section(html)
    assert 'class="card exemption-basis"' in section  # hidden until a line is zw (CSS :has)
    assert 'name="exemption_basis_kind"' in section and 'name="exemption_basis"' in section
    assert 'list="exemption-provisions"' in section and 'maxlength="256"' in section
    assert all(f'value="{p.text}"' in section for p in COMMON_PROVISIONS)
    assert "Polish VAT act" in section and "Council Directive 2006/112/EC" in section


def test_a_zw_line_without_a_basis_is_refused_beside_the_field_and_nothing_saved(world, polbud):  # noqa: F811
    invoice_id = drafted(world, received(world))
    invoice = fresh(invoice_id)
    response = polbud.post(f"/supplier/invoices/{invoice_id}/edit",
                           data=_exempt_form(invoice, exemption_basis_kind="ustawa", exemption_basis=""))
    assert response.status_code == 422
    section = _section(response.text)
    assert "is-needed" in section  # shown: the line sent is zw
    assert 'id="exemption_basis-error"' in section and "legal basis of the VAT exemption" in section
    assert [line.vat_code for line in fresh(invoice_id).lines] == ["23", "23"]
    # The refused page's totals are those of the lines as typed (the first one exempt), marked
    # as not saved: not the saved draft's beside lines that say otherwise.
    totals = response.text.split('id="draft-totals"', 1)[1].split("</section>", 1)[0]
    summary = totals.split("</table>", 1)[0]
    assert 'data-testid="totals-preview"' in totals and "(zw)" in summary and "23%" in summary


def test_the_basis_is_saved_and_shown_again(world, polbud):  # noqa: F811
    invoice_id = drafted(world, received(world))
    invoice = fresh(invoice_id)
    response = polbud.post(f"/supplier/invoices/{invoice_id}/edit", data=_exempt_form(
        invoice, exemption_basis_kind="ustawa", exemption_basis=f" {TRAINING} "))
    assert response.status_code in (302, 303)
    saved = fresh(invoice_id)
    assert (saved.exemption_basis_kind, saved.exemption_basis) == ("ustawa", TRAINING)
    section = _section(polbud.get(f"/supplier/invoices/{invoice_id}").text)
    assert "is-needed" in section and f'value="{TRAINING}"' in section
    assert re.search(r'<option selected value="ustawa">|value="ustawa" selected', section)


def test_control_characters_and_overlong_text_are_refused(world, polbud):  # noqa: F811
    invoice_id = drafted(world, received(world))
    invoice = fresh(invoice_id)
    # (other C0 controls are refused at the edge for every form: portal.blueprints.params)
    for text in ("art. 43\tust. 1", "art. 43\r\nust. 1", "art. 43\u2028ust. 1", "x" * 257):
        response = polbud.post(f"/supplier/invoices/{invoice_id}/edit", data=_exempt_form(
            invoice, exemption_basis_kind="ustawa", exemption_basis=text))
        assert response.status_code == 422 and 'id="exemption_basis-error"' in response.text
    assert fresh(invoice_id).exemption_basis == ""


def test_issuing_a_zw_line_without_a_basis_is_refused_naming_the_field(world, polbud):  # noqa: F811
    from portal.extensions import db
    from tests.conftest import as_system

    invoice_id = drafted(world, received(world))
    invoice = fresh(invoice_id)
    polbud.post(f"/supplier/invoices/{invoice_id}/edit",
                data=_exempt_form(invoice, exemption_basis_kind="ustawa", exemption_basis=TRAINING))
    with as_system():  # as if saved before the basis was asked for
        stored = fresh(invoice_id)
        stored.exemption_basis_kind, stored.exemption_basis = None, ""
        db.session.commit()
    response = polbud.post(f"/supplier/invoices/{invoice_id}/issue")
    assert response.status_code == 422
    section = _section(response.text)
    assert 'id="exemption_basis-error"' in section and "exempt (zw) lines must state it" in section
    assert fresh(invoice_id).number is None


def test_the_company_profile_keeps_the_usual_basis_for_new_drafts(world, login_as):
    client = login_as(world.user("sales@polbud"))
    page = client.get("/admin/organization").text
    assert 'name="exemption_basis_kind"' in page and 'data-testid="exemption-default"' in page
    refused = client.post("/admin/organization", data=profile(
        world.polbud, exemption_basis_kind="", exemption_basis="art. 113 ust. 1 ustawy o VAT"))
    assert refused.status_code == 422 and 'id="exemption_basis_kind-error"' in refused.text
    response = client.post("/admin/organization", data=profile(
        world.polbud, exemption_basis_kind="ustawa", exemption_basis="art. 113 ust. 1 ustawy o VAT"))
    assert response.status_code == 302
    org = reload(world.polbud)
    assert (org.exemption_basis_kind, org.exemption_basis) == ("ustawa", "art. 113 ust. 1 ustawy o VAT")
    invoice_id = drafted(world, received(world))
    assert fresh(invoice_id).exemption_basis == "art. 113 ust. 1 ustawy o VAT"


def test_a_buyer_has_no_usual_exemption_basis(world, login_as):
    page = login_as(world.user("admin@acme")).get("/admin/organization").text
    assert 'name="exemption_basis"' not in page
