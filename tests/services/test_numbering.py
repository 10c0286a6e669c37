"""Requisition numbers (portal/services/numbering.py): REQ-<year>-00001 upwards, per company and
year, gap-free, and never duplicated when many are created at the same moment."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.domain.requisition import format_number
from portal.extensions import db
from portal.models import CostCenter, DocumentCounter, OrgKind, Requisition, User
from portal.models.base import utcnow
from portal.services import numbering, orgs, requisitions, users
from portal.tenancy import TenantScope, bound, system
from tests.kit import acting_for

THREADS = 8


def _nip(seed: int) -> str:
    """A valid Polish NIP (tax ID) derived from `seed`."""
    for n in range(seed * 1000, seed * 1000 + 1000):
        digits = [int(c) for c in f"{n:09d}"]
        check = sum(w * d for w, d in zip((6, 5, 7, 2, 3, 4, 5, 6, 7), digits, strict=True)) % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)
    raise AssertionError("no NIP")


def _company(seed: int):
    """A new buying company with one buyer and one cost centre: its counters start at zero."""
    with system(db.session):
        org = orgs.create_organization(
            kind=OrgKind.BUYER, name=f"Firma {seed}", legal_name=f"Firma {seed} Sp. z o.o.",
            tax_id=_nip(seed), address_line="ul. Testowa 1", postal_code="00-001", city="Warszawa",
            country="PL", currency="PLN", locale="pl",
        )
        buyer = users.create_user(org, email=f"kupiec{seed}@firma.example", full_name="Kupiec",
                                  roles=["buyer"], password="portal-demo-2026")
        cost_center = CostCenter(organization_id=org.id, code="ADM", name="Administracja")
        db.session.add(cost_center)
        db.session.commit()
    return org, buyer, cost_center


def _create(buyer, cost_center, title="Papier A4 i tonery"):
    return requisitions.create_requisition(buyer, title=title, cost_center=cost_center)


@pytest.fixture
def year():
    return utcnow().year


def test_numbers_start_at_one_and_increment(app, world, year):
    org, buyer, cc = _company(101)
    with acting_for(org):
        numbers = [_create(buyer, cc).number for _ in range(3)]
    assert numbers == [f"REQ-{year}-00001", f"REQ-{year}-00002", f"REQ-{year}-00003"]


def test_each_company_counts_separately(app, world, year):
    first, buyer1, cc1 = _company(102)
    second, buyer2, cc2 = _company(103)
    with acting_for(first):
        a1, a2 = _create(buyer1, cc1).number, _create(buyer1, cc1).number
        db.session.commit()
    with acting_for(second):
        b1 = _create(buyer2, cc2).number
        db.session.commit()
    with acting_for(first):
        a3 = _create(buyer1, cc1).number
    assert (a1, a2, a3) == (f"REQ-{year}-00001", f"REQ-{year}-00002", f"REQ-{year}-00003")
    assert b1 == f"REQ-{year}-00001"


def test_each_year_and_kind_counts_separately(app, world, year):
    org, _, _ = _company(104)
    with acting_for(org):
        assert [numbering.next_sequence(org.id, "REQ", year) for _ in range(2)] == [1, 2]
        assert numbering.next_sequence(org.id, "REQ", year + 1) == 1
        assert numbering.next_sequence(org.id, "PO", year) == 1
        assert numbering.next_sequence(org.id, "REQ", year) == 3
        assert numbering.peek_last(org.id, "REQ", year) == 3
        assert numbering.peek_last(org.id, "REQ", year - 1) == 0


def test_a_rolled_back_creation_leaves_no_gap(app, world, year):
    org, buyer, cc = _company(105)
    with acting_for(org):
        _create(buyer, cc)
        db.session.commit()
        _create(buyer, cc)
        db.session.rollback()  # e.g. a later step of the same request failed
        assert _create(buyer, cc).number == f"REQ-{year}-00002"


def test_a_refused_creation_takes_no_number(app, world, year):
    org, buyer, cc = _company(106)
    with acting_for(org):
        with pytest.raises(Exception, match="title"):
            requisitions.create_requisition(buyer, title="", cost_center=cc)
        assert numbering.peek_last(org.id, "REQ", year) == 0
        assert _create(buyer, cc).number == f"REQ-{year}-00001"


def _create_in_threads(app, org_id: int, buyer_id: int, cost_center_id: int) -> tuple[list, list]:
    """THREADS threads, each with its own app context and session, create a requisition at the
    same moment and commit."""
    barrier = threading.Barrier(THREADS)
    numbers, errors = [], []
    lock = threading.Lock()

    def work(index: int) -> None:
        try:
            with app.app_context(), bound(db.session, TenantScope(org_id)):
                buyer = db.session.scalars(select(User).where(User.id == buyer_id)).one()
                cc = db.session.scalars(
                    select(CostCenter).where(CostCenter.id == cost_center_id)).one()
                barrier.wait(timeout=30)
                req = _create(buyer, cc, title=f"Wątek {index}")
                requisitions.add_line(req, buyer, description="Pozycja", quantity=Decimal("1"),
                                      unit_price=Decimal("10"), vat_rate=Decimal("23"))
                db.session.commit()
                with lock:
                    numbers.append(req.number)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return numbers, errors


@pytest.mark.parametrize("warm", [False, True], ids=["first-of-the-year", "counter-exists"])
def test_concurrent_creations_get_distinct_consecutive_numbers(app, world, year, warm):
    org, buyer, cc = _company(107 + warm)
    start = 0
    if warm:
        with acting_for(org):
            _create(buyer, cc)
            db.session.commit()
        start = 1
    numbers, errors = _create_in_threads(app, org.id, buyer.id, cc.id)
    assert errors == []
    expected = [format_number("REQ", year, n) for n in range(start + 1, start + THREADS + 1)]
    assert sorted(numbers) == expected
    db.session.expire_all()
    with system(db.session):
        stored = db.session.scalars(
            select(Requisition.number).where(Requisition.organization_id == org.id)).all()
        assert sorted(stored) == [
            format_number("REQ", year, n) for n in range(1, start + THREADS + 1)]
        counter = db.session.scalars(
            select(DocumentCounter).where(DocumentCounter.organization_id == org.id)).one()
        assert counter.last == start + THREADS
