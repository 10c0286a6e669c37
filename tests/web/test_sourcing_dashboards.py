"""The sourcing widgets of the dashboards: the buyer's orders to receive (soonest delivery first,
late ones marked) and RFQs awaiting award; the supplier's RFQs to answer with the time left and
its orders to acknowledge. Only the viewer's own company's documents, counts stop at "99+",
and each widget costs the same number of queries for many rows as for one."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from portal.extensions import db
from portal.models.base import utcnow
from portal.models.order import OrderStatus
from portal.models.rfq import InvitationStatus, Quote, QuoteStatus, Rfq, RfqInvitation, RfqStatus
from portal.services import dashboard
from tests.factories import acting_for
from tests.kit import count_queries, rows
from tests.services.receiving_fixtures import link_to, make_order

_numbers = itertools.count(90001)


@pytest.fixture(autouse=True)
def _english(world):
    """The pages read in English here (the Polish catalogue is merged later)."""
    from tests.conftest import as_system

    with as_system():
        for user in world.users.values():
            user.locale = "en"
        db.session.commit()


def _widget(html: str, testid: str) -> str:
    widget = html[html.index(f'data-testid="{testid}"'):]
    return widget[:widget.index("</section>")]


def make_rfq(world, *, status=RfqStatus.OPEN, deadline_in=timedelta(days=3), title="Papier ksero",
             buyer=None, invite=(), invitation_status=InvitationStatus.INVITED, draft_for=()):
    """An RFQ of `buyer` (Acme) with invitations to `invite` (supplier orgs)."""
    buyer = buyer or world.acme
    creator = world.user("buyer@acme") if buyer is world.acme else world.user("buyer@globex")
    with acting_for(buyer):
        rfq = Rfq(organization_id=buyer.id, number=f"RFQ/2026/{next(_numbers):05d}", title=title,
                  currency="PLN", status=status, deadline=utcnow() + deadline_in,
                  created_by_id=creator.id, published_at=utcnow() - timedelta(days=5))
        db.session.add(rfq)
        db.session.flush()
        for supplier in invite:
            db.session.add(RfqInvitation(organization_id=buyer.id, supplier_id=supplier.id, rfq_id=rfq.id,
                                         link_id=link_to(buyer, supplier).id, status=invitation_status,
                                         rfq_status=status, rfq_deadline=rfq.deadline))
        db.session.flush()
        rfq_id, number = rfq.id, rfq.number
    for supplier in draft_for:
        with acting_for(supplier):
            invitation = db.session.scalars(db.select(RfqInvitation).where(
                RfqInvitation.rfq_id == rfq_id, RfqInvitation.supplier_id == supplier.id)).one()
            db.session.add(Quote(organization_id=buyer.id, supplier_id=supplier.id, rfq_id=rfq_id,
                                 invitation_id=invitation.id, status=QuoteStatus.DRAFT, currency="PLN",
                                 created_by_id=world.user("sales@polbud").id))
            db.session.flush()
    db.session.commit()
    return number


# ---------------------------------------------------------------- the buyer


def test_buyer_orders_to_receive_soonest_first_with_late_ones_marked(world, login_as):
    today = date.today()
    later = make_order(world, delivery_date=today + timedelta(days=10))
    late = make_order(world, delivery_date=today - timedelta(days=2))
    partial = make_order(world, status=OrderStatus.PARTIALLY_RECEIVED, delivery_date=today + timedelta(days=1))
    make_order(world, status=OrderStatus.ISSUED)  # not acknowledged yet: not to receive
    make_order(world, status=OrderStatus.RECEIVED)
    make_order(world, buyer=world.globex, supplier=world.nordwind)  # another company's
    html = login_as(world.user("buyer@acme")).get("/").text
    widget = _widget(html, "to-receive-widget")
    assert rows(widget, "to-receive-row") == 3
    assert widget.index(late.number) < widget.index(partial.number) < widget.index(later.number)
    assert rows(widget, "overdue") == 1 and "Overdue" in widget and "Partly received" in widget
    assert f'href="/orders/{late.order_id}"' in widget


def test_buyer_rfqs_awaiting_award_are_closed_or_past_the_deadline(world, login_as):
    closed = make_rfq(world, status=RfqStatus.CLOSED, deadline_in=-timedelta(days=1), title="Zamknięte")
    expired = make_rfq(world, deadline_in=-timedelta(hours=2), title="Po terminie")
    make_rfq(world, deadline_in=timedelta(days=2), title="Otwarte")
    make_rfq(world, status=RfqStatus.AWARDED, deadline_in=-timedelta(days=3), title="Przyznane")
    make_rfq(world, status=RfqStatus.CLOSED, buyer=world.globex, title="Globex")
    widget = _widget(login_as(world.user("buyer@acme")).get("/").text, "awaiting-award-widget")
    assert rows(widget, "awaiting-award-row") == 2
    assert widget.index(closed) < widget.index(expired)  # longest waiting first
    assert "Otwarte" not in widget and "Przyznane" not in widget and "Globex" not in widget
    assert "/compare" in widget
    assert 'href="/rfqs/?view=awaiting_award"' in widget


def test_buyer_widgets_are_for_buyers_and_admins_only(world, login_as):
    make_order(world)
    assert 'data-testid="to-receive-widget"' in login_as(world.user("admin@acme")).get("/").text
    html = login_as(world.user("approver@acme")).get("/").text
    assert 'data-testid="to-receive-widget"' not in html
    assert 'data-testid="awaiting-award-widget"' not in html


def test_buyer_empty_widgets_explain_what_will_appear(world, login_as):
    html = login_as(world.user("buyer@acme")).get("/").text
    assert "Nothing to receive" in _widget(html, "to-receive-widget")
    assert "No RFQ waits for an award" in _widget(html, "awaiting-award-widget")


# ---------------------------------------------------------------- the supplier


def test_supplier_rfqs_to_answer_soonest_deadline_first_with_time_left(world, login_as):
    polbud = world.polbud
    soon = make_rfq(world, invite=[polbud], deadline_in=timedelta(hours=20), title="Pilne")
    later = make_rfq(world, invite=[polbud], deadline_in=timedelta(days=6), title="Spokojnie",
                     draft_for=[polbud])
    make_rfq(world, invite=[polbud], deadline_in=-timedelta(hours=1), title="Po terminie")
    make_rfq(world, invite=[polbud], invitation_status=InvitationStatus.QUOTED, title="Wyceniona")
    make_rfq(world, invite=[polbud], invitation_status=InvitationStatus.DECLINED, title="Odrzucona")
    make_rfq(world, invite=[world.nordwind], title="Nie dla Polbudu")
    widget = _widget(login_as(world.user("sales@polbud")).get("/").text, "to-answer-widget")
    assert rows(widget, "to-answer-row") == 2
    assert widget.index(soon) < widget.index(later)
    assert "20 hours left" in widget and "6 days left" in widget and "draft saved" in widget
    assert "Acme Manufacturing" in widget and 'href="/supplier/rfqs?tab=to_answer"' in widget
    for hidden in ("Po terminie", "Wyceniona", "Odrzucona", "Nie dla Polbudu"):
        assert hidden not in widget


def test_supplier_orders_to_acknowledge_oldest_first(world, login_as):
    first = make_order(world, status=OrderStatus.ISSUED)
    second = make_order(world, status=OrderStatus.ISSUED)
    make_order(world)  # acknowledged already
    make_order(world, status=OrderStatus.ISSUED, supplier=world.nordwind)
    widget = _widget(login_as(world.user("sales@polbud")).get("/").text, "to-acknowledge-widget")
    assert rows(widget, "to-acknowledge-row") == 2
    assert widget.index(first.number) < widget.index(second.number)
    assert "Acme Manufacturing" in widget


def test_supplier_empty_widgets_explain_what_will_appear(world, login_as):
    html = login_as(world.user("sales@nordwind")).get("/").text
    assert "No requests waiting for your quote" in _widget(html, "to-answer-widget")
    assert "No orders to acknowledge" in _widget(html, "to-acknowledge-widget")


# ---------------------------------------------------------------- bounds


def test_sourcing_counts_stop_at_the_cap(world, login_as, monkeypatch):
    import portal.services.dashboard_sourcing as widgets

    monkeypatch.setattr(widgets, "COUNT_CAP", 2)
    for _ in range(dashboard.RECENT + 1):  # a full widget is counted
        make_order(world)
        make_order(world, status=OrderStatus.ISSUED)
    buyer = _widget(login_as(world.user("buyer@acme")).get("/").text, "to-receive-widget")
    assert "2+" in buyer and rows(buyer, "to-receive-row") == dashboard.RECENT
    supplier = _widget(login_as(world.user("sales@polbud")).get("/").text, "to-acknowledge-widget")
    assert "2+" in supplier


def _fill(world, n: int, start: int = 0) -> None:
    """n more of everything the sourcing widgets list, for the buyer and the supplier."""
    for i in range(start, start + n):
        make_order(world, delivery_date=date.today() - timedelta(days=i))
        make_order(world, status=OrderStatus.PARTIALLY_RECEIVED)
        make_order(world, status=OrderStatus.ISSUED)
        make_rfq(world, status=RfqStatus.CLOSED, deadline_in=-timedelta(days=i + 1), invite=[world.polbud])
        make_rfq(world, invite=[world.polbud], deadline_in=timedelta(days=i + 1), draft_for=[world.polbud])


@pytest.mark.parametrize("who", ["buyer@acme", "sales@polbud"])
@pytest.mark.usefixtures("uncached_lists")
def test_sourcing_widgets_cost_the_same_queries_for_many_documents(world, login_as, who):
    _fill(world, dashboard.RECENT)  # every widget full: its count is read too
    client = login_as(world.user(who))
    client.get("/")
    with count_queries() as few:
        client.get("/")
    _fill(world, 3 * dashboard.RECENT, start=dashboard.RECENT)
    with count_queries() as many:
        html = client.get("/").text
    if who == "buyer@acme":
        assert rows(html, "to-receive-row") == dashboard.RECENT
        assert rows(html, "awaiting-award-row") == dashboard.RECENT
    else:
        assert rows(html, "to-answer-row") == dashboard.RECENT
        assert rows(html, "to-acknowledge-row") == dashboard.RECENT
    assert len(many) == len(few)


def test_sourcing_widgets_add_at_most_three_statements(world, login_as):
    """Rows of each widget, and one statement for the counts of the full ones."""
    _fill(world, dashboard.RECENT)
    for who, sections in (("buyer@acme", "sourcing"), ("sales@polbud", "supplier_sourcing")):
        client = login_as(world.user(who))
        client.get("/")
        with count_queries() as statements:
            client.get("/")
        from unittest import mock

        with mock.patch.object(dashboard, "widgets_for",
                               side_effect=lambda actor, real=dashboard.widgets_for, s=sections:
                               [x for x in real(actor) if x != s]), count_queries() as without:
            client.get("/")
        assert len(statements) - len(without) <= 3, who


def test_buyer_to_receive_merges_the_first_rows_of_each_status(world, login_as):
    """Dated orders of both statuses by delivery date, then the undated ones, however many."""
    today = date.today()
    for i in range(dashboard.RECENT):
        make_order(world, delivery_date=today + timedelta(days=20 + i))
        make_order(world)  # no delivery date: last
    soon = make_order(world, status=OrderStatus.PARTIALLY_RECEIVED, delivery_date=today + timedelta(days=1))
    sooner = make_order(world, delivery_date=today)
    widget = _widget(login_as(world.user("buyer@acme")).get("/").text, "to-receive-widget")
    assert rows(widget, "to-receive-row") == dashboard.RECENT
    assert widget.index(sooner.number) < widget.index(soon.number)


def test_buyer_widgets_sort_only_the_first_rows_of_each_index_range(world, login_as):
    """The rows of a widget spread over several index ranges (statuses; dated or not; closed or
    expired) are each range's first rows, merged: the sort never covers the company's history."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("reads SQLite's query plans")
    from sqlalchemy import event

    _fill(world, 2)
    client = login_as(world.user("buyer@acme"))
    sent = []

    def before(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        client.get("/")
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    checked = 0
    for table in ("purchase_orders", "rfqs"):
        for statement, parameters in sent:
            if not statement.startswith(f"SELECT {table}.id, {table}.number"):
                continue
            with db.engine.connect() as conn:
                plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            # The rows are read by id from the merged first ids; every range walks its index.
            assert plan[0].startswith(f"SEARCH {table} USING") and "rowid=?" in plan[0], plan
            ranges = [step for step in plan if step.startswith(f"SEARCH {table} USING COVERING INDEX")]
            assert len(ranges) >= 2 and not any(step.startswith(f"SCAN {table}") for step in plan), plan
            checked += 1
    assert checked == 2
