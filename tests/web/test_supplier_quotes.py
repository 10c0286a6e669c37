"""The supplier's RFQ and quote pages: list tabs, detail (what a supplier may see), files, the
quote form (draft, submit, revise, refusals beside fields), revisions, decline, questions,
amendment confirmation; uninvited and other suppliers' quotes 404; the deadline (clock)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Quote, QuoteAttachment, QuoteRevision, Rfq, RfqInvitation, RfqQuestion
from portal.models.rfq import InvitationStatus, QuoteStatus
from portal.services import clock
from portal.services.sourcing import quotes
from tests.conftest import as_org, as_system, csrf_token_from
from tests.services.sourcing_fixtures import AFTER, BEFORE, DEADLINE, amend, open_sealed, published_rfq


@pytest.fixture
def at(monkeypatch):
    """Set the sourcing clock: at(BEFORE), at(AFTER)."""
    def set_now(moment):
        monkeypatch.setattr(clock, "now", lambda: moment)
    set_now(BEFORE)
    return set_now


@pytest.fixture
def rfq_id(world, at):
    return published_rfq(world, files=1)


def count(model) -> int:
    with as_system():
        return db.session.scalar(select(func.count(model.id)))


def lines_of(rfq_id) -> list[int]:
    with as_system():
        rfq = db.session.get(Rfq, rfq_id)
        return [line.id for line in sorted(rfq.lines, key=lambda li: li.position)]


def quote_data(page: str, rfq_id: int, prices=("2,95", "189", "7.10"), action="save", **extra) -> dict:
    data = {"csrf_token": csrf_token_from(page), "action": action,
            "supplier_reference": "OF/2026/118", "valid_until": "2027-01-31",
            "freight": "120,00", "other_charges": "", "charges_note": "Paleta EUR",
            "notes": "Dostawa 14 dni od zamówienia."}
    for line_id, price in zip(lines_of(rfq_id), prices, strict=False):
        data[f"line_{line_id}_unit_price"] = price
        data[f"line_{line_id}_lead_time_days"] = "14"
    data.update(extra)
    return data


def post_quote(client, rfq_id, **kw):
    page = client.get(f"/supplier/rfqs/{rfq_id}/quote").get_data(as_text=True)
    return client.post(f"/supplier/rfqs/{rfq_id}/quote", data=quote_data(page, rfq_id, **kw))


def quote_row(supplier):
    with as_system():
        return db.session.scalars(select(Quote).where(Quote.supplier_id == supplier.id)).first()


# ---------------------------------------------------------------- list and detail


def test_the_list_shows_rfqs_to_answer_with_the_buyer_and_time_left(world, rfq_id, login_as):
    client = login_as(world.user("sales@nordwind"))
    html = client.get("/supplier/rfqs").get_data(as_text=True)
    assert 'class="cards rfq-list"' in html and "Acme Manufacturing" in html
    assert "Łożyska i smary" in html and "left" in html
    assert 'data-testid="nav-supplier-rfqs"' in html
    for tab in ("answered", "closed"):
        assert client.get(f"/supplier/rfqs?tab={tab}").status_code == 200
    assert client.get("/supplier/rfqs?cursor=garbage").status_code == 422


def test_the_detail_shows_what_a_supplier_may_see_and_nothing_of_the_others(world, rfq_id, login_as):
    client = login_as(world.user("sales@nordwind"))
    html = client.get(f"/supplier/rfqs/{rfq_id}").get_data(as_text=True)
    assert "Łożysko kulkowe 6204-2RS" in html and "ul. Przemysłowa 12" in html
    assert "rysunek-1.pdf" in html and "Acme Manufacturing" in html
    assert "Polbud" not in html
    with as_system():
        assert db.session.scalars(select(RfqInvitation).where(
            RfqInvitation.supplier_id == world.nordwind.id)).one().first_viewed_at is not None


def test_an_rfq_file_downloads_for_an_invited_supplier_only(world, rfq_id, login_as):
    with as_system():
        file_id = db.session.get(Rfq, rfq_id).attachments[0].id
    response = login_as(world.user("sales@nordwind")).get(f"/supplier/rfqs/{rfq_id}/files/{file_id}")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert "attachment" in response.headers["Content-Disposition"]


def test_uninvited_suppliers_and_buyers_get_404_or_403(world, at, login_as):
    rfq_id = published_rfq(world, suppliers=("nordwind",), files=1)
    polbud = login_as(world.user("sales@polbud"))
    for url in (f"/supplier/rfqs/{rfq_id}", f"/supplier/rfqs/{rfq_id}/quote",
                f"/supplier/rfqs/{rfq_id}/decline", f"/supplier/rfqs/{rfq_id}/files/1"):
        assert polbud.get(url).status_code == 404, url
    page = polbud.get("/supplier/rfqs").get_data(as_text=True)
    token = csrf_token_from(page)
    assert polbud.post(f"/supplier/rfqs/{rfq_id}/quote", data={"csrf_token": token}).status_code == 404
    assert polbud.post(f"/supplier/rfqs/{rfq_id}/questions",
                       data={"csrf_token": token, "body": "?"}).status_code == 404
    assert count(Quote) == 0 and count(RfqQuestion) == 0
    buyer = login_as(world.user("buyer@acme"))
    assert buyer.get("/supplier/rfqs").status_code == 403


def test_a_draft_rfq_is_404_for_its_invited_supplier(world, at, login_as):
    rfq_id = published_rfq(world, publish=False)
    assert login_as(world.user("sales@nordwind")).get(f"/supplier/rfqs/{rfq_id}").status_code == 404


# ---------------------------------------------------------------- the quote form


def test_the_quote_form_saves_a_draft_invisible_to_the_buyer(world, rfq_id, login_as):
    client = login_as(world.user("sales@nordwind"))
    page = client.get(f"/supplier/rfqs/{rfq_id}/quote")
    assert page.status_code == 200 and 'data-testid="quote-form"' in page.get_data(as_text=True)
    assert count(Quote) == 0  # showing the form writes nothing
    response = post_quote(client, rfq_id)
    assert response.status_code == 302
    quote = quote_row(world.nordwind)
    assert quote.status == QuoteStatus.DRAFT and quote.freight == 120
    html = client.get(f"/supplier/rfqs/{rfq_id}/quote").get_data(as_text=True)
    assert "OF/2026/118" in html and "Draft" in html
    with as_org(world.acme):
        rfq = db.session.get(Rfq, rfq_id)
        assert quotes.responses(rfq)[0].status == InvitationStatus.INVITED
    open_sealed(world, rfq_id)
    with as_org(world.acme):
        assert quotes.submitted_quotes(db.session.get(Rfq, rfq_id), now=AFTER) == []


def test_submit_then_revise_keeps_revisions_viewable(world, rfq_id, login_as):
    client = login_as(world.user("sales@nordwind"))
    response = post_quote(client, rfq_id, action="submit")
    assert response.status_code == 302
    assert post_quote(client, rfq_id, action="submit", prices=("2,80", "185", "7")).status_code == 302
    quote = quote_row(world.nordwind)
    assert quote.status == QuoteStatus.SUBMITTED and quote.revision == 2
    with as_system():
        revision_ids = [r.id for r in db.session.get(Quote, quote.id).revisions]
    html = client.get(f"/supplier/rfqs/{rfq_id}/quote/revisions/{revision_ids[0]}").get_data(as_text=True)
    assert "Revision 1 of 2" in html and "2.95" in html
    # A revision of another supplier's quote, or a made-up one: 404.
    polbud = login_as(world.user("sales@polbud"))
    assert polbud.get(f"/supplier/rfqs/{rfq_id}/quote/revisions/{revision_ids[0]}").status_code == 404


def test_bad_prices_come_back_beside_their_field_with_nothing_saved(world, rfq_id, login_as):
    client = login_as(world.user("sales@nordwind"))
    response = post_quote(client, rfq_id, prices=("0", "-5", "abc"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.count('class="field-error"') >= 3
    assert count(Quote) == 0


def test_a_missing_line_is_refused_when_partial_quotes_are_not_allowed(world, rfq_id, login_as):
    client = login_as(world.user("sales@nordwind"))
    response = post_quote(client, rfq_id, prices=("2,95", "", "7"), action="submit")
    assert response.status_code == 422
    assert "every line" in response.get_data(as_text=True)
    assert count(Quote) == 0 and count(QuoteRevision) == 0


def test_a_validity_before_the_deadline_is_refused_beside_the_field(world, rfq_id, login_as):
    client = login_as(world.user("sales@nordwind"))
    day = (DEADLINE - timedelta(days=2)).date().isoformat()
    response = post_quote(client, rfq_id, action="submit", valid_until=day)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="valid_until-error"[^>]*>[^<]*valid at least until', html)
    assert count(Quote) == 0


def test_a_forbidden_attachment_is_refused_and_a_good_one_kept(world, rfq_id, login_as):
    from io import BytesIO

    client = login_as(world.user("sales@nordwind"))
    page = client.get(f"/supplier/rfqs/{rfq_id}/quote").get_data(as_text=True)
    data = quote_data(page, rfq_id, attachment=(BytesIO(b"MZ"), "setup.exe"))
    response = client.post(f"/supplier/rfqs/{rfq_id}/quote", data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "cannot be attached" in response.get_data(as_text=True)
    assert count(Quote) == 0
    data = quote_data(page, rfq_id, attachment=(BytesIO(b"%PDF-1.4 offer"), "oferta.pdf"))
    assert client.post(f"/supplier/rfqs/{rfq_id}/quote", data=data,
                       content_type="multipart/form-data").status_code == 302
    assert count(QuoteAttachment) == 1
    with as_system():
        file_id = db.session.scalars(select(QuoteAttachment.id)).one()
    assert client.get(f"/supplier/rfqs/{rfq_id}/quote/files/{file_id}").data.startswith(b"%PDF")
    assert login_as(world.user("sales@polbud")).get(
        f"/supplier/rfqs/{rfq_id}/quote/files/{file_id}").status_code == 404


def test_a_post_after_the_deadline_says_so_and_saves_nothing(world, rfq_id, login_as, at):
    client = login_as(world.user("sales@nordwind"))
    page = client.get(f"/supplier/rfqs/{rfq_id}/quote").get_data(as_text=True)
    at(AFTER)
    response = client.post(f"/supplier/rfqs/{rfq_id}/quote",
                           data=quote_data(page, rfq_id, action="submit"))
    assert response.status_code == 409
    assert "deadline for quotes was" in response.get_data(as_text=True)
    assert count(Quote) == 0
    html = client.get(f"/supplier/rfqs/{rfq_id}/quote").get_data(as_text=True)
    assert 'data-testid="submit-quote"' not in html and 'data-testid="deadline-passed"' in html


def test_one_quote_per_supplier_even_when_posted_twice(world, rfq_id, login_as):
    client = login_as(world.user("sales@nordwind"))
    post_quote(client, rfq_id)
    post_quote(client, rfq_id, action="submit")
    assert count(Quote) == 1


def test_each_supplier_reads_and_writes_only_its_own_quote(world, rfq_id, login_as):
    nordwind = login_as(world.user("sales@nordwind"))
    post_quote(nordwind, rfq_id, action="submit")
    polbud = login_as(world.user("sales@polbud"))
    html = polbud.get(f"/supplier/rfqs/{rfq_id}/quote").get_data(as_text=True)
    assert "OF/2026/118" not in html and "Nordwind" not in html
    post_quote(polbud, rfq_id, prices=("3", "200", "8"), supplier_reference="PB-77")
    assert quote_row(world.nordwind).supplier_reference == "OF/2026/118"
    assert quote_row(world.polbud).supplier_reference == "PB-77"
    html = nordwind.get(f"/supplier/rfqs/{rfq_id}").get_data(as_text=True)
    assert "PB-77" not in html and "Polbud" not in html


# ---------------------------------------------------------------- decline, questions, amendment


def test_decline_with_a_reason(world, rfq_id, login_as):
    client = login_as(world.user("sales@polbud"))
    page = client.get(f"/supplier/rfqs/{rfq_id}/decline").get_data(as_text=True)
    token = csrf_token_from(page)
    response = client.post(f"/supplier/rfqs/{rfq_id}/decline", data={"csrf_token": token, "reason": ""})
    assert response.status_code == 422
    response = client.post(f"/supplier/rfqs/{rfq_id}/decline",
                           data={"csrf_token": token, "reason": "Brak mocy produkcyjnych."})
    assert response.status_code == 302
    with as_system():
        invitation = db.session.scalars(select(RfqInvitation).where(
            RfqInvitation.supplier_id == world.polbud.id)).one()
        assert invitation.status == InvitationStatus.DECLINED


def test_ask_a_question_and_read_only_ones_own(world, rfq_id, login_as):
    client = login_as(world.user("sales@nordwind"))
    page = client.get(f"/supplier/rfqs/{rfq_id}").get_data(as_text=True)
    token = csrf_token_from(page)
    once = re.search(r'name="submission_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(f"/supplier/rfqs/{rfq_id}/questions",
                           data={"csrf_token": token, "submission_token": once,
                                 "body": "Czy dopuszczacie łożyska 6204-ZZ?"})
    assert response.status_code == 302
    assert "6204-ZZ" in client.get(f"/supplier/rfqs/{rfq_id}").get_data(as_text=True)
    assert "6204-ZZ" not in login_as(world.user("sales@polbud")).get(
        f"/supplier/rfqs/{rfq_id}").get_data(as_text=True)
    assert count(RfqQuestion) == 1


def test_confirm_after_an_amendment(world, rfq_id, login_as):
    client = login_as(world.user("sales@nordwind"))
    post_quote(client, rfq_id, action="submit")
    amend(world, rfq_id)
    html = client.get(f"/supplier/rfqs/{rfq_id}").get_data(as_text=True)
    assert 'data-testid="amendment-banner"' in html
    response = client.post(f"/supplier/rfqs/{rfq_id}/quote/confirm",
                           data={"csrf_token": csrf_token_from(html)})
    assert response.status_code == 302
    assert quote_row(world.nordwind).amendment == 1
    html = client.get(f"/supplier/rfqs/{rfq_id}").get_data(as_text=True)
    assert 'data-testid="amendment-banner"' not in html


@pytest.mark.usefixtures("uncached_lists")
def test_the_list_reads_a_fixed_number_of_statements_however_many_rfqs(world, at, login_as):
    from tests.kit import count_queries, rows

    client = login_as(world.user("sales@nordwind"))
    first = published_rfq(world)
    post_quote(client, first)
    client.get("/supplier/rfqs")
    with count_queries() as few:
        html = client.get("/supplier/rfqs").get_data(as_text=True)
    assert rows(html, "supplier-rfq-row") == 1
    for n in range(4):
        rfq_id = published_rfq(world, title=f"Zapytanie {n}")
        post_quote(client, rfq_id)
    with count_queries() as many:
        html = client.get("/supplier/rfqs").get_data(as_text=True)
    assert rows(html, "supplier-rfq-row") == 5
    assert len(many) == len(few)


def test_the_list_pages_by_keyset(world, at, login_as, monkeypatch):
    from portal.blueprints import edge

    for n in range(3):
        published_rfq(world, title=f"Zapytanie {n}", deadline=DEADLINE + timedelta(hours=n))
    monkeypatch.setattr(edge, "page_size", lambda: 2)
    monkeypatch.setattr("portal.blueprints.supplier.quotes.page_size", lambda: 2)
    client = login_as(world.user("sales@nordwind"))
    html = client.get("/supplier/rfqs").get_data(as_text=True)
    assert html.count('data-testid="supplier-rfq-row"') == 2
    cursor = re.search(r'href="([^"]*cursor=[^"]+)"[^>]*rel="next"', html).group(1).replace("&amp;", "&")
    html = client.get(cursor).get_data(as_text=True)
    assert html.count('data-testid="supplier-rfq-row"') == 1 and "Zapytanie 2" in html
    fragment = client.get(cursor, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith("<div id=\"results\"")


def test_a_blocked_supplier_reads_the_rfq_but_cannot_post_a_quote(world, rfq_id, login_as):
    from portal.models import SupplierLink
    from portal.services import suppliers

    client = login_as(world.user("sales@nordwind"))
    page = client.get(f"/supplier/rfqs/{rfq_id}/quote").get_data(as_text=True)
    with as_org(world.acme):
        link = db.session.scalars(select(SupplierLink).where(
            SupplierLink.supplier_id == world.nordwind.id)).one()
        suppliers.block(link, actor=world.user("admin@acme"), comment="Przegląd umowy")
        db.session.commit()
    assert client.get(f"/supplier/rfqs/{rfq_id}").status_code == 200
    html = client.get(f"/supplier/rfqs/{rfq_id}/quote").get_data(as_text=True)
    assert 'data-testid="submit-quote"' not in html
    response = client.post(f"/supplier/rfqs/{rfq_id}/quote", data=quote_data(page, rfq_id, action="submit"))
    assert response.status_code == 403
    assert count(Quote) == 0
