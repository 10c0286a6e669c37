"""The comparison page, its CSV and the award POST (portal/blueprints/rfqs/compare.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import User
from portal.models.order import PurchaseOrder
from portal.models.rfq import Rfq, RfqAward, RfqStatus
from portal.tenancy import system
from tests.kit import HX, assert_fragment, count_queries, text_of
from tests.services.award_fixtures import build_rfq

D = Decimal


@pytest.fixture
def english(world):
    with system(db.session):
        for email in ("buyer@acme", "approver@acme", "buyer@globex", "sales@nordwind"):
            db.session.get(User, world.user(email).id).locale = "en"
        db.session.commit()
    return world


def _orders(rfq_id) -> int:
    with system(db.session):
        return db.session.scalar(select(func.count()).select_from(PurchaseOrder)
                                 .where(PurchaseOrder.rfq_id == rfq_id))


def _status(rfq_id):
    db.session.expire_all()
    with system(db.session):
        return db.session.get(Rfq, rfq_id).status


def test_compare_page_shows_the_matrix_best_prices_totals_and_budget(english, login_as):
    built = build_rfq(english)
    page = login_as(english.user("buyer@acme")).get(f"/rfqs/{built.rfq_id}/compare")
    assert page.status_code == 200
    html = page.text
    text = text_of(html)
    for name in ("Nordwind Supplies", "Polbud", "Baltic Tools"):
        assert name in text
    assert html.count('data-testid="compare-row"') == 6
    # best per line: 6 cells marked, visible as text ("best"), not only by colour
    assert html.count('data-testid="best-cell"') == 6
    assert html.count('data-testid="missing-cell"') == 2
    assert 'data-testid="partial-badge"' in html
    assert "2,053.80 PLN" in text  # Polbud's grand total: the cheapest complete quote
    assert "2,171.00 PLN" in text  # Nordwind's
    assert 'data-testid="budget-impact"' in html and html.count('data-testid="impact-row"') == 2
    assert "+0.80 PLN" in text  # the pre-selected award: 2 163.80 against 2 163.00 reserved
    # the award form: a radio per priced cell, the cheapest pre-selected
    assert html.count('type="radio"') == 16
    assert html.count("checked") == 6
    assert html.count('data-testid="award-all"') == 2  # not for the partial quote


def test_compare_impact_refreshes_as_an_htmx_fragment(english, login_as):
    built = build_rfq(english)
    q, ids = built.quotes, built.line_ids
    args = {f"line-{i}": q["Polbud"] for i in ids}
    page = login_as(english.user("buyer@acme")).get(f"/rfqs/{built.rfq_id}/compare", query_string=args,
                                                     headers=HX)
    assert page.status_code == 200
    assert_fragment(page)
    assert 'id="impact"' in page.text and "compare-matrix" not in page.text
    # whole to Polbud: 2 053.80 against 2 163.00 reserved
    assert "-109.20 PLN" in text_of(page.text)


def test_award_per_line_into_two_orders(english, login_as):
    built = build_rfq(english)
    q, ids = built.quotes, built.line_ids
    form = {f"line-{i}": q["Polbud"] for i in ids[:3]} | {f"line-{i}": q["Nordwind Supplies"] for i in ids[3:]}
    form |= {f"reason-{ids[0]}": "One delivery", f"reason-{ids[2]}": "One delivery",
             f"reason-{ids[3]}": "Certified", f"reason-{ids[4]}": "One box", f"reason-{ids[5]}": "One box"}
    client = login_as(english.user("buyer@acme"))
    sent = client.post(f"/rfqs/{built.rfq_id}/award", data=form)
    assert sent.status_code == 302
    assert _orders(built.rfq_id) == 2 and _status(built.rfq_id) == RfqStatus.AWARDED
    after = client.get(sent.headers["Location"])
    assert "2 purchase orders are issued" in after.text
    assert after.text.count('data-testid="award-order"') == 2
    assert "One delivery" in after.text
    # the same POST again: the RFQ is awarded, nothing is issued twice
    again = client.post(f"/rfqs/{built.rfq_id}/award", data=form, follow_redirects=True)
    assert "already been awarded" in again.text
    assert _orders(built.rfq_id) == 2


def test_award_whole_rfq_with_one_reason(english, login_as):
    built = build_rfq(english)
    client = login_as(english.user("buyer@acme"))
    sent = client.post(f"/rfqs/{built.rfq_id}/award",
                       data={"whole": built.quotes["Polbud"], "reason-all": "One supplier for the lot"})
    assert sent.status_code == 302
    assert _orders(built.rfq_id) == 1
    with system(db.session):
        reasons = db.session.scalars(select(RfqAward.reason).where(RfqAward.rfq_id == built.rfq_id)
                                     .order_by(RfqAward.rfq_line_id)).all()
    assert reasons == ["One supplier for the lot", "", "One supplier for the lot",
                       "One supplier for the lot", "", ""]


def test_award_without_a_reason_is_422_with_messages_beside_the_lines(english, login_as):
    built = build_rfq(english)
    ids = built.line_ids
    form = {f"line-{i}": built.quotes["Polbud"] for i in ids}
    sent = login_as(english.user("buyer@acme")).post(f"/rfqs/{built.rfq_id}/award", data=form)
    assert sent.status_code == 422
    assert sent.text.count('data-testid="line-problem"') == 3
    assert "say why you choose it" in sent.text
    assert 'aria-invalid="true"' in sent.text
    assert _orders(built.rfq_id) == 0 and _status(built.rfq_id) == RfqStatus.CLOSED


def test_award_whole_to_a_partial_quote_is_refused(english, login_as):
    built = build_rfq(english)
    sent = login_as(english.user("buyer@acme")).post(f"/rfqs/{built.rfq_id}/award",
                                                      data={"whole": built.quotes["Baltic Tools"]})
    assert sent.status_code == 422
    assert "did not quote every line" in sent.text
    assert _orders(built.rfq_id) == 0


def test_sealed_unopened_rfq_says_so_and_refuses_the_award(english, login_as):
    built = build_rfq(english, sealed=True, opened=False)
    client = login_as(english.user("buyer@acme"))
    page = client.get(f"/rfqs/{built.rfq_id}/compare")
    assert page.status_code == 200
    assert 'data-testid="sealed-notice"' in page.text and 'data-testid="open-quotes"' in page.text
    assert "Polbud" not in page.text and "2,053.80" not in page.text
    sent = client.post(f"/rfqs/{built.rfq_id}/award", data={"whole": built.quotes["Polbud"]},
                       follow_redirects=True)
    assert "sealed" in sent.text
    assert _orders(built.rfq_id) == 0
    csv = client.get(f"/rfqs/{built.rfq_id}/compare.csv")
    assert csv.status_code == 302


def test_another_companys_rfq_is_404(english, login_as):
    built = build_rfq(english)
    client = login_as(english.user("buyer@globex"))
    assert client.get(f"/rfqs/{built.rfq_id}/compare").status_code == 404
    assert client.get(f"/rfqs/{built.rfq_id}/compare.csv").status_code == 404
    assert client.post(f"/rfqs/{built.rfq_id}/award", data={"whole": built.quotes["Polbud"]}).status_code == 404
    assert _orders(built.rfq_id) == 0


def test_a_supplier_never_reaches_the_matrix(english, login_as):
    built = build_rfq(english)
    client = login_as(english.user("sales@nordwind"))
    assert client.get(f"/rfqs/{built.rfq_id}/compare").status_code in (403, 404)
    assert client.get(f"/rfqs/{built.rfq_id}/compare.csv").status_code in (403, 404)
    assert client.post(f"/rfqs/{built.rfq_id}/award",
                       data={"whole": built.quotes["Nordwind Supplies"]}).status_code in (403, 404)


def test_an_approver_reads_the_matrix_but_cannot_award(english, login_as):
    built = build_rfq(english)
    client = login_as(english.user("approver@acme"))
    page = client.get(f"/rfqs/{built.rfq_id}/compare")
    assert page.status_code == 200 and 'data-testid="compare-matrix"' in page.text
    assert 'data-testid="award-submit"' not in page.text and 'type="radio"' not in page.text
    assert client.post(f"/rfqs/{built.rfq_id}/award", data={"whole": built.quotes["Polbud"]}).status_code == 403


def test_compare_csv(english, login_as):
    built = build_rfq(english)
    got = login_as(english.user("buyer@acme")).get(f"/rfqs/{built.rfq_id}/compare.csv")
    assert got.status_code == 200 and got.mimetype == "text/csv"
    rows = got.text.lstrip("\ufeff").split("\r\n")
    assert rows[0].startswith("Line,Description,Quantity,Unit")
    assert sum(1 for r in rows if r) == 1 + 6 + 6


def test_compare_page_statements_do_not_grow_with_lines(english, login_as):
    def statements(repeat):
        built = build_rfq(english, repeat=repeat, cost_center_code=f"Q{repeat}")
        client = login_as(english.user("buyer@acme"))
        client.get(f"/rfqs/{built.rfq_id}/compare")  # warm caches (the user, translations)
        with count_queries() as sent:
            page = client.get(f"/rfqs/{built.rfq_id}/compare")
        assert page.status_code == 200
        assert page.text.count('data-testid="compare-row"') == 6 * repeat
        return len(sent)

    few, many = statements(1), statements(4)
    assert many == few, (few, many)
    assert few <= 12, few  # user, RFQ, quotes (+ lines), lines, agreements, requisitions, budgets


def _attach_offer(quote_id: int, name: str = "oferta-polbud.pdf") -> int:
    from portal.models.rfq import Quote, QuoteAttachment

    with system(db.session):
        quote = db.session.get(Quote, quote_id)
        document = QuoteAttachment(quote_id=quote.id, filename=name, content_type="application/pdf",
                                   size=12, data=b"%PDF-1.4 oferta", uploaded_by_id=quote.created_by_id)
        db.session.add(document)
        db.session.commit()
        return document.id


def test_the_buyer_reads_each_quote_s_notes_and_downloads_its_offer_documents(english, login_as):
    built = build_rfq(english)
    polbud = built.quotes["Polbud"]
    file_id = _attach_offer(polbud)
    client = login_as(english.user("buyer@acme"))
    page = client.get(f"/rfqs/{built.rfq_id}/compare")
    assert page.text.count('data-testid="quote-detail"') == 3 and "oferta-polbud.pdf" in page.text
    url = f"/rfqs/{built.rfq_id}/quotes/{polbud}/files/{file_id}"
    assert f'href="{url}"' in page.text
    download = client.get(url)
    assert download.status_code == 200 and download.data == b"%PDF-1.4 oferta"
    # Another quote's id with this file, or another company: nothing.
    nordwind = built.quotes["Nordwind Supplies"]
    assert client.get(f"/rfqs/{built.rfq_id}/quotes/{nordwind}/files/{file_id}").status_code == 404
    assert login_as(english.user("buyer@globex")).get(url).status_code == 404


def test_a_sealed_rfq_keeps_its_offer_documents_closed_like_its_prices(english, login_as):
    built = build_rfq(english, sealed=True, opened=False)
    polbud = built.quotes["Polbud"]
    file_id = _attach_offer(polbud)
    client = login_as(english.user("buyer@acme"))
    assert "oferta-polbud.pdf" not in client.get(f"/rfqs/{built.rfq_id}/compare").text
    assert client.get(f"/rfqs/{built.rfq_id}/quotes/{polbud}/files/{file_id}").status_code == 404
