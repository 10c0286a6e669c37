"""The demo world's invoicing: invoices in every state for Acme and Globex, issued by the
suppliers through the invoicing services, approved, disputed and paid by the buyers.

Every step runs at a moment of the past months, in the order of those moments across both
companies (an invoice's number follows its issue date, per supplier): orders are issued and
received, the supplier drafts and issues its invoice (its PDF, and for Polbud the KSeF FA(3)
XML, stored at issue), the buyer approves, disputes or pays. During a step the business clock
(`portal.services.clock.now`) says the step's moment, so issue, approval and payment dates are
those of the story, and `demo_sourcing._at` moves what the step wrote back to it.

What exists afterwards (days before the seed):

Acme (PLN; Polbud and Tatra invoice in PLN, Nordwind in EUR; Nordwind (DE) and Tatra (SK)
invoice under the reverse charge):
- Polbud: gloves and tape, paid in full; hydraulic oil, partly paid and overdue; scaffolding
  with the assembly training for it, the training VAT-exempt (`zw`, its legal basis chosen on the
  draft: art. 43 ust. 1 pkt 29 lit. b of the VAT act), approved; last month's
  deliveries consolidated into one monthly invoice by the monthly run (the link invoices
  monthly; steel of annex 15 above 15 000 PLN: split payment), issued, awaiting approval.
  Each with its FA(3) XML.
- Nordwind: hoses, issued and overdue (awaiting approval); pneumatic cylinders invoiced beyond
  what was received (mismatched, flagged per line: only an admin approves it, with a reason);
  ball valves, disputed; a draft for the coffee received (Nordwind's only).
- Tatra: monitors and docks, disputed (two damaged), a credit note for them, then approved.

Globex (EUR; both suppliers under the reverse charge):
- Tatra: backpacks, paid; desks, approved and overdue; monitor arms, disputed with a credit
  note for two arms.
- Nordwind: wrap film and tape, partly paid; gloves, issued; label ribbons at a price above the
  order (mismatched); a draft for cable ties.

Idempotent: a buying company that already has invoices gets no more. Runs inside
`tenancy.system()` at the end of `seed_demo()`, after the sourcing documents.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Invoice, InvoiceDocument, Organization, Payment, PurchaseOrder
from portal.models.order import OrderSource
from portal.services import clock, mail
from portal.services.demo_sourcing import _CLOCK, _at, _Sourcing
from portal.services.orders.issue import OrderLineInput, issue_order
from portal.tenancy import bound, scope_for

D = Decimal

# The suppliers' bank accounts (valid IBANs: issuing needs one) and banks.
BANKS = {
    "nordwind": ("DE89370400440532013000", "Commerzbank AG"),
    "polbud": ("PL27114020040000300201355387", "mBank S.A."),
    "tatra": ("SK8975000000000012345671", "Československá obchodná banka, a.s."),
}
# The link that invoices monthly (buyer, supplier) and its price tolerance.
MONTHLY = ("acme", "polbud")
TOLERANCE = {("acme", "polbud"): D("2"), ("acme", "nordwind"): D("1")}

# Rows the invoicing steps write, moved back to the step's moment (demo_sourcing moves the
# audit events, notifications, orders and receipts).
_TIMESTAMPS = {
    Invoice: ("created_at", "updated_at", "issued_at", "approved_at", "disputed_at"),
    InvoiceDocument: ("created_at",),
    Payment: ("created_at",),
}


@event.listens_for(Session, "before_flush")
def _stamp(session, flush_context, instances) -> None:
    clock = session.info.get(_CLOCK)
    if clock is None:
        return
    for row in (*session.new, *session.dirty):
        columns = _TIMESTAMPS.get(type(row))
        if columns is None:
            continue
        when = clock["moment"] + timedelta(seconds=clock["tick"])
        clock["tick"] += 1
        for column in columns:
            value = getattr(row, column, None)
            if (value is None and column == "created_at") or (
                value is not None and value >= clock["started"]
            ):
                setattr(row, column, when)
        if isinstance(row, Invoice):
            row.updated_at = when  # explicitly, or onupdate would write "now"


@contextmanager
def _when(moment: datetime):
    """Run a step at `moment`: the business clock says so (dates of issue, approval, payment)
    and what the step writes is stamped with it."""
    real = clock.now
    clock.now = lambda: moment
    try:
        with _at(moment):
            yield moment
    finally:
        clock.now = real


@dataclass(order=True)
class _Step:
    moment: datetime
    seq: int
    run: Callable = field(compare=False)


class _Invoicing(_Sourcing):
    """One buying company's invoicing steps; `plan` collects them for the common timeline."""

    def __init__(self, world: dict, key: str, plan: list[_Step]):
        super().__init__(world, key)
        self.plan = plan
        self.made: dict[str, object] = {}

    def at(self, days: float, hour: int, run: Callable) -> None:
        self.plan.append(_Step(self.ago(days, hour), len(self.plan), run))

    def scope(self, org):
        return bound(db.session, scope_for(db.session, org))

    def supplier_user(self, supplier_key: str):
        return self.user(f"sales@{supplier_key}.example")

    # Orders

    def order(self, days, name, buyer, supplier_key, lines, *, receive: dict | None = None,
              receive_days=None, note=""):
        """An order issued `days` ago; received (quantities by line position, all by default)
        `receive_days` ago. Stored as `self.made[name]`."""

        def issue(moment):
            with self.scope(self.org), _when(moment):
                self.made[name] = issue_order(
                    self.user(buyer), link=self.link(supplier_key), source=OrderSource.AGREEMENT,
                    lines=[OrderLineInput(description=text, quantity=D(qty), unit=unit,
                                          unit_price=D(price), vat_code=vat)
                           for text, qty, unit, price, vat in lines],
                    delivery_date=self.day(moment) + timedelta(days=5), now=moment)

        self.at(days, 9, lambda: issue(self.ago(days, 9)))
        if receive_days is not None:
            quantities = receive or {i: qty for i, (_, qty, _, _, _) in enumerate(lines, start=1)}

            def received(moment):
                with self.scope(self.org):
                    self.receive(moment, self.made[name], buyer, quantities, note=note)

            self.at(receive_days, 11, lambda: received(self.ago(receive_days, 11)))

    # Invoices

    def invoice(self, days, name, supplier_key, orders: list[str], *, issue=True,
                quantities: dict[int, str] | None = None, prices: dict[int, str] | None = None,
                notes="", monthly_period: str | None = None, hour: int = 10, annex15: bool = False,
                exemption: tuple[str, str] | None = None):
        """The supplier drafts its invoice from `orders` (what was received) `days` ago, edits
        line quantities/prices (by position) and issues it the same moment unless `issue` is
        false. A monthly invoice comes from the monthly run of `monthly_period` instead.
        `exemption`: the (kind, provision) of the exemption of its `zw` lines."""

        def draft(moment):
            from portal.services.invoicing.drafting import draft_from_orders

            supplier = self.world["orgs"][supplier_key]
            seller = self.supplier_user(supplier_key)
            with self.scope(supplier), _when(moment):
                if monthly_period:
                    invoice = self._monthly(supplier, monthly_period, moment)
                else:
                    invoice = draft_from_orders(self.link(supplier_key),
                                                [self.made[o].id for o in orders], seller)
                if quantities or prices or notes or annex15 or exemption:
                    _edit(invoice, seller, quantities or {}, prices or {}, notes, annex15=annex15,
                          exemption=exemption)
                if issue:
                    from portal.services.invoicing.issuing import issue_invoice

                    issue_invoice(invoice, seller, today=self.day(moment))
                self.made[name] = invoice

        self.at(days, hour, lambda: draft(self.ago(days, hour)))

    def _monthly(self, supplier, period: str, moment) -> Invoice:
        from portal.services.invoicing.monthly import draft_monthly_supplier

        # The monthly run's own step for one supplier, in the seed's transaction (the job
        # commits per supplier).
        draft_monthly_supplier(supplier, period, today=self.day(moment))
        return db.session.scalars(select(Invoice).where(
            Invoice.supplier_id == supplier.id, Invoice.organization_id == self.org.id,
            Invoice.period == period)).one()

    def approve(self, days, name, email, *, override_reason=None):
        def run(moment):
            from portal.services.invoicing.buyer import approve_invoice

            with self.scope(self.org), _when(moment):
                approve_invoice(self.made[name], self.user(email), override_reason=override_reason,
                                now=moment)

        self.at(days, 14, lambda: run(self.ago(days, 14)))

    def dispute(self, days, name, email, reason):
        def run(moment):
            from portal.services.invoicing.buyer import dispute_invoice

            with self.scope(self.org), _when(moment):
                dispute_invoice(self.made[name], self.user(email), reason=reason, now=moment)

        self.at(days, 13, lambda: run(self.ago(days, 13)))

    def pay(self, days, name, email, amount: str | None, reference: str):
        """A payment of `amount` (None: what is left) `days` ago."""

        def run(moment):
            from portal.services.invoicing.buyer import record_payment

            invoice = self.made[name]
            with self.scope(self.org), _when(moment):
                record_payment(invoice, self.user(email), paid_on=self.day(moment),
                               amount=D(amount) if amount else invoice.amount_due,
                               reference=reference, today=self.day(moment))

        self.at(days, 15, lambda: run(self.ago(days, 15)))

    def credit(self, days, name, invoice_name, supplier_key, reason, quantities: dict[int, str]):
        """A credit note on `invoice_name`: quantities by the invoice's line position."""

        def run(moment):
            from portal.services.invoicing.issuing import CreditLineInput, issue_credit_note

            original = self.made[invoice_name]
            lines = [CreditLineInput(invoice_line_id=line.id, quantity=D(quantities[line.position]))
                     for line in original.lines if line.position in quantities]
            with self.scope(self.world["orgs"][supplier_key]), _when(moment):
                self.made[name] = issue_credit_note(original, self.supplier_user(supplier_key),
                                                    reason=reason, lines=lines)

        self.at(days, 12, lambda: run(self.ago(days, 12)))

    def set_monthly(self, days, supplier_key):
        def run():
            link = self.link(supplier_key)
            link.invoicing = "monthly"
            db.session.flush()

        self.at(days, 8, run)


def _edit(invoice: Invoice, seller, quantities: dict[int, str], prices: dict[int, str], notes: str, *,
          annex15: bool = False, exemption: tuple[str, str] | None = None):
    from portal.services.invoicing.drafting import DraftLineInput, update_draft

    lines = [DraftLineInput(
        order_line_id=line.order_line_id,
        quantity=D(quantities[line.position]) if line.position in quantities else line.quantity,
        unit_price=D(prices[line.position]) if line.position in prices else line.unit_price,
        vat_code=line.vat_code, description=line.description) for line in invoice.lines]
    update_draft(invoice, seller, lines=lines, language=invoice.language,
                 notes=notes or invoice.notes, sale_date=invoice.sale_date, annex15=invoice.annex15 or annex15,
                 exchange_rate=invoice.exchange_rate, exchange_rate_date=invoice.exchange_rate_date,
                 exemption_basis_kind=exemption[0] if exemption else None,
                 exemption_basis=exemption[1] if exemption else None)


def last_month(today: date) -> tuple[str, date]:
    """The month before `today`'s ("2026-11") and its first day."""
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return first.strftime("%Y-%m"), first


# ---------------------------------------------------------------------------------------------
# Acme


def _acme(world, plan) -> None:
    s = _Invoicing(world, "acme", plan)
    buyer, buyer2 = "buyer@acme.example", "buyer2@acme.example"
    approver, admin = "approver@acme.example", "admin@acme.example"

    # Polbud: paid in full (with its FA(3) XML, like every Polbud invoice).
    s.order(110, "gloves", buyer, "polbud", [
        ("Rękawice robocze nitrylowe, para", "200", "pair", "4.20", "23"),
        ("Taśma pakowa brązowa 48 mm", "120", "pcs", "6.90", "23")],
        receive_days=104, note="Dostawa kompletna.")
    s.invoice(103, "gloves", "polbud", ["gloves"])
    s.approve(98, "gloves", approver)
    s.pay(62, "gloves", admin, None, "Przelew 2026/08/117")

    # Polbud: partly paid, and overdue for the rest.
    s.order(80, "oil", buyer2, "polbud", [
        ("Olej hydrauliczny HLP 46, kanister 20 l", "10", "pcs", "189.00", "23"),
        ("Czyściwo bawełniane, worek 10 kg", "8", "pcs", "54.00", "23")],
        receive_days=75)
    s.invoice(74, "oil", "polbud", ["oil"])
    s.approve(70, "oil", approver)
    s.pay(40, "oil", admin, "1200.00", "Przelew 2026/10/044 (część)")

    # Polbud: scaffolding and the assembly training for it; the training is VAT-exempt
    # (vocational training by an accredited body), the basis chosen on the draft and printed.
    s.order(72, "scaffolding", buyer, "polbud", [
        ("Rusztowanie elewacyjne ramowe, zestaw 100 m²", "1", "set", "8900.00", "23"),
        ("Szkolenie z montażu rusztowań (akredytowane), 2 osoby", "1", "day", "1300.00", "zw")],
        receive_days=68, note="Rusztowanie dostarczone, szkolenie przeprowadzone.")
    s.invoice(67, "scaffolding", "polbud", ["scaffolding"],
              exemption=("ustawa", "art. 43 ust. 1 pkt 29 lit. b ustawy o VAT"))
    s.approve(64, "scaffolding", approver)

    # Polbud invoices monthly from here on: November's deliveries (and any other received in
    # the month) in one consolidated invoice, drafted by the monthly run on the 1st and issued.
    s.set_monthly(60, "polbud")
    period, first = last_month(s.day(s.now))
    since = (s.day(s.now) - first).days  # days ago of the first of last month
    s.order(since - 1, "screws", buyer, "polbud", [
        ("Śruby M8x40 ocynkowane, op. 100 szt.", "30", "pack", "18.50", "23")],
        receive_days=since - 5)
    s.order(since - 12, "steel", buyer2, "polbud", [
        ("Kątownik stalowy 40x40x4, 6 m", "150", "pcs", "96.00", "23"),
        ("Farba podkładowa szara, 5 l", "6", "pcs", "112.00", "23")],
        receive_days=since - 20)
    first_of_month = (s.day(s.now) - s.day(s.now).replace(day=1)).days
    s.invoice(first_of_month, "monthly", "polbud", [], issue=False, monthly_period=period,
              hour=6, annex15=True)
    s.at(first_of_month, 9, lambda: _issue(s, "monthly", "polbud", s.ago(first_of_month, 9)))

    # Nordwind (Hamburg, EUR, reverse charge): issued and overdue, never approved.
    s.order(60, "hoses", buyer, "nordwind", [
        ("Wąż hydrauliczny DN12, 1 m", "40", "m", "14.20", "23"),
        ("Opaska zaciskowa 20-32 mm", "80", "pcs", "0.85", "23")],
        receive_days=55)
    s.invoice(54, "hoses", "nordwind", ["hoses"], notes="Reverse charge: the buyer accounts for the VAT.")

    # Nordwind: disputed (two valves damaged), waiting for the credit note.
    s.order(25, "valves", buyer2, "nordwind", [
        ("Zawór kulowy DN25 PN40", "20", "pcs", "38.50", "23")], receive_days=20)
    s.invoice(19, "valves", "nordwind", ["valves"])
    s.dispute(17, "valves", buyer2,
              "Dwa zawory uszkodzone w transporcie (protokół przy przyjęciu). Prosimy o korektę.")

    # Nordwind: invoiced 50 cylinders when 30 arrived: mismatched, flagged on the line.
    s.order(15, "cylinders", buyer, "nordwind", [
        ("Siłownik pneumatyczny 50x200", "50", "pcs", "86.00", "23")],
        receive={1: "30"}, receive_days=9)
    s.invoice(3, "cylinders", "nordwind", ["cylinders"], quantities={1: "50"})

    # Tatra (PLN, reverse charge): disputed, a credit note for the two damaged monitors, approved.
    s.order(30, "monitors", buyer2, "tatra", [
        ('Monitor 27" IPS', "10", "pcs", "1150.00", "23"),
        ("Stacja dokująca USB-C", "10", "pcs", "560.00", "23")], receive_days=24)
    s.invoice(23, "monitors", "tatra", ["monitors"])
    s.dispute(20, "monitors", buyer2, "Dwa monitory z uszkodzoną matrycą, odesłane kurierem.")
    s.credit(18, "monitors_credit", "monitors", "tatra",
             "Two monitors returned with damaged panels.", {1: "2"})
    s.approve(16, "monitors", approver)

    # Nordwind's draft for the coffee received so far (the sourcing order): Nordwind's only.
    s.at(1, 10, lambda: _draft_sourcing(s, "nordwind"))


def _issue(s: _Invoicing, name: str, supplier_key: str, moment) -> None:
    from portal.services.invoicing.issuing import issue_invoice

    with s.scope(s.world["orgs"][supplier_key]), _when(moment):
        issue_invoice(s.made[name], s.supplier_user(supplier_key), today=s.day(moment))


def _draft_sourcing(s: _Invoicing, supplier_key: str) -> None:
    """A draft from the buyer's received sourcing orders to `supplier_key` not yet invoiced."""
    from portal.services.invoicing.drafting import draft_from_orders
    from portal.services.invoicing.invoiceable import invoiceable_orders

    supplier = s.world["orgs"][supplier_key]
    link = s.link(supplier_key)
    moment = s.ago(1, 10)
    with s.scope(supplier), _when(moment):
        mine = {order.id for order in s.made.values() if isinstance(order, PurchaseOrder)}
        orders = [order for order in invoiceable_orders(link) if order.id not in mine]
        if orders:
            s.made["draft"] = draft_from_orders(link, [orders[0].id], s.supplier_user(supplier_key))


# ---------------------------------------------------------------------------------------------
# Globex


def _globex(world, plan) -> None:
    s = _Invoicing(world, "globex", plan)
    buyer, approver, admin = "buyer@globex.example", "approver@globex.example", "admin@globex.example"

    # Tatra: paid in full.
    s.order(100, "backpacks", buyer, "tatra", [
        ('Laptop backpack 15.6"', "25", "pcs", "42.00", "23")], receive_days=95)
    s.invoice(94, "backpacks", "tatra", ["backpacks"])
    s.approve(90, "backpacks", approver)
    s.pay(66, "backpacks", admin, None, "SEPA GX-2026-0913")

    # Tatra: approved, and overdue.
    s.order(58, "desks", buyer, "tatra", [
        ("Office desk 160x80 cm", "6", "pcs", "389.00", "23")], receive_days=52)
    s.invoice(51, "desks", "tatra", ["desks"])
    s.approve(45, "desks", approver)

    # Nordwind: partly paid (net 60: not due yet).
    s.order(50, "film", buyer, "nordwind", [
        ("Pallet wrap film 500 mm", "60", "roll", "11.40", "23"),
        ("Packing tape 48 mm", "144", "roll", "1.95", "23")], receive_days=46)
    s.invoice(45, "film", "nordwind", ["film"])
    s.approve(40, "film", approver)
    s.pay(10, "film", admin, "500.00", "SEPA GX-2026-1125 (part)")

    # Tatra: disputed, with a credit note for two arms without their mounting kits.
    s.order(20, "arms", buyer, "tatra", [
        ("Dual monitor arm", "12", "pcs", "79.00", "23")], receive_days=15)
    s.invoice(14, "arms", "tatra", ["arms"])
    s.dispute(11, "arms", buyer, "Two arms arrived without their mounting kits; the freight is also "
                                 "charged twice.")
    s.credit(9, "arms_credit", "arms", "tatra", "Two arms without mounting kits.", {1: "2"})

    # Nordwind: label ribbons invoiced above the order's price: mismatched.
    s.order(12, "ribbons", buyer, "nordwind", [
        ("Label printer ribbon 110 mm", "20", "roll", "24.00", "23")], receive_days=7)
    s.invoice(2, "ribbons", "nordwind", ["ribbons"], prices={1: "26.40"})

    # Nordwind: issued, awaiting approval.
    s.order(8, "gloves", buyer, "nordwind", [
        ("Safety gloves, pair", "100", "pair", "3.10", "23")], receive_days=5)
    s.invoice(4, "gloves", "nordwind", ["gloves"])

    # Nordwind's draft: cable ties received two days ago.
    s.order(6, "ties", buyer, "nordwind", [
        ("Cable ties 300 mm, pack of 100", "40", "pack", "4.60", "23")], receive_days=2)
    s.invoice(1, "ties", "nordwind", ["ties"], issue=False)


# ---------------------------------------------------------------------------------------------


def _has_invoices(org) -> bool:
    return db.session.scalar(
        select(Invoice.id).where(Invoice.organization_id == org.id).limit(1)) is not None


def _banks(world) -> None:
    """The suppliers' bank accounts, where none is set yet."""
    for key, (iban, bank) in BANKS.items():
        org: Organization = world["orgs"].get(key)
        if org is not None and not org.iban:
            org.iban, org.bank_name = iban, bank
    db.session.flush()


def seed_invoicing(world: dict) -> None:
    """Give the suppliers their bank accounts and (for a company without any invoice) add the
    invoicing documents, every step in the order of its moment."""
    with mail.suppressed():
        _banks(world)
        plan: list[_Step] = []
        for key, story in (("acme", _acme), ("globex", _globex)):
            if not _has_invoices(world["orgs"][key]):
                for (buyer, supplier), tolerance in TOLERANCE.items():
                    if buyer == key:
                        _Sourcing(world, buyer).link(supplier).price_tolerance = tolerance
                story(world, plan)
        for step in sorted(plan):
            step.run()
    db.session.flush()

