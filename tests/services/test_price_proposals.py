"""Price-list proposals: a supplier's CSV, refused whole on any bad row; the buyer's admin
accepts (creating the agreement, ending the one it replaces) or rejects line by line."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.errors import InvalidTransition, NotFound, PermissionDenied
from portal.extensions import db
from portal.models import (
    AuditEvent,
    LineDecision,
    Notification,
    PriceAgreement,
    PriceProposal,
    ProposalStatus,
    SupplierLink,
)
from portal.services import agreements, price_proposals, suppliers
from portal.services.agreements import AgreementFields
from portal.services.price_proposals import DecisionRefused, ProposalRefused
from tests.conftest import as_org, as_system
from tests.factories import company_today

D = Decimal
TODAY = company_today()
SOON = TODAY + timedelta(days=10)


def link_of(buyer, supplier) -> SupplierLink:
    with as_system():
        return db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == buyer.id, SupplierLink.supplier_id == supplier.id)).one()


def proposals_count() -> int:
    with as_system():
        return db.session.scalar(select(func.count(PriceProposal.id)))


def csv_bytes(*rows, header="sku,unit_price,currency,valid_from,valid_to,supplier_part_number,"
              "lead_time_days", sep=",", bom=False) -> bytes:
    text = header.replace(",", sep) + "\r\n" + "".join(sep.join(r) + "\r\n" for r in rows)
    return (("\ufeff" if bom else "") + text).encode()


def propose(world, data, supplier="nordwind", buyer="acme", note=""):
    org = getattr(world, supplier)
    with as_org(org):
        actor = world.user(f"sales@{supplier}")
        link = suppliers.get_customer_link(actor, link_of(getattr(world, buyer), org).id)
        made = price_proposals.propose(link, actor, filename="prices.csv", data=data, note=note)
        db.session.commit()
        return made.id


def agree(world, sku="MRO-LOZ-6204", price="14.00", start=-30, currency="EUR"):
    with as_org(world.acme):
        made = agreements.create_agreement(world.user("admin@acme"), AgreementFields(
            link_id=link_of(world.acme, world.nordwind).id, item_sku=sku, unit_price=D(price),
            currency=currency, valid_from=TODAY + timedelta(days=start)))
        db.session.commit()
        return made.id


GOOD = ("MRO-LOZ-6204", "13.50", "EUR", SOON.isoformat(), "", "NW-6204", "7")


def test_a_good_file_makes_an_open_proposal_and_tells_the_buyers_admins(world):
    current = agree(world)
    proposal_id = propose(world, csv_bytes(GOOD), note="2027 list")
    with as_org(world.acme):
        proposal = price_proposals.get_proposal(proposal_id)
        assert proposal.status == ProposalStatus.OPEN and proposal.note == "2027 list"
        assert proposal.supplier_id == world.nordwind.id
        [line] = proposal.lines
        assert (line.sku, line.unit_price, line.currency, line.valid_from) == (
            "MRO-LOZ-6204", D("13.5"), "EUR", SOON)
        assert line.supplier_part_number == "NW-6204" and line.lead_time_days == 7
        assert line.current_agreement_id == current and line.current_price == D("14")
        assert price_proposals.change_percent(line) == D("-3.6")
        assert line.decision == LineDecision.PENDING
        told = db.session.scalars(select(Notification).where(
            Notification.user_id == world.user("admin@acme").id)).all()
        assert any("proposed new prices" in str(n.message) for n in told)
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "agreement.proposed")) == 1


def test_polish_semicolons_decimal_commas_bom_and_polish_headers(world):
    data = csv_bytes(
        ("mro-loz-6204", "13,50", "eur", "31.12.2027", "", "", ""),
        ("MRO-OLEJ-HLP46", "1 299,90", "PLN", SOON.isoformat(), "", "P-46", "3"),
        header="Indeks;Cena;Waluta;Ważna od;Ważna do;Numer dostawcy;Czas dostawy", sep=";",
        bom=True)
    proposal_id = propose(world, data)
    with as_org(world.acme):
        lines = price_proposals.get_proposal(proposal_id).lines
        assert [(x.sku, x.unit_price, x.currency) for x in lines] == [
            ("MRO-LOZ-6204", D("13.5"), "EUR"), ("MRO-OLEJ-HLP46", D("1299.9"), "PLN")]
        assert lines[0].valid_from == date(2027, 12, 31)


@pytest.mark.parametrize(("row", "column", "message"), [
    (("NO-SUCH", "1", "EUR", "2027-01-01", "", "", ""), "sku", "not in this customer"),
    (("MRO-OLEJ-HLP46", "0", "EUR", "2027-01-01", "", "", ""), "unit_price", "more than zero"),
    (("MRO-OLEJ-HLP46", "-2", "EUR", "2027-01-01", "", "", ""), "unit_price", "more than zero"),
    (("MRO-OLEJ-HLP46", "abc", "EUR", "2027-01-01", "", "", ""), "unit_price", "not a number"),
    (("MRO-OLEJ-HLP46", "", "EUR", "2027-01-01", "", "", ""), "unit_price", "Enter the unit price"),
    (("MRO-OLEJ-HLP46", "1", "XXX", "2027-01-01", "", "", ""), "currency", "Unknown currency"),
    (("MRO-OLEJ-HLP46", "1", "EUR", "soon", "", "", ""), "valid_from", "YYYY-MM-DD"),
    (("MRO-OLEJ-HLP46", "1", "EUR", "2027-01-01", "2026-01-01", "", ""), "valid_to", "before"),
    (("MRO-OLEJ-HLP46", "1", "EUR", "2027-01-01", "", "", "-1"), "lead_time_days", "whole number"),
    (("MRO-OLEJ-HLP46", "1", "EUR", "2027-01-01", "", "x" * 61, ""), "supplier_part_number",
     "At most"),
])
def test_a_file_with_any_bad_row_is_refused_whole(world, row, column, message):
    with pytest.raises(ProposalRefused) as refused:
        propose(world, csv_bytes(GOOD, row))
    db.session.rollback()
    [problem] = refused.value.problems
    assert (problem.row, problem.column) == (3, column)
    assert message in problem.msg.text % problem.msg.params
    assert proposals_count() == 0


def test_duplicates_and_missing_columns_and_workbooks_are_refused(world):
    with pytest.raises(ProposalRefused) as refused:
        propose(world, csv_bytes(GOOD, GOOD))
    problem = refused.value.problems[0]
    assert problem.row == 3 and "already in row 2" in problem.msg.text % problem.msg.params
    db.session.rollback()
    with pytest.raises(ProposalRefused, match="Missing columns"):
        propose(world, b"sku,price\r\nX,1\r\n")
    db.session.rollback()
    with pytest.raises(ProposalRefused, match="workbook"):
        propose(world, b"PK\x03\x04rest")
    db.session.rollback()
    with pytest.raises(ProposalRefused, match="no prices"):
        propose(world, csv_bytes())
    db.session.rollback()
    assert proposals_count() == 0


def test_a_sku_of_another_buyer_is_unknown(world):
    # Globex's catalog is not Acme's: a SKU only Globex has is refused for Acme.
    from portal.models import Item
    with as_system():
        acme_skus = set(db.session.scalars(select(Item.sku).where(
            Item.organization_id == world.acme.id)))
        other = db.session.scalars(select(Item.sku).where(
            Item.organization_id == world.globex.id, Item.sku.not_in(acme_skus))).first()
    assert other
    with pytest.raises(ProposalRefused, match="not accepted"):
        propose(world, csv_bytes((other, "1", "EUR", "2027-01-01", "", "", "")))


def test_a_blocked_link_cannot_propose(world):
    with as_org(world.acme):
        suppliers.block(link_of(world.acme, world.nordwind), actor=world.user("admin@acme"),
                        comment="review")
        db.session.commit()
    with pytest.raises(InvalidTransition, match="paused"):
        propose(world, csv_bytes(GOOD))
    db.session.rollback()
    assert proposals_count() == 0


def test_accepting_creates_the_agreement_and_ends_the_overlapping_one(world):
    current = agree(world)
    proposal_id = propose(world, csv_bytes(GOOD))
    with as_org(world.acme):
        admin = world.user("admin@acme")
        proposal = price_proposals.get_proposal(proposal_id)
        line = proposal.lines[0]
        price_proposals.decide(proposal, admin, decisions={line.id: (True, "")})
        db.session.commit()
        db.session.expire_all()
        old = db.session.get(PriceAgreement, current)
        assert old.valid_to == SOON - timedelta(days=1)
        proposal = price_proposals.get_proposal(proposal_id)
        line = proposal.lines[0]
        new = db.session.get(PriceAgreement, line.agreement_id)
        assert (new.unit_price, new.valid_from, new.supplier_part_number, new.lead_time_days) == (
            D("13.5"), SOON, "NW-6204", 7)
        assert line.decision == LineDecision.ACCEPTED
        assert proposal.status == ProposalStatus.DECIDED and proposal.decided_by_id == admin.id
    with as_org(world.nordwind):
        told = db.session.scalars(select(Notification).where(
            Notification.user_id == world.user("sales@nordwind").id)).all()
        assert any("decided your proposed prices" in str(n.message) for n in told)


def test_line_by_line_reject_needs_a_reason_and_a_decided_line_is_final(world):
    second = ("MRO-OLEJ-HLP46", "280", "PLN", SOON.isoformat(), "", "", "")
    proposal_id = propose(world, csv_bytes(GOOD, second))
    with as_org(world.acme):
        admin = world.user("admin@acme")
        proposal = price_proposals.get_proposal(proposal_id)
        first, other = proposal.lines
        with pytest.raises(DecisionRefused) as refused:
            price_proposals.decide(proposal, admin, decisions={first.id: (False, "  ")})
        assert first.id in refused.value.problems
        db.session.rollback()
        proposal = price_proposals.get_proposal(proposal_id)
        first, other = proposal.lines
        price_proposals.decide(proposal, admin, decisions={first.id: (False, "Too dear")})
        db.session.commit()
        proposal = price_proposals.get_proposal(proposal_id)
        assert proposal.status == ProposalStatus.OPEN
        first, other = proposal.lines
        assert first.decision == LineDecision.REJECTED and first.decision_reason == "Too dear"
        with pytest.raises(DecisionRefused):
            price_proposals.decide(proposal, admin, decisions={first.id: (True, "")})
        db.session.rollback()
        proposal = price_proposals.get_proposal(proposal_id)
        price_proposals.decide(proposal, admin, decisions={proposal.lines[1].id: (True, "")})
        db.session.commit()
        assert price_proposals.get_proposal(proposal_id).status == ProposalStatus.DECIDED
        with pytest.raises(InvalidTransition):
            price_proposals.decide(price_proposals.get_proposal(proposal_id), admin, decisions={})


def test_a_proposal_starting_before_a_current_agreement_cannot_be_accepted(world):
    agree(world, start=20)  # an agreement from day 20: the proposal from day 10 would overlap it
    proposal_id = propose(world, csv_bytes(GOOD))
    with as_org(world.acme):
        proposal = price_proposals.get_proposal(proposal_id)
        with pytest.raises(DecisionRefused) as refused:
            price_proposals.decide(proposal, world.user("admin@acme"),
                                   decisions={proposal.lines[0].id: (True, "")})
        assert "already has an agreement" in str(
            list(refused.value.problems.values())[0].text)
        db.session.rollback()


def test_only_a_buyer_admin_decides_and_another_company_gets_404(world):
    proposal_id = propose(world, csv_bytes(GOOD))
    with as_org(world.acme):
        proposal = price_proposals.get_proposal(proposal_id)
        for email in ("buyer@acme", "approver@acme"):
            with pytest.raises(PermissionDenied):
                price_proposals.decide(proposal, world.user(email),
                                       decisions={proposal.lines[0].id: (True, "")})
    with as_org(world.globex):
        with pytest.raises(NotFound):
            price_proposals.get_proposal(proposal_id)
        assert price_proposals.list_proposals().items == []
    with as_org(world.polbud), pytest.raises(NotFound):
        price_proposals.get_proposal(proposal_id)


def test_the_supplier_withdraws_its_open_proposal(world):
    proposal_id = propose(world, csv_bytes(GOOD))
    with as_org(world.nordwind):
        proposal = price_proposals.get_proposal(proposal_id)
        price_proposals.withdraw(proposal, world.user("sales@nordwind"))
        db.session.commit()
        assert price_proposals.get_proposal(proposal_id).status == ProposalStatus.WITHDRAWN
        with pytest.raises(InvalidTransition):
            price_proposals.withdraw(price_proposals.get_proposal(proposal_id),
                                     world.user("sales@nordwind"))
    with as_org(world.acme):
        proposal = price_proposals.get_proposal(proposal_id)
        with pytest.raises(InvalidTransition):
            price_proposals.decide(proposal, world.user("admin@acme"), decisions={})


def test_a_withdrawal_is_recorded_in_the_audit_trail_once(world):
    proposal_id = propose(world, csv_bytes(GOOD))
    sales = world.user("sales@nordwind")
    with as_org(world.nordwind):
        price_proposals.withdraw(price_proposals.get_proposal(proposal_id), sales)
        db.session.commit()
        with pytest.raises(InvalidTransition):  # a second withdrawal records nothing
            price_proposals.withdraw(price_proposals.get_proposal(proposal_id), sales)
        db.session.rollback()
    with as_system():
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "agreement.proposal_withdrawn")).all()
        assert [(e.object_type, e.object_id, e.actor_id) for e in events] == [
            ("PriceProposal", proposal_id, sales.id)]
        assert events[0].summary["lines"] == 1  # GOOD: one row


def test_lists_and_open_count(world):
    first = propose(world, csv_bytes(GOOD))
    second = propose(world, csv_bytes(GOOD))
    with as_org(world.acme):
        assert [p.id for p in price_proposals.list_proposals().items] == [second, first]
        assert price_proposals.open_count() == 2
        assert price_proposals.list_proposals(status="decided").items == []
    with as_org(world.nordwind):
        link = suppliers.get_customer_link(world.user("sales@nordwind"),
                                           link_of(world.acme, world.nordwind).id)
        assert len(price_proposals.list_for_link(link).items) == 2


def test_every_problem_of_every_row_is_listed_with_its_column(world):
    data = csv_bytes(("NIE-MA", "abc", "XYZ", "jutro"), ("", "1", "EUR", "2027-01-01"),
                     header="Indeks;Cena;Waluta;Ważna od", sep=";")
    with pytest.raises(ProposalRefused) as refused:
        propose(world, data)
    found = [(p.row, p.column) for p in refused.value.problems]
    assert found == [(2, "unit_price"), (2, "currency"), (2, "valid_from"), (2, "sku"),
                     (3, "sku")]
