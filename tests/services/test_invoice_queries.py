"""The invoice lists' read side (portal/services/invoicing/queries.py): what each tab holds on
either side, drafts hidden from the buyer, other companies' invoices never read, keyset pages,
capped tab counts, CSV rows, an order's invoices, one invoice's facts; statements sent per page
constant in N; on SQLite every list statement walks an `ix_invoices_*` index, never the table,
never a sort."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from portal.extensions import db
from portal.models.invoice import InvoiceKind, InvoiceStatus, MatchStatus
from portal.services.invoicing import queries
from portal.services.paging import BadCursor
from tests.factories import acting_for
from tests.services.invoice_rows import TODAY, add_invoice, bulk

S = InvoiceStatus
D = Decimal


@pytest.fixture
def sample(world):
    """Acme's invoices from Polbud and Nordwind in every state, Globex's one from Nordwind."""
    acme, polbud, nordwind = world.acme, world.polbud, world.nordwind
    made = {
        "draft": add_invoice(acme, polbud, status=S.DRAFT),
        "issued": add_invoice(acme, polbud, status=S.ISSUED, due=TODAY + timedelta(days=5)),
        "mismatched": add_invoice(acme, nordwind, status=S.ISSUED, match=MatchStatus.MISMATCHED,
                                  due=TODAY + timedelta(days=9)),
        "disputed": add_invoice(acme, polbud, status=S.DISPUTED, due=TODAY + timedelta(days=3)),
        "approved": add_invoice(acme, nordwind, status=S.APPROVED, due=TODAY + timedelta(days=1)),
        "partly": add_invoice(acme, polbud, status=S.PARTIALLY_PAID, paid="20.00",
                              due=TODAY - timedelta(days=40)),
        "late": add_invoice(acme, nordwind, status=S.ISSUED, due=TODAY - timedelta(days=2)),
        "due_today": add_invoice(acme, polbud, status=S.APPROVED, due=TODAY),
        "paid": add_invoice(acme, polbud, status=S.PAID, paid="123.00", due=TODAY - timedelta(days=50)),
        "credited": add_invoice(acme, nordwind, status=S.CREDITED, credited="123.00",
                                due=TODAY - timedelta(days=60)),
        "globex": add_invoice(world.globex, nordwind, status=S.ISSUED, due=TODAY - timedelta(days=9)),
    }
    made["note"] = add_invoice(acme, nordwind, status=S.ISSUED, kind=InvoiceKind.CREDIT_NOTE,
                               corrects=made["credited"], gross="123.00", due=None)
    return {key: inv.id for key, inv in made.items()}


def _ids(page) -> list[int]:
    return [inv.id for inv in page.items]


def _buyer(world, **kwargs) -> list[int]:
    with acting_for(world.acme):
        return _ids(queries.buyer_invoice_page(today=TODAY, **kwargs))


def _supplier(world, org, **kwargs) -> list[int]:
    with acting_for(org):
        return _ids(queries.supplier_invoice_page(today=TODAY, **kwargs))


def test_tabs_are_the_contracts(world):
    assert [k for k, _ in queries.BUYER_TABS] == ["to_approve", "mismatched", "disputed", "approved",
                                                  "overdue", "paid", "all"]
    assert [k for k, _ in queries.SUPPLIER_TABS] == ["drafts", "issued", "disputed", "approved", "overdue",
                                                     "paid", "credit_notes", "all"]


def test_each_buyer_tab_holds_its_invoices_newest_first(world, sample):
    s = sample
    assert _buyer(world, tab="to_approve") == [s["late"], s["issued"]]
    assert _buyer(world, tab="mismatched") == [s["mismatched"]]
    assert _buyer(world, tab="disputed") == [s["disputed"]]
    assert _buyer(world, tab="approved") == [s["due_today"], s["partly"], s["approved"]]
    assert _buyer(world, tab="paid") == [s["credited"], s["paid"]]
    # Overdue is derived (open, due before today): the longest overdue first; due today is not.
    assert _buyer(world, tab="overdue") == [s["partly"], s["late"]]
    everything = _buyer(world, tab="all")
    assert s["draft"] not in everything and s["globex"] not in everything
    assert set(everything) == {v for k, v in s.items() if k not in ("draft", "globex")}
    assert everything == sorted(everything, reverse=True)  # created in id order in the sample


def test_an_unknown_tab_reads_the_first(world, sample):
    assert _buyer(world, tab="nonsense") == _buyer(world, tab="to_approve")
    assert _supplier(world, world.polbud, tab="nonsense") == [sample["draft"]]


def test_the_buyer_filters_by_supplier_and_searches_numbers(world, sample):
    s = sample
    mine = _buyer(world, tab="all", supplier_id=world.nordwind.id)
    assert set(mine) == {s["mismatched"], s["approved"], s["late"], s["credited"], s["note"]}
    # Filtered by a supplier, "all" reads by due date, latest first, then those without one.
    assert mine == [s["mismatched"], s["approved"], s["late"], s["credited"], s["note"]]
    assert _buyer(world, tab="to_approve", supplier_id=world.polbud.id) == [s["issued"]]
    assert _buyer(world, tab="overdue", supplier_id=world.polbud.id) == [s["partly"]]
    with acting_for(world.acme):
        number = queries.buyer_invoice_page(tab="all", today=TODAY).items[-1].number
    assert _buyer(world, tab="all", search=number[-6:]) == [s["issued"]] or number
    assert _buyer(world, tab="all", search="no such %_") == []


def test_the_supplier_reads_its_own_invoices_and_drafts(world, sample):
    s = sample
    assert _supplier(world, world.polbud, tab="drafts") == [s["draft"]]
    assert _supplier(world, world.polbud, tab="issued") == [s["issued"]]
    assert _supplier(world, world.nordwind, tab="issued") == [s["globex"], s["late"], s["mismatched"]]
    assert _supplier(world, world.nordwind, tab="credit_notes") == [s["note"]]
    assert _supplier(world, world.nordwind, tab="overdue") == [s["globex"], s["late"]]
    assert _supplier(world, world.nordwind, tab="overdue", buyer_id=world.acme.id) == [s["late"]]
    polbud_all = _supplier(world, world.polbud, tab="all")
    assert set(polbud_all) == {s[k] for k in ("draft", "issued", "disputed", "partly", "due_today", "paid")}
    assert _supplier(world, world.nordwind, tab="all", buyer_id=world.globex.id) == [s["globex"]]


def test_nobody_reads_another_companys_invoices(world, sample):
    with acting_for(world.globex):
        assert _ids(queries.buyer_invoice_page(tab="all", today=TODAY)) == [sample["globex"]]
        # A supplier filter naming another company's supplier changes nothing of that.
        assert _ids(queries.buyer_invoice_page(tab="all", supplier_id=world.polbud.id, today=TODAY)) == []
    # Polbud never sees Nordwind's, nor Acme's invoices from Nordwind through the buyer's list.
    with acting_for(world.polbud):
        assert sample["late"] not in _ids(queries.supplier_invoice_page(tab="all", today=TODAY))
        assert _ids(queries.buyer_invoice_page(tab="all", today=TODAY)) == []


def test_pages_walk_by_cursor_without_gaps_or_repeats(world):
    bulk(world.acme, world.polbud, 40)
    for tab in ("all", "to_approve", "approved", "overdue", "paid"):
        with acting_for(world.acme):
            whole = _ids(queries.buyer_invoice_page(tab=tab, per_page=100, today=TODAY))
            seen, cursor = [], None
            while True:
                page = queries.buyer_invoice_page(tab=tab, per_page=3, cursor=cursor, today=TODAY)
                seen += _ids(page)
                if page.next is None:
                    break
                cursor = page.next
            assert seen == whole, tab
            back = queries.buyer_invoice_page(tab=tab, per_page=3, cursor=page.prev, today=TODAY) \
                if page.prev else None
            if back is not None:
                assert _ids(back) == whole[-len(_ids(page)) - 3:-len(_ids(page))], tab
    with acting_for(world.acme), pytest.raises(BadCursor):
        queries.buyer_invoice_page(tab="all", cursor="bm90IGEgY3Vyc29y")


def test_tab_counts_are_capped_and_agree_with_the_tabs(world, sample):
    with acting_for(world.acme):
        counts = queries.buyer_tab_counts(today=TODAY)
        for key, _label in queries.BUYER_TABS:
            assert counts[key].value == len(queries.buyer_invoice_page(tab=key, today=TODAY).items), key
            assert not counts[key].more
        assert queries.buyer_tab_counts(supplier_id=world.nordwind.id, today=TODAY)["to_approve"].value == 1
    with acting_for(world.nordwind):
        counts = queries.supplier_tab_counts(today=TODAY)
        assert counts["credit_notes"].value == 1 and counts["issued"].value == 3
        assert counts["drafts"].value == 0
    bulk(world.acme, world.polbud, 40)
    with acting_for(world.acme):
        capped = queries.buyer_tab_counts(today=TODAY, cap=4)
    assert capped["all"].value == 4 and capped["all"].more and str(capped["all"]) == "4+"


def test_tab_counts_are_one_statement(world, sample):
    with acting_for(world.acme), _statements() as sent:
        queries.buyer_tab_counts(today=TODAY)
    assert len(sent) == 1


def test_export_rows_reads_every_row_of_the_view(world):
    bulk(world.acme, world.polbud, 30)
    with acting_for(world.acme):
        whole = _ids(queries.buyer_invoice_page(tab="all", per_page=100, today=TODAY))
        assert [inv.id for inv in queries.export_rows("buyer", tab="all", chunk=7, today=TODAY)] == whole
        one = list(queries.export_rows("buyer", tab="overdue", supplier_id=world.polbud.id, today=TODAY))
        assert one and all(inv.due_date < TODAY for inv in one)
    with acting_for(world.polbud):
        drafts = list(queries.export_rows("supplier", tab="drafts", chunk=2, today=TODAY))
        assert drafts and all(inv.status == S.DRAFT for inv in drafts)


def test_an_orders_invoices_and_one_invoices_facts(world):
    from tests.services.receiving_fixtures import make_order

    made = make_order(world, lines=(("Papier", "10", "20.00"),), supplier=world.polbud)
    from portal.models.order import PurchaseOrder, PurchaseOrderLine
    from portal.tenancy import system

    with system(db.session):
        line = db.session.get(PurchaseOrderLine, made.line_ids[0])
        line.received_quantity = D(8)
        db.session.commit()
    first = add_invoice(world.acme, world.polbud, status=S.APPROVED, order_line=line)
    second = add_invoice(world.acme, world.polbud, status=S.ISSUED, order_line=line)
    draft = add_invoice(world.acme, world.polbud, status=S.DRAFT, order_line=line)
    note = add_invoice(world.acme, world.polbud, status=S.ISSUED, kind=InvoiceKind.CREDIT_NOTE,
                       corrects=first)
    with acting_for(world.acme):
        order = db.session.get(PurchaseOrder, made.order_id)
        assert [i.id for i in queries.order_invoices(order)] == [second.id, first.id]
        facts = queries.invoice_detail(db.session.get(type(second), second.id), today=TODAY)
        assert facts["lines"][0].received == D(8)
        # The other issued invoice's 1 unit less its credit note's 1: nothing invoiced elsewhere.
        assert facts["lines"][0].invoiced_elsewhere == D(0)
        assert [o.id for o in facts["orders"]] == [order.id]
        first_facts = queries.invoice_detail(db.session.get(type(first), first.id), today=TODAY)
        assert [n.id for n in first_facts["credit_notes"]] == [note.id]
        assert first_facts["lines"][0].invoiced_elsewhere == D(1)  # the issued second
    with acting_for(world.polbud):
        order = db.session.get(PurchaseOrder, made.order_id)
        assert draft.id in [i.id for i in queries.order_invoices(order)]


def test_overdue_is_judged_in_the_readers_day(world, sample):
    with acting_for(world.acme):
        late = queries.invoice_detail(
            db.session.get(type_of_invoice(), sample["late"]), today=TODAY)
        assert late["overdue"] and late["days_overdue"] == 2
        due_today = queries.invoice_detail(db.session.get(type_of_invoice(), sample["due_today"]),
                                           today=TODAY)
        assert not due_today["overdue"]


def type_of_invoice():
    from portal.models.invoice import Invoice

    return Invoice


# ---------------------------------------------------------------- statements and plans


class _statements:
    def __enter__(self):
        self.sent = []
        event.listen(db.engine, "before_cursor_execute", self._before)
        return self.sent

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            self.sent.append((statement, parameters))

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._before)


VIEWS = [
    ("buyer", {"tab": t}) for t, _ in queries.BUYER_TABS
] + [
    ("buyer", {"tab": "all", "supplier_id": "polbud"}),
    ("buyer", {"tab": "to_approve", "supplier_id": "polbud"}),
    ("buyer", {"tab": "overdue", "supplier_id": "polbud"}),
    ("buyer", {"tab": "all", "search": "FV/2026"}),
] + [("supplier", {"tab": t}) for t, _ in queries.SUPPLIER_TABS] + [
    ("supplier", {"tab": "all", "buyer_id": "acme"}),
    ("supplier", {"tab": "issued", "buyer_id": "acme"}),
]


def _run(world, side, args, *, deep: bool):
    args = {k: (getattr(world, v).id if k in ("supplier_id", "buyer_id") else v) for k, v in args.items()}
    org = world.acme if side == "buyer" else world.polbud
    page_of = queries.buyer_invoice_page if side == "buyer" else queries.supplier_invoice_page
    with acting_for(org):
        db.session.expire_all()
        page = page_of(per_page=5, today=TODAY, **args)
        if deep and page.next:
            page = page_of(per_page=5, today=TODAY, cursor=page.next, **args)
        with _statements() as sent:
            db.session.expire_all()
            page_of(per_page=5, today=TODAY, cursor=page.next if deep else None, **args)
    return sent


def test_statements_per_page_do_not_grow_with_the_rows(world):
    bulk(world.acme, world.polbud, 24)
    small = {(side, str(args), deep): len(_run(world, side, args, deep=deep))
             for side, args in VIEWS for deep in (False, True)}
    bulk(world.acme, world.polbud, 72, start=24)
    large = {(side, str(args), deep): len(_run(world, side, args, deep=deep))
             for side, args in VIEWS for deep in (False, True)}
    for key, count in large.items():
        assert count <= 6, key
        # A list that fit on one page at first may need its bounded count later: +1 at most.
        assert count <= small[key] + 1, key


INDEXES = ("ix_invoices_org_created", "ix_invoices_org_status_created", "ix_invoices_org_status_due",
           "ix_invoices_org_supplier_due", "ix_invoices_supplier_created",
           "ix_invoices_supplier_status_created", "ix_invoices_supplier_status_due",
           "ix_invoices_supplier_org_due", "ix_invoices_org_status_aging", "ix_invoices_supplier_status_aging")


def _plan(statement, parameters) -> str:
    with db.engine.connect() as conn:
        return " | ".join(row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                                   parameters))


def test_every_list_statement_walks_an_invoice_index(world):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    bulk(world.acme, world.polbud, 120)
    bulk(world.acme, world.nordwind, 40, start=120)
    checked = 0
    for side, args in VIEWS:
        for deep in (False, True):
            for statement, parameters in _run(world, side, args, deep=deep):
                if "FROM invoices" not in statement:
                    continue
                text = _plan(statement, parameters)
                # The bounded count (cap + 1 ids) may walk any index of the company's invoices.
                allowed = INDEXES + (("ix_invoices_organization_id", "ix_invoices_supplier_id",
                                      "ix_invoices_org_supplier_issued", "ix_invoices_supplier_org_issued")
                                     if "count(*)" in statement else ())
                assert any(name in text for name in allowed), f"{side} {args}: {text}"
                assert "TEMP B-TREE" not in text, f"{side} {args}: {text}"
                assert "SCAN invoices" not in text.replace("SCAN invoices USING", ""), f"{side} {args}: {text}"
                checked += 1
    assert checked >= 2 * len(VIEWS)
    # The tab counts: every part an index range.
    with acting_for(world.acme), _statements() as sent:
        queries.buyer_tab_counts(today=TODAY, supplier_id=world.polbud.id)
        queries.buyer_tab_counts(today=TODAY)
    with acting_for(world.polbud), _statements() as more:
        queries.supplier_tab_counts(today=TODAY)
    for statement, parameters in sent + more:
        text = _plan(statement, parameters).replace("USE TEMP B-TREE FOR GROUP BY", "")
        assert "SCAN invoices" not in text.replace("SCAN invoices USING", ""), text
        assert "TEMP B-TREE" not in text, text
