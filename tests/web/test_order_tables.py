"""One table of orders for both parties (templates/orders/_macros.html `orders_table`): the
buyer's list names the supplier and marks a proposed delivery date; the supplier's names the
customer; both link each number to their own order page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.extensions import db
from portal.services.orders import actions
from tests.conftest import as_org, as_system
from tests.web.test_orders import TOMORROW, issue, load


@pytest.fixture(autouse=True)
def _english(world):
    from sqlalchemy import update

    from portal.models import User
    with as_system():
        db.session.execute(update(User).values(locale="en"))
        db.session.commit()


def _rows(html: str) -> list[str]:
    return [part.split("</tr>", 1)[0] for part in html.split('data-testid="order-row"')[1:]]


def test_both_parties_read_one_table_with_their_own_column_and_links(world, login_as):
    order_id = issue(world)
    with as_org(world.polbud):
        actions.propose_date(load(order_id), world.user("sales@polbud"), delivery_date=TOMORROW + timedelta(days=7),
                             note="Later")
        db.session.commit()
    number = load(order_id).number
    buyer = login_as(world.user("buyer@acme")).get("/orders/").text
    [row] = _rows(buyer)
    assert f'href="/orders/{order_id}"' in row and number in row and "Polbud" in row
    assert "New date proposed" in row and ">Supplier</th>" in buyer
    seller = login_as(world.user("sales@polbud")).get("/supplier/orders?view=all").text
    [row] = _rows(seller)
    assert f'href="/supplier/orders/{order_id}"' in row and number in row and "Acme" in row
    assert "New date proposed" not in row and ">Customer</th>" in seller
    assert 'data-testid="supplier-orders"' in seller
