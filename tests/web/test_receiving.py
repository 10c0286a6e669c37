"""The receipts section of an order (htmx and full page), a receipt's printable page, and the open
commitments page: partial receipts, errors beside their fields with nothing saved, a form sent
twice recorded once, who may receive, another company's order a 404."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from portal.extensions import db
from portal.models import Budget
from portal.models.order import GoodsReceipt, OrderStatus, PurchaseOrder, PurchaseOrderLine
from tests.conftest import as_system
from tests.factories import company_today, make_budget
from tests.kit import HX, assert_fragment, count, count_queries, load, rows
from tests.services.receiving_fixtures import make_order

TODAY = company_today().isoformat()


@pytest.fixture(autouse=True)
def _english(world):
    with as_system():
        for user in world.users.values():
            user.locale = "en"
        db.session.commit()


@pytest.fixture
def made(world):
    return make_order(world)


@pytest.fixture
def buyer(world, login_as):
    return login_as(world.user("buyer@acme"))


def _token(html: str) -> str:
    return re.search(r'name="submission_token"[^>]*value="([^"]+)"', html).group(1)


def _form(made, received=("", ""), rejected=("", ""), reasons=("", ""), *, day=TODAY, note="",
          token=None) -> dict:
    data = {"received_on": day, "note": note}
    for line_id, qty, rej, why in zip(made.line_ids, received, rejected, reasons, strict=True):
        data.update({f"received_{line_id}": qty, f"rejected_{line_id}": rej, f"reason_{line_id}": why})
    if token:
        data["submission_token"] = token
    return data


def test_receiving_page_shows_ordered_received_and_open_per_line(world, buyer, made):
    html = buyer.get(f"/orders/{made.order_id}/receipts").text
    assert rows(html, "receiving-line") == 2 and 'data-testid="receipt-form"' in html
    assert f'name="received_{made.line_ids[0]}"' in html and f'name="reason_{made.line_ids[1]}"' in html
    assert f'value="{TODAY}"' in html  # the date defaults to today
    assert _token(html) and "Nothing received yet" in html


def test_receiving_htmx_partial_receipt_refreshes_the_section(world, buyer, made):
    response = buyer.post(f"/orders/{made.order_id}/receipts", headers=HX, data=_form(
        made, received=("4", "5"), rejected=("", "2"), reasons=("", "Uszkodzone kartony"),
        note="WZ 123/2026"))
    assert response.status_code == 200
    assert_fragment(response)
    assert "The receipt is recorded." in response.headers["HX-Trigger"]
    html = response.text
    assert html.lstrip().startswith('<section class="card receipts" id="receipts"')
    assert rows(html, "receipt-row") == 1 and "Uszkodzone kartony" in html and "WZ 123/2026" in html
    assert re.findall(r'data-testid="open-quantity">\s*<strong>([\d.,]+)</strong>', html) == ["6", "2"]
    first, second = (load(PurchaseOrderLine, i) for i in made.line_ids)
    assert (first.received_quantity, second.received_quantity, second.rejected_quantity) == (D(4), D(3), D(2))
    assert load(PurchaseOrder, made.order_id).status == OrderStatus.PARTIALLY_RECEIVED


def test_receiving_over_receipt_is_422_with_the_error_beside_the_line(world, buyer, made):
    line = made.line_ids[0]
    response = buyer.post(f"/orders/{made.order_id}/receipts", headers=HX,
                          data=_form(made, received=("11", "")))
    assert response.status_code == 422
    assert_fragment(response)
    error = re.search(rf'id="received_{line}-error">([^<]*)<', response.text).group(1)
    assert error.startswith("Line 1: only 10 still open, 11 cannot be accepted.")
    assert re.search(rf'<input[^>]*name="received_{line}"[^>]*value="11"', response.text)  # as typed
    assert count(GoodsReceipt, GoodsReceipt.order_id == made.order_id) == 0


def test_receiving_rejection_without_a_reason_is_refused_beside_the_reason(world, buyer, made):
    line = made.line_ids[1]
    response = buyer.post(f"/orders/{made.order_id}/receipts", headers=HX,
                          data=_form(made, received=("", "3"), rejected=("", "1")))
    assert response.status_code == 422
    assert "Say why the goods were rejected." in re.search(
        rf'id="reason_{line}-error">([^<]*)<', response.text).group(1)


def test_receiving_a_rejection_on_a_line_with_nothing_received_is_refused(world, buyer, made):
    line = made.line_ids[1]
    response = buyer.post(f"/orders/{made.order_id}/receipts", headers=HX,
                          data=_form(made, received=("9", ""), rejected=("", "1"), reasons=("", "Zły")))
    assert response.status_code == 422
    assert "At most the received quantity (0)" in re.search(
        rf'id="rejected_{line}-error">([^<]*)<', response.text).group(1)


def test_receiving_nothing_entered_or_a_future_date_is_refused(world, buyer, made):
    response = buyer.post(f"/orders/{made.order_id}/receipts", headers=HX, data=_form(made))
    assert response.status_code == 422 and "at least one line" in response.text
    future = (date.today() + timedelta(days=3)).isoformat()
    response = buyer.post(f"/orders/{made.order_id}/receipts", headers=HX,
                          data=_form(made, received=("1", ""), day=future))
    assert response.status_code == 422
    assert "future" in re.search(r'id="received_on-error">([^<]*)<', response.text).group(1)


def test_receiving_without_javascript_redirects_to_the_order_or_shows_the_errors(world, buyer, made):
    response = buyer.post(f"/orders/{made.order_id}/receipts", data=_form(made, received=("10", "5")))
    assert response.status_code in (302, 303)
    assert response.headers["Location"].endswith(f"/orders/{made.order_id}#receipts")
    assert load(PurchaseOrder, made.order_id).status == OrderStatus.RECEIVED
    other = make_order(world)
    response = buyer.post(f"/orders/{other.order_id}/receipts", data=_form(other, received=("x", "")))
    assert response.status_code == 422 and "<html" in response.text
    assert f'id="received_{other.line_ids[0]}-error"' in response.text


def test_receiving_the_same_form_sent_twice_records_once(world, buyer, made):
    token = _token(buyer.get(f"/orders/{made.order_id}/receipts").text)
    data = _form(made, received=("4", ""), token=token)
    assert buyer.post(f"/orders/{made.order_id}/receipts", data=data).status_code in (302, 303)
    again = buyer.post(f"/orders/{made.order_id}/receipts", data=data)
    assert again.status_code in (302, 303)
    assert count(GoodsReceipt, GoodsReceipt.order_id == made.order_id) == 1
    assert load(PurchaseOrderLine, made.line_ids[0]).received_quantity == D(4)


def test_receiving_a_received_order_is_refused_with_a_message(world, buyer):
    done = make_order(world, status=OrderStatus.RECEIVED)
    html = buyer.get(f"/orders/{done.order_id}/receipts").text
    assert 'data-testid="receipt-form"' not in html and "fully received" in html
    response = buyer.post(f"/orders/{done.order_id}/receipts", headers=HX,
                          data=_form(done, received=("1", "")))
    assert response.status_code == 409 and "fully received" in response.text


def test_receiving_needs_a_buyer_of_the_ordering_company(world, login_as, made):
    data = _form(made, received=("1", ""))
    assert login_as(world.user("approver@acme")).post(
        f"/orders/{made.order_id}/receipts", data=data).status_code == 403
    assert login_as(world.user("buyer@globex")).post(
        f"/orders/{made.order_id}/receipts", data=data).status_code == 404
    assert login_as(world.user("buyer@globex")).get(
        f"/orders/{made.order_id}/receipts").status_code == 404
    assert login_as(world.user("sales@polbud")).post(
        f"/orders/{made.order_id}/receipts", data=data).status_code in (403, 404)
    assert count(GoodsReceipt) == 0
    # an approver reads the receipts but gets no form
    html = login_as(world.user("approver@acme")).get(f"/orders/{made.order_id}/receipts").text
    assert 'data-testid="receipts"' in html and 'data-testid="receipt-form"' not in html


def test_receipt_page_is_printable_with_lines_and_reasons(world, buyer, made, login_as):
    buyer.post(f"/orders/{made.order_id}/receipts", data=_form(
        made, received=("4", "5"), rejected=("", "2"), reasons=("", "Mokre"), note="Kurier"))
    with as_system():
        receipt_id = db.session.scalar(db.select(GoodsReceipt.id).where(GoodsReceipt.order_id == made.order_id))
    html = buyer.get(f"/orders/{made.order_id}/receipts/{receipt_id}").text
    assert rows(html, "receipt-line") == 2 and "Mokre" in html and "Kurier" in html
    assert "Polbud" in html and "Received by (name, signature)" in html
    other = make_order(world)
    assert buyer.get(f"/orders/{other.order_id}/receipts/{receipt_id}").status_code == 404
    assert login_as(world.user("buyer@globex")).get(
        f"/orders/{made.order_id}/receipts/{receipt_id}").status_code == 404


def test_receiving_section_costs_the_same_queries_for_many_receipts(world, buyer, made):
    buyer.post(f"/orders/{made.order_id}/receipts", data=_form(made, received=("1", "")))
    with count_queries() as few:
        buyer.get(f"/orders/{made.order_id}/receipts")
    for _ in range(6):
        buyer.post(f"/orders/{made.order_id}/receipts", data=_form(made, received=("1", "")))
    with count_queries() as many:
        html = buyer.get(f"/orders/{made.order_id}/receipts").text
    assert rows(html, "receipt-row") == 7
    assert len(many) == len(few)


# ---------------------------------------------------------------- open commitments


def _committed(world, made, cost_center_code="IT"):
    from tests.factories import make_cost_center

    cc = make_cost_center(world.acme, cost_center_code, name="Dział IT")
    budget = make_budget(cc, "50000", actor=world.user("admin@acme"))
    with as_system():
        db.session.get(Budget, budget.id).committed = D("1230.00")
        db.session.get(PurchaseOrder, made.order_id).budget_id = budget.id
        db.session.commit()
    return budget.id


def test_commitments_page_shows_committed_amounts_and_open_orders_per_cost_centre(world, buyer, made):
    budget_id = _committed(world, made)
    received = make_order(world, status=OrderStatus.RECEIVED)
    with as_system():
        db.session.get(PurchaseOrder, received.order_id).budget_id = budget_id
        db.session.commit()
    html = buyer.get("/orders/commitments").text
    assert rows(html, "commitment-row") == 1
    assert "1,230.00" in html and "Dział IT" in html
    link = re.search(r'data-testid="open-orders">\s*<a href="([^"]*)">1</a>', html).group(1)
    assert f"budget={budget_id}" in link and "view=open" in link
    listed = buyer.get(link.replace("&amp;", "&")).text
    assert made.number in listed and received.number not in listed
    other = make_order(world)  # an open order of no budget: not in the budget's list
    assert other.number not in buyer.get(link.replace("&amp;", "&")).text


def test_commitments_page_links_budgets_for_those_who_read_them(world, login_as, made):
    budget_id = _committed(world, made)
    assert f'href="/budgets/{budget_id}"' not in login_as(world.user("buyer@acme")).get("/orders/commitments").text
    assert f'href="/budgets/{budget_id}"' in login_as(world.user("admin@acme")).get("/orders/commitments").text


def test_commitments_page_is_for_buying_companies(world, login_as):
    assert login_as(world.user("sales@polbud")).get("/orders/commitments").status_code == 403
    assert "No open commitments" in login_as(world.user("buyer@globex")).get("/orders/commitments").text


def test_order_page_includes_the_receipts_section_and_htmx_swaps_it(world, buyer, made):
    html = buyer.get(f"/orders/{made.order_id}").text
    assert html.count(' id="receipts"') == 1 and 'data-testid="receipt-form"' in html
    assert f'hx-post="/orders/{made.order_id}/receipts"' in html and 'hx-target="#receipts"' in html
    token = _token(html[html.index('id="receipts"'):])
    response = buyer.post(f"/orders/{made.order_id}/receipts", headers=HX,
                          data=_form(made, received=("10", "5"), token=token))
    assert response.status_code == 200 and "received in full" in response.headers["HX-Trigger"]
    assert "Nothing left to receive" not in response.text  # the form is gone: nothing is open
    assert 'data-testid="receipt-form"' not in response.text and "fully received" in response.text
    html = buyer.get(f"/orders/{made.order_id}").text
    assert rows(html, "receipt-row") == 1


def test_orders_list_links_the_open_commitments(world, buyer):
    html = buyer.get("/orders/").text
    assert 'data-testid="commitments-link"' in html and 'href="/orders/commitments"' in html


def test_commitments_page_costs_the_same_queries_for_many_budgets(world, login_as, made):
    from tests.factories import make_cost_center

    client = login_as(world.user("admin@acme"))
    _committed(world, made, "C-0")
    client.get("/orders/commitments")
    with count_queries() as few:
        client.get("/orders/commitments")
    for i in range(1, 6):
        order = make_order(world)
        budget = make_budget(make_cost_center(world.acme, f"C-{i}"), "1000", actor=world.user("admin@acme"))
        with as_system():
            db.session.get(Budget, budget.id).committed = D("10.00")
            db.session.get(PurchaseOrder, order.order_id).budget_id = budget.id
            db.session.commit()
    with count_queries() as many:
        html = client.get("/orders/commitments").text
    assert rows(html, "commitment-row") == 6
    assert len(many) == len(few)


def test_supplier_sees_what_was_received_and_rejected_without_the_buyers_people(world, buyer, login_as, made):
    buyer.post(f"/orders/{made.order_id}/receipts", data=_form(
        made, received=("4", "5"), rejected=("", "2"), reasons=("", "Mokre kartony"), note="WZ 7/2026"))
    html = login_as(world.user("sales@polbud")).get(f"/supplier/orders/{made.order_id}").text
    section = html[html.index('data-testid="supplier-receipts"'):]
    section = section[:section.index("</section>")]
    assert rows(section, "receipt-row") == 1 and "Mokre kartony" in section and "WZ 7/2026" in section
    assert world.user("buyer@acme").full_name not in section and "/receipts/" not in section
    assert 'data-testid="receipt-form"' not in html
