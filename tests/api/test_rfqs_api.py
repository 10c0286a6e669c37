"""The API's RFQs and quotes: both sides' reads, the sealed-bid rules (the buyer reads no price
before the opening; a supplier never reads another supplier), submitting and revising a quote
until the deadline, and the usual refusals (another organisation's id, the wrong side, a token
without the scope, bad input, a retried POST)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Quote, QuoteRevision, Rfq
from portal.services import clock
from portal.tenancy import system
from tests.services.sourcing_fixtures import AFTER, BEFORE, open_sealed, published_rfq

BUYER, SALES_NW, SALES_PB = "buyer@acme.example", "sales@nordwind.example", "sales@polbud.example"
VALID = "2026-12-31"


@pytest.fixture
def moment(monkeypatch):
    """The business clock, before the deadline unless a test moves it."""
    now = {"at": BEFORE}
    monkeypatch.setattr(clock, "now", lambda: now["at"])
    return now


def rfq_lines(rfq_id: int) -> list[int]:
    with system(db.session):
        return [line.id for line in db.session.get(Rfq, rfq_id).lines]


def quote_body(line_ids, prices=("12.50", "80", "3.2")) -> dict:
    return {"supplier_reference": "OF/2026/77", "valid_until": VALID, "freight": "150.00",
            "notes": "Dostawa 5 dni.",
            "lines": [{"rfq_line_id": line_id, "unit_price": price, "lead_time_days": 5}
                      for line_id, price in zip(line_ids, prices, strict=False)]}


def count(model, *where) -> int:
    with system(db.session):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


# ---------------------------------------------------------------- reads


def test_the_buyer_lists_and_reads_its_rfqs_with_the_invited_suppliers(api, world, moment):
    rfq_id = published_rfq(world)
    draft_id = published_rfq(world, publish=False, title="Szkic")
    buyer = api(BUYER)
    page = buyer.get("/rfqs", status=200)
    assert {row["id"] for row in page["data"]} == {rfq_id, draft_id}
    assert page["next_cursor"] is None
    assert [r["id"] for r in buyer.get("/rfqs?status=open", status=200)["data"]] == [rfq_id]
    assert [r["id"] for r in buyer.get("/rfqs?status=draft", status=200)["data"]] == [draft_id]

    one = buyer.get(f"/rfqs/{rfq_id}", status=200)
    assert one["status"] == "open" and one["sealed"] is True and one["accepting_quotes"] is True
    assert one["deadline"].startswith("2026-12-08")
    assert [line["quantity"] for line in one["lines"]] == ["100.000", "4.000", "12.500"]
    assert {s["supplier"]["name"] for s in one["suppliers"]} == {world.nordwind.name, world.polbud.name}
    assert "invitation" not in one
    # Approvers read RFQs too (the page's rule).
    api("approver@acme.example").get(f"/rfqs/{rfq_id}", status=200)


def test_the_supplier_lists_only_published_rfqs_it_is_invited_to_and_sees_no_other_supplier(
        api, world, moment):
    both = published_rfq(world)
    only_nordwind = published_rfq(world, suppliers=("nordwind",), title="Tylko Nordwind")
    published_rfq(world, publish=False, title="Szkic")  # a draft: invisible to suppliers
    polbud = api(SALES_PB)
    assert [r["id"] for r in polbud.get("/rfqs", status=200)["data"]] == [both]
    nordwind = api(SALES_NW)
    rows = nordwind.get("/rfqs", status=200)["data"]
    assert {r["id"] for r in rows} == {both, only_nordwind}
    assert all(r["invitation"]["status"] == "invited" and r["buyer"]["name"] == world.acme.name
               for r in rows)
    assert nordwind.get("/rfqs?status=closed", status=200)["data"] == []

    seen = nordwind.get(f"/rfqs/{both}", status=200)
    assert "suppliers" not in seen
    assert all("requisition_line_id" not in line for line in seen["lines"])
    text = json.dumps(seen)
    assert world.polbud.name not in text and world.polbud.tax_id not in text
    # Uninvited: a 404, exactly like an id that does not exist.
    polbud.get(f"/rfqs/{only_nordwind}", status=404)
    polbud.get(f"/rfqs/{only_nordwind}/quotes", status=404)
    polbud.get("/rfqs/999999", status=404)


def test_another_buyers_rfq_is_a_404_and_a_token_without_the_scope_a_403(api, world, moment):
    rfq_id = published_rfq(world)
    globex = api("buyer@globex.example")
    globex.get(f"/rfqs/{rfq_id}", status=404)
    globex.get(f"/rfqs/{rfq_id}/quotes", status=404)
    assert globex.get("/rfqs", status=200)["data"] == []
    narrow = api(BUYER, scopes=["invoices:read"])
    problem = narrow.get("/rfqs", status=403)
    assert "orders:read" in problem["detail"]
    narrow.get(f"/rfqs/{rfq_id}", status=403)
    api(SALES_NW, scopes=["orders:read"]).post(
        f"/rfqs/{rfq_id}/quote", quote_body(rfq_lines(rfq_id)), status=403)


def test_bad_list_filters_are_422_naming_the_field(api, world):
    buyer = api(BUYER)
    problem = buyer.get("/rfqs?status=nonsense", status=422)
    assert problem["errors"][0]["field"] == "status"
    assert buyer.get("/rfqs?limit=0", status=422)["errors"][0]["field"] == "limit"


# ---------------------------------------------------------------- the sealed-bid rules


def test_sealed_quotes_stay_closed_to_the_buyer_until_opened(api, world, moment):
    rfq_id = published_rfq(world)
    lines = rfq_lines(rfq_id)
    made = api(SALES_NW).post(f"/rfqs/{rfq_id}/quote", quote_body(lines), status=201)
    assert made["status"] == "submitted" and made["revision"] == 1
    assert made["net_total"] == "1760.00"  # 1250 + 320 + 40 + freight 150
    api(SALES_PB).post(f"/rfqs/{rfq_id}/quote", quote_body(lines, ("11.00", "90", "3")), status=201)

    buyer = api(BUYER)
    sealed = buyer.get(f"/rfqs/{rfq_id}/quotes", status=200)
    assert sealed["prices_visible"] is False and sealed["data"] == []
    assert {r["status"] for r in sealed["responses"]} == {"quoted"}
    text = json.dumps(sealed)
    assert "12.50" not in text and "1760" not in text and "OF/2026/77" not in text
    problem = buyer.get(f"/quotes/{made['id']}", status=403)
    assert "sealed" in problem["type"]

    moment["at"] = AFTER
    open_sealed(world, rfq_id)
    opened = buyer.get(f"/rfqs/{rfq_id}/quotes", status=200)
    assert opened["prices_visible"] is True
    prices = {q["supplier"]["name"]: q["lines"][0]["unit_price"] for q in opened["data"]}
    assert prices == {world.nordwind.name: "12.5000", world.polbud.name: "11.0000"}
    assert buyer.get(f"/quotes/{made['id']}", status=200)["supplier_reference"] == "OF/2026/77"


def test_a_supplier_reads_only_its_own_quote(api, world, moment):
    rfq_id = published_rfq(world, sealed=False)
    lines = rfq_lines(rfq_id)
    mine = api(SALES_NW).post(f"/rfqs/{rfq_id}/quote", quote_body(lines), status=201)
    theirs = api(SALES_PB).post(f"/rfqs/{rfq_id}/quote", quote_body(lines, ("9", "9", "9")), status=201)
    nordwind = api(SALES_NW)
    own = nordwind.get(f"/rfqs/{rfq_id}/quotes", status=200)
    assert [q["id"] for q in own["data"]] == [mine["id"]] and "responses" not in own
    assert world.polbud.name not in json.dumps(own)
    nordwind.get(f"/quotes/{theirs['id']}", status=404)
    assert nordwind.get(f"/quotes/{mine['id']}", status=200)["id"] == mine["id"]
    assert nordwind.get(f"/rfqs/{rfq_id}", status=200)["invitation"]["quote_id"] == mine["id"]
    # Unsealed: the buyer reads both at once; another buyer neither.
    assert len(api(BUYER).get(f"/rfqs/{rfq_id}/quotes", status=200)["data"]) == 2
    api("buyer@globex.example").get(f"/quotes/{mine['id']}", status=404)


def test_the_buyer_never_reads_a_draft_quote(api, world, moment):
    from portal.services.sourcing import quotes
    from tests.factories import acting_for

    rfq_id = published_rfq(world, sealed=False)
    supplier = world.users[SALES_NW]
    with acting_for(world.nordwind):
        invitation = quotes.invitation_for(rfq_id, supplier_id=world.nordwind.id)
        draft = quotes.start_quote(invitation, supplier, now=BEFORE)
        db.session.commit()
        draft_id = draft.id
    api(BUYER).get(f"/quotes/{draft_id}", status=404)
    assert api(BUYER).get(f"/rfqs/{rfq_id}/quotes", status=200)["data"] == []
    assert api(SALES_NW).get(f"/quotes/{draft_id}", status=200)["status"] == "draft"


# ---------------------------------------------------------------- submitting


def test_a_revision_replaces_the_quote_and_is_kept(api, world, moment):
    rfq_id = published_rfq(world, sealed=False, allow_partial=True)
    lines = rfq_lines(rfq_id)
    nordwind = api(SALES_NW)
    first = nordwind.post(f"/rfqs/{rfq_id}/quote", quote_body(lines), status=201)
    assert nordwind.last.headers["Location"].endswith(f"/api/v1/quotes/{first['id']}")
    body = quote_body(lines[:2], ("12.00", "79.99"))
    body["lines"][0].update(delivery_date="2026-12-20", alternative="6204-ZZ", note="Zamiennik")
    second = nordwind.post(f"/rfqs/{rfq_id}/quote", body, status=201)
    assert second["id"] == first["id"] and second["revision"] == 2 and second["partial"] is True
    by_line = {line["rfq_line_id"]: line for line in second["lines"]}
    assert by_line[lines[0]]["unit_price"] == "12.0000"
    assert by_line[lines[0]]["delivery_date"] == "2026-12-20"
    assert by_line[lines[2]]["unit_price"] is None  # not listed: not quoted
    assert count(QuoteRevision, QuoteRevision.quote_id == first["id"]) == 2


def test_a_retried_submission_makes_one_revision(api, world, moment):
    rfq_id = published_rfq(world)
    body = quote_body(rfq_lines(rfq_id))
    nordwind = api(SALES_NW)
    first = nordwind.post(f"/rfqs/{rfq_id}/quote", body, key="quote-once", status=201)
    again = nordwind.post(f"/rfqs/{rfq_id}/quote", body, key="quote-once", status=201)
    assert nordwind.last.headers["Idempotent-Replayed"] == "true"
    assert again == first
    assert count(QuoteRevision, QuoteRevision.quote_id == first["id"]) == 1
    body["notes"] = "Inna treść"
    problem = nordwind.post(f"/rfqs/{rfq_id}/quote", body, key="quote-once", status=422)
    assert problem["errors"][0]["field"] == "Idempotency-Key"


def test_after_the_deadline_a_quote_is_a_409_and_nothing_is_saved(api, world, moment):
    rfq_id = published_rfq(world)
    moment["at"] = AFTER
    problem = api(SALES_NW).post(f"/rfqs/{rfq_id}/quote", quote_body(rfq_lines(rfq_id)), status=409)
    assert "deadline" in problem["detail"].lower() or "termin" in problem["detail"].lower()
    assert count(Quote, Quote.rfq_id == rfq_id) == 0


def test_the_buyer_and_an_uninvited_supplier_cannot_quote(api, world, moment):
    rfq_id = published_rfq(world, suppliers=("nordwind",))
    body = quote_body(rfq_lines(rfq_id))
    api(BUYER).post(f"/rfqs/{rfq_id}/quote", body, status=403)
    api(SALES_PB).post(f"/rfqs/{rfq_id}/quote", body, status=404)
    assert count(Quote, Quote.rfq_id == rfq_id) == 0


def test_a_blocked_supplier_reads_its_rfq_but_cannot_quote(api, world, moment):
    from portal.models.org import LinkStatus
    from tests.services.sourcing_fixtures import link_of

    rfq_id = published_rfq(world)
    with system(db.session):
        link_of(world.acme, world.polbud).status = LinkStatus.BLOCKED
        db.session.commit()
    polbud = api(SALES_PB)
    assert polbud.get(f"/rfqs/{rfq_id}", status=200)["id"] == rfq_id
    polbud.post(f"/rfqs/{rfq_id}/quote", quote_body(rfq_lines(rfq_id)), status=409)
    assert count(Quote, Quote.rfq_id == rfq_id) == 0


@pytest.mark.parametrize(("change", "field"), [
    (lambda b: b["lines"][0].update(unit_price="12,50"), "lines.0.unit_price"),
    (lambda b: b["lines"][0].update(unit_price=12.5), "lines.0.unit_price"),
    (lambda b: b["lines"][0].update(rfq_line_id="1"), "lines.0.rfq_line_id"),
    (lambda b: b["lines"][0].update(colour="red"), "lines.0.colour"),
    (lambda b: b.update(freight="1.234"), "freight"),
    (lambda b: b.update(valid_until="31.12.2026"), "valid_until"),
    (lambda b: b.pop("valid_until"), "valid_until"),
    (lambda b: b.update(lines=[]), "lines"),
    (lambda b: b["lines"][1].update(rfq_line_id=b["lines"][0]["rfq_line_id"]), "lines.1.rfq_line_id"),
    (lambda b: b["lines"][0].update(rfq_line_id=999999), "lines.0.rfq_line_id"),
    # The service's own rules, named as the body's fields.
    (lambda b: b["lines"][1].update(unit_price="0"), "lines.1.unit_price"),
    (lambda b: b.update(valid_until="2026-12-02"), "valid_until"),
    (lambda b: b["lines"].pop(), "lines"),  # every line must be priced (no partial quotes)
])
def test_bad_quotes_are_422_naming_the_field_and_save_nothing(api, world, moment, change, field):
    rfq_id = published_rfq(world)
    body = quote_body(rfq_lines(rfq_id))
    change(body)
    problem = api(SALES_NW).post(f"/rfqs/{rfq_id}/quote", body, status=422)
    assert field in [e["field"] for e in problem["errors"]], problem
    assert count(QuoteRevision) == 0


def test_the_rfq_list_pages_in_sync_order(api, world, moment):
    ids = [published_rfq(world, title=f"Zapytanie {n}") for n in range(3)]
    buyer = api(BUYER)
    first = buyer.get("/rfqs?limit=2", status=200)
    assert len(first["data"]) == 2 and first["next_cursor"]
    rest = buyer.get(f"/rfqs?limit=2&cursor={first['next_cursor']}", status=200)
    assert [r["id"] for r in first["data"] + rest["data"]] == ids
    assert rest["next_cursor"] is None
    later = date(2100, 1, 1).isoformat() + "T00:00:00%2B00:00"
    assert buyer.get(f"/rfqs?updated_since={later}", status=200)["data"] == []
    nordwind = api(SALES_NW)
    first = nordwind.get("/rfqs?limit=2", status=200)
    rest = nordwind.get(f"/rfqs?limit=2&cursor={first['next_cursor']}", status=200)
    assert [r["id"] for r in first["data"] + rest["data"]] == ids


def test_an_amendment_reaches_the_suppliers_sync(api, world, moment):
    """An amendment changes the RFQ but not always its status or deadline: the supplier's list
    (which syncs on its invitations) still sees it changed."""
    from portal.models.base import utcnow
    from tests.services.sourcing_fixtures import amend

    rfq_id = published_rfq(world)
    since = utcnow().isoformat().replace("+", "%2B")
    nordwind = api(SALES_NW)
    assert nordwind.get(f"/rfqs?updated_since={since}", status=200)["data"] == []
    amend(world, rfq_id)
    rows = nordwind.get(f"/rfqs?updated_since={since}", status=200)["data"]
    assert [(r["id"], r["amendment"]) for r in rows] == [(rfq_id, 1)]


# ---------------------------------------------------------------- the lists' plans


class _Caller:
    def __init__(self, api_client):
        self.api = api_client

    def get(self, url):
        return self.api.http.get("/api/v1" + url, headers=self.api.headers())


@pytest.fixture
def many_rfqs(world, app, monkeypatch):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    from tests.test_supplier_rfq_plans import NOW, _bulk_rfqs

    monkeypatch.setattr(clock, "now", lambda: NOW)
    _bulk_rfqs(world, 9 * 15)
    return world


@pytest.mark.parametrize(("who", "table", "index", "urls"), [
    (BUYER, "rfqs", "ix_rfqs_org_updated", ("/rfqs?limit=20", "/rfqs?status=open&limit=5")),
    (SALES_NW, "rfq_invitations", "ix_rfq_invitations_supplier_updated",
     ("/rfqs?limit=20", "/rfqs?status=awarded&limit=5")),
])
def test_the_rfq_lists_walk_their_sync_index(api, many_rfqs, who, table, index, urls, uncached_lists):
    from tests.listdata import captured_selects, plan

    client = api(who)
    for url in urls:
        first = client.get(url, status=200)
        assert first["next_cursor"], url
        for page_url in (url, f"{url}&cursor={first['next_cursor']}"):
            statements = captured_selects(_Caller(client), page_url, f"FROM {table}")
            statements = [(s, p) for s, p in statements if "ORDER BY" in s]  # the page, not a lookup
            assert statements, page_url
            for statement, parameters in statements:
                text = " | ".join(plan(statement, parameters))
                assert f"INDEX {index} " in text, f"{page_url}: {text}"
                assert "TEMP B-TREE" not in text and "SCAN rfqs" not in text, f"{page_url}: {text}"
