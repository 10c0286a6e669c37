"""The monthly invoicing run at scale: N consolidated drafts in one run (issue 11: "a monthly run
of 1 000 invoices completes on the job workers with its time in the note").

    .venv/bin/python -m bench.monthly_run [--invoices 1000] [--suppliers 10] [--lines 3]
                                          [--database-url postgresql+psycopg://…/db]

Builds, on an EMPTY database (default: a temporary SQLite file; the tables are dropped and
created), `suppliers` supplier companies each linked to invoices/suppliers buying companies with
monthly invoicing, each buyer with one order of `lines` lines received last month; then runs the
job "draft-monthly-invoices" for last month through `run_job` (what an RQ worker executes) and
reports the time, then runs it again (idempotent: 0 drafts) and reports that time too.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from decimal import Decimal

from portal import create_app
from portal.config import TestConfig
from portal.domain.terms import PaymentTerms
from portal.domain.vat import line_net, vat_at_rate
from portal.extensions import db
from portal.models import Organization, OrgKind, SupplierLink, User, UserRole
from portal.models.base import utcnow
from portal.models.order import (
    GoodsReceipt,
    GoodsReceiptLine,
    OrderSource,
    OrderStatus,
    PurchaseOrder,
    PurchaseOrderLine,
)
from portal.services.clock import today_for
from portal.services.invoicing.monthly import last_month
from portal.tenancy import system

D = Decimal


def _org(kind: str, n: int) -> Organization:
    return Organization(
        kind=OrgKind(kind), name=f"{kind.title()} {n}", legal_name=f"{kind.title()} {n} Sp. z o.o.",
        tax_id=f"{1000000000 + n}", address_line=f"ul. Testowa {n}", postal_code="00-001", city="Warszawa",
        country="PL", currency="PLN", locale="pl", iban="PL61109010140000071219812874", bank_name="mBank")


def build(invoices: int, suppliers: int, lines: int) -> str:
    """The world; returns the period to run."""
    today = today_for(None)
    period = last_month(today)
    received_on = today.replace(day=1) - timedelta(days=10)
    issued_at = utcnow() - timedelta(days=60)
    per_supplier = invoices // suppliers
    with system(db.session):
        buyers = [_org("buyer", n) for n in range(per_supplier * suppliers)]
        sellers = [_org("supplier", 100000 + n) for n in range(suppliers)]
        db.session.add_all(buyers + sellers)
        db.session.flush()
        for s, seller in enumerate(sellers):
            user = User(organization_id=seller.id, email=f"admin{s}@supplier.example", full_name=f"Admin {s}",
                        locale="pl")
            db.session.add(user)
            db.session.flush()
            db.session.add(UserRole(user_id=user.id, role="supplier_admin"))
        buyer_users = []
        for b, buyer in enumerate(buyers):
            user = User(organization_id=buyer.id, email=f"buyer{b}@buyer.example", full_name=f"Buyer {b}",
                        locale="pl")
            buyer_users.append(user)
        db.session.add_all(buyer_users)
        db.session.flush()
        number = 0
        for s, seller in enumerate(sellers):
            for b in range(s * per_supplier, (s + 1) * per_supplier):
                buyer, user = buyers[b], buyer_users[b]
                link = SupplierLink(organization_id=buyer.id, supplier_id=seller.id, status="active",
                                    payment_terms=PaymentTerms.net(30), currency="PLN", invoicing="monthly")
                db.session.add(link)
                db.session.flush()
                number += 1
                order = PurchaseOrder(
                    organization_id=buyer.id, supplier_id=seller.id, link_id=link.id, number=f"PO/2026/{number:05d}",
                    source=OrderSource.AGREEMENT, status=OrderStatus.RECEIVED, currency="PLN",
                    payment_terms=link.payment_terms, issued_at=issued_at, issued_by_id=user.id)
                receipt = GoodsReceipt(received_on=received_on, received_by_id=user.id)
                order.receipts.append(receipt)
                for position in range(1, lines + 1):
                    quantity, price = D(position * 2), D("12.50") * position
                    net = line_net(quantity, price)
                    vat = vat_at_rate(net, D(23))
                    line = PurchaseOrderLine(position=position, description=f"Pozycja {position}", quantity=quantity,
                                             unit="pcs", unit_price=price, vat_code="23", vat_rate=D(23), net=net,
                                             vat=vat, gross=net + vat, received_quantity=quantity)
                    order.lines.append(line)
                    receipt.lines.append(GoodsReceiptLine(order_line=line, quantity=quantity))
                db.session.add(order)
            db.session.flush()
        db.session.commit()
    return period


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--suppliers", type=int, default=10)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/monthly.db"
    app = create_app({**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                      "SQLALCHEMY_DATABASE_URI": url, "MAIL_SUPPRESS_SEND": True})
    from portal.jobs.runner import run_job

    with app.app_context():
        db.drop_all()
        db.create_all()
        started = time.perf_counter()
        period = build(args.invoices, args.suppliers, args.lines)
        built = time.perf_counter() - started
        db.session.remove()
        started = time.perf_counter()
        results = run_job("draft-monthly-invoices", period)
        took = time.perf_counter() - started
        drafted = sum(d for _s, d in results)
        db.session.remove()
        started = time.perf_counter()
        again = sum(d for _s, d in run_job("draft-monthly-invoices", period))
        second = time.perf_counter() - started
        print(f"{url.split(':')[0]}: world of {args.invoices} monthly links built in {built:.1f} s; "
              f"monthly run {period}: {drafted} drafts ({args.lines} lines each, {args.suppliers} suppliers) "
              f"in {took:.2f} s ({took / max(drafted, 1) * 1000:.1f} ms per invoice); "
              f"second run: {again} drafts in {second:.2f} s")
        db.session.remove()
        db.drop_all()


if __name__ == "__main__":
    main()
