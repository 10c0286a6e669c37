"""The API lists' cache (portal/blueprints/api/cache.py): a list asked again answers from memory
while nothing its organisation reads was written, and never after: a write by either side of a
shared document, by a child row, or a profile change of a linked company shows at once; a write
of another company, or one rolled back, leaves the answer cached. Each token has its own
answers; an RFQ page is kept no longer than its next deadline; a matching If-None-Match is a
304."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import CostCenter, Invoice, Organization
from portal.models.order import OrderStatus
from portal.services import badges, clock, orgs
from portal.services.invoicing import issuing
from portal.tenancy import system
from tests.api.conftest import make_token
from tests.factories import acting_for
from tests.kit import count_queries
from tests.services.receiving_fixtures import make_order
from tests.services.sourcing_fixtures import AFTER, BEFORE, published_rfq
from tests.services.supplier_invoice_fixtures import draft, give_ibans, issue, received_order

BUYER, ADMIN, POLBUD = "buyer@acme.example", "admin@acme.example", "sales@polbud.example"


def _reads(client, path: str) -> list[str]:
    """The SELECTs of tenant data a GET runs (not the token's lookup nor the version's)."""
    with count_queries() as statements:
        client.get(path, status=200)
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")
            and "api_tokens" not in s and "badge_versions" not in s]


def _version(org) -> int:
    with acting_for(org):
        return badges.version(org.id, badges.DATA)


def test_a_list_asked_again_answers_from_the_cache_with_an_etag(api, world):
    make_order(world)
    buyer = api(BUYER)
    first = buyer.get("/orders", status=200)
    etag = buyer.last.headers["ETag"]
    assert _reads(buyer, "/orders") == []
    assert buyer.get("/orders", status=200) == first
    assert buyer.last.headers["ETag"] == etag
    # Another query string is another answer.
    assert _reads(buyer, "/orders?status=issued") != []

    not_modified = buyer.get("/orders", headers={"If-None-Match": etag}, status=304)
    assert not_modified.get_data() == b"" and not_modified.headers["ETag"] == etag
    assert buyer.get("/orders", headers={"If-None-Match": '"other"'}, status=200) == first


def test_the_suppliers_write_shows_in_the_buyers_cached_list_at_once(api, world):
    made = make_order(world, status=OrderStatus.ISSUED)
    buyer, polbud = api(BUYER), api(POLBUD)
    assert buyer.get("/orders", status=200)["data"][0]["status"] == "issued"
    before = (_version(world.acme), _version(world.polbud))

    polbud.post(f"/orders/{made.order_id}/acknowledge", {"revision": 0}, status=200)

    assert (_version(world.acme), _version(world.polbud)) == (before[0] + 1, before[1] + 1)
    assert buyer.get("/orders", status=200)["data"][0]["status"] == "acknowledged"


def test_a_childs_write_shows_in_the_other_sides_cached_list(api, world):
    made = make_order(world)
    buyer, polbud = api(BUYER), api(POLBUD)
    supplier_view = polbud.get("/orders", status=200)["data"][0]
    assert supplier_view["status"] == "acknowledged"
    buyer.post(f"/orders/{made.order_id}/receipts",
               {"lines": [{"order_line_id": made.line_ids[0], "quantity": "10"},
                          {"order_line_id": made.line_ids[1], "quantity": "5"}]}, status=201)
    assert polbud.get("/orders", status=200)["data"][0]["status"] == "received"


def test_a_linked_companys_new_name_shows_in_the_cached_list(api, world):
    make_order(world)
    buyer = api(BUYER)
    assert buyer.get("/orders", status=200)["data"][0]["supplier"]["name"] == world.polbud.name
    seller = world.user(POLBUD)
    with acting_for(world.polbud):
        org = db.session.get(Organization, world.polbud.id)
        profile = {key: getattr(org, key) for key in orgs.PROFILE_FIELDS}
        orgs.update_profile(org, actor=seller, **{**profile, "name": "Polbud Renamed"})
        db.session.commit()
    assert buyer.get("/orders", status=200)["data"][0]["supplier"]["name"] == "Polbud Renamed"


def test_another_companys_write_and_a_rolled_back_one_keep_the_answer(api, world):
    made = make_order(world, status=OrderStatus.ISSUED)
    buyer = api(BUYER)
    buyer.get("/orders", status=200)
    before = _version(world.acme)

    with acting_for(world.globex):
        center = db.session.scalars(select(CostCenter)).first()
        center.name += " (Globex)"
        db.session.commit()
    # A refused receipt (more than ordered) writes nothing: no version moves.
    buyer.post(f"/orders/{made.order_id}/receipts",
               {"lines": [{"order_line_id": made.line_ids[0], "quantity": "1000"}]}, status=422)

    assert _version(world.acme) == before
    assert _reads(buyer, "/orders") == []


def test_each_token_has_its_own_answers(api, world):
    make_order(world)
    buyer = api(BUYER)
    buyer.get("/orders", status=200)
    narrow = api(BUYER, scopes=["invoices:read"])
    assert narrow.get("/orders", status=403)["type"].endswith("insufficient-scope")
    polbud = api(POLBUD)
    assert [row["buyer"]["name"] for row in polbud.get("/orders", status=200)["data"]] == [world.acme.name]
    # A second token of the same user reads the list afresh, then from its own entry.
    _, raw = make_token(world.user(BUYER))
    other = type(buyer)(buyer.app, raw)
    assert _reads(other, "/orders") != []
    assert _reads(other, "/orders") == []


def test_an_rfq_page_is_kept_no_longer_than_its_next_deadline(api, world, monkeypatch):
    now = {"at": BEFORE}
    monkeypatch.setattr(clock, "now", lambda: now["at"])
    published_rfq(world)
    buyer = api(BUYER)
    assert buyer.get("/rfqs", status=200)["data"][0]["phase"] == "open"
    assert _reads(buyer, "/rfqs") == []
    now["at"] = AFTER
    assert buyer.get("/rfqs", status=200)["data"][0]["phase"] == "deadline_passed"


def test_an_invoice_turns_overdue_in_a_cached_list_at_the_companys_midnight(api, world, monkeypatch):
    monkeypatch.setattr(issuing, "_store_documents", lambda invoice: None)
    give_ibans(world)
    invoice_id = draft(world, received_order(world))
    issue(world, invoice_id)
    with system(db.session):
        due = db.session.scalar(select(Invoice.due_date).where(Invoice.id == invoice_id))
    db.session.rollback()
    moment = {"at": datetime.combine(due, time(12), tzinfo=UTC)}
    monkeypatch.setattr(clock, "now", lambda: moment["at"])
    buyer = api(ADMIN)
    assert buyer.get("/invoices", status=200)["data"][0]["overdue"] is False
    moment["at"] += timedelta(days=1)
    assert buyer.get("/invoices", status=200)["data"][0]["overdue"] is True
