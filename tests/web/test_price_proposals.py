"""Price-list proposal pages: the supplier uploads on its customer page (bad rows listed, 422),
sees and withdraws its proposal; the buyer lists proposals and decides them line by line."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import LineDecision, PriceAgreement, PriceProposal, ProposalStatus
from portal.services import price_proposals
from tests.conftest import as_org, as_system
from tests.factories import company_today
from tests.services.test_price_proposals import GOOD, agree, csv_bytes, link_of, propose

D = Decimal
SOON = company_today() + timedelta(days=10)
SECOND = ("MRO-OLEJ-HLP46", "280", "PLN", SOON.isoformat(), "", "", "")


@pytest.fixture(autouse=True)
def _english(world):
    """These tests read the pages' English texts: every user reads English here."""
    from sqlalchemy import update as _update

    from portal.models import User as _User
    with as_system():
        db.session.execute(_update(_User).values(locale="en"))
        db.session.commit()


def proposals_count() -> int:
    with as_system():
        return db.session.scalar(select(func.count(PriceProposal.id)))


def upload(client, link_id, data: bytes, name="prices.csv", note=""):
    return client.post(f"/supplier/customers/{link_id}/proposals", data={
        "file": (io.BytesIO(data), name), "note": note}, content_type="multipart/form-data")


def test_the_supplier_uploads_a_price_list_from_its_customer_page(world, login_as):
    link = link_of(world.acme, world.nordwind)
    client = login_as(world.user("sales@nordwind"))
    page = client.get(f"/supplier/customers/{link.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="proposal-form"' in html and "No proposals yet" in html
    template = client.get(f"/supplier/customers/{link.id}/proposals/template.csv")
    assert template.status_code == 200
    assert template.get_data(as_text=True).lstrip("\ufeff").startswith("sku,unit_price,currency")
    sent = upload(client, link.id, csv_bytes(GOOD), note="From January")
    assert sent.status_code == 302
    assert proposals_count() == 1
    shown = client.get(sent.headers["Location"])
    assert shown.status_code == 200 and "MRO-LOZ-6204" in shown.get_data(as_text=True)
    listed = client.get(f"/supplier/customers/{link.id}").get_data(as_text=True)
    assert 'data-testid="supplier-proposal-row"' in listed


def test_a_bad_file_is_refused_with_its_rows_listed_and_nothing_saved(world, login_as):
    link = link_of(world.acme, world.nordwind)
    client = login_as(world.user("sales@nordwind"))
    bad = ("NO-SUCH", "0", "EUR", "2027-01-01", "", "", "")
    answer = upload(client, link.id, csv_bytes(GOOD, bad))
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert 'data-testid="proposal-problems"' in html
    assert "The price must be more than zero." in html
    assert proposals_count() == 0
    # Not a CSV at all.
    assert upload(client, link.id, b"x", name="prices.xlsx").status_code == 422
    assert proposals_count() == 0


def test_a_blocked_supplier_sees_no_form_and_its_post_is_refused(world, login_as):
    from portal.services import suppliers
    link = link_of(world.acme, world.nordwind)
    with as_org(world.acme):
        suppliers.block(link, actor=world.user("admin@acme"), comment="review")
        db.session.commit()
    client = login_as(world.user("sales@nordwind"))
    html = client.get(f"/supplier/customers/{link.id}").get_data(as_text=True)
    assert 'data-testid="proposal-form"' not in html
    assert upload(client, link.id, csv_bytes(GOOD)).status_code == 403
    assert proposals_count() == 0


def test_another_suppliers_link_and_proposal_are_404(world, login_as):
    proposal_id = propose(world, csv_bytes(GOOD))
    polbud = login_as(world.user("sales@polbud"))
    nordwind_link = link_of(world.acme, world.nordwind)
    assert upload(polbud, nordwind_link.id, csv_bytes(GOOD)).status_code == 404
    assert polbud.get(f"/supplier/proposals/{proposal_id}").status_code == 404
    globex = login_as(world.user("admin@globex"))
    assert globex.get(f"/agreements/proposals/{proposal_id}").status_code == 404
    assert globex.post(f"/agreements/proposals/{proposal_id}", data={}).status_code == 404


def test_the_buyer_lists_and_decides_line_by_line(world, login_as):
    current = agree(world)
    proposal_id = propose(world, csv_bytes(GOOD, SECOND))
    admin = login_as(world.user("admin@acme"))
    index = admin.get("/agreements/").get_data(as_text=True)
    assert "Proposals from suppliers (1 open)" in index
    listed = admin.get("/agreements/proposals")
    assert listed.status_code == 200 and 'data-testid="proposal-row"' in listed.get_data(as_text=True)
    page = admin.get(f"/agreements/proposals/{proposal_id}").get_data(as_text=True)
    assert "-3.6 %" in page or "-3,6 %" in page
    with as_org(world.acme):
        first, second = (line.id for line in price_proposals.get_proposal(proposal_id).lines)
    # Reject without a reason: 422, the error beside that line, nothing decided.
    refused = admin.post(f"/agreements/proposals/{proposal_id}", data={
        f"decision-{first}": "accept", f"decision-{second}": "reject"})
    assert refused.status_code == 422
    assert 'data-testid="line-error"' in refused.get_data(as_text=True)
    with as_org(world.acme):
        assert all(line.decision == LineDecision.PENDING
                   for line in price_proposals.get_proposal(proposal_id).lines)
    # Nothing chosen: 422.
    assert admin.post(f"/agreements/proposals/{proposal_id}", data={}).status_code == 422
    # Accept the first only.
    done = admin.post(f"/agreements/proposals/{proposal_id}", data={f"decision-{first}": "accept"})
    assert done.status_code == 302
    db.session.expire_all()
    with as_org(world.acme):
        proposal = price_proposals.get_proposal(proposal_id)
        assert proposal.status == ProposalStatus.OPEN
        assert proposal.lines[0].decision == LineDecision.ACCEPTED
        assert db.session.get(PriceAgreement, current).valid_to == SOON - timedelta(days=1)
    # The decided line is final; reject the second with a reason.
    done = admin.post(f"/agreements/proposals/{proposal_id}", data={
        f"decision-{first}": "reject", f"reason-{first}": "changed my mind",
        f"decision-{second}": "reject", f"reason-{second}": "Too dear"})
    assert done.status_code == 422
    done = admin.post(f"/agreements/proposals/{proposal_id}", data={
        f"decision-{second}": "reject", f"reason-{second}": "Too dear"})
    assert done.status_code == 302
    db.session.expire_all()
    with as_org(world.acme):
        proposal = price_proposals.get_proposal(proposal_id)
        assert proposal.status == ProposalStatus.DECIDED
        assert proposal.lines[1].decision_reason == "Too dear"
    final = admin.get(f"/agreements/proposals/{proposal_id}").get_data(as_text=True)
    assert 'data-testid="decide-submit"' not in final and "Too dear" in final


def test_buyers_and_approvers_read_but_do_not_decide(world, login_as):
    proposal_id = propose(world, csv_bytes(GOOD))
    for email in ("buyer@acme", "approver@acme"):
        client = login_as(world.user(email))
        page = client.get(f"/agreements/proposals/{proposal_id}")
        assert page.status_code == 200
        assert 'data-testid="decide-submit"' not in page.get_data(as_text=True)
        assert client.post(f"/agreements/proposals/{proposal_id}", data={}).status_code == 403


def test_the_supplier_withdraws_and_the_buyer_can_no_longer_decide(world, login_as):
    proposal_id = propose(world, csv_bytes(GOOD))
    supplier = login_as(world.user("sales@nordwind"))
    assert supplier.post(f"/supplier/proposals/{proposal_id}/withdraw").status_code == 302
    db.session.expire_all()
    with as_org(world.nordwind):
        assert price_proposals.get_proposal(proposal_id).status == ProposalStatus.WITHDRAWN
    assert supplier.post(f"/supplier/proposals/{proposal_id}/withdraw").status_code in (302, 403)
    admin = login_as(world.user("admin@acme"))
    with as_org(world.acme):
        line_id = price_proposals.get_proposal(proposal_id).lines[0].id
    answer = admin.post(f"/agreements/proposals/{proposal_id}",
                        data={f"decision-{line_id}": "accept"})
    assert answer.status_code == 403
    listed = admin.get("/agreements/proposals?status=withdrawn").get_data(as_text=True)
    assert 'data-testid="proposal-row"' in listed


def _statements(client, url: str) -> int:
    from tests.kit import count_queries

    with count_queries() as statements:
        assert client.get(url).status_code == 200, url
    return len(statements)


def test_the_lists_and_the_proposal_page_do_not_grow_with_their_rows(world, login_as):
    second = propose(world, csv_bytes(GOOD, SECOND))
    admin = login_as(world.user("admin@acme"))
    supplier = login_as(world.user("sales@nordwind"))
    link = link_of(world.acme, world.nordwind)
    urls = [(admin, "/agreements/proposals"), (admin, "/agreements/proposals?status=all"),
            (admin, f"/agreements/proposals/{second}"), (admin, "/agreements/"),
            (supplier, f"/supplier/customers/{link.id}"), (supplier, f"/supplier/proposals/{second}")]
    few = [_statements(c, u) for c, u in urls]
    for _ in range(4):
        propose(world, csv_bytes(GOOD, SECOND))
    assert [_statements(c, u) for c, u in urls] == few
