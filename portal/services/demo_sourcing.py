"""The demo world's sourcing: RFQs in every state for Acme and Globex, the suppliers' quotes,
a comparison ready to award, awards per line, purchase orders in every state and one order
straight from a price agreement.

Everything goes through the sourcing services, as the people of the demo world would do it,
so the audit trail, the notifications, the budget ledger and the stored PDFs are the real
ones. Each step runs at a moment of the past weeks: the services get that moment as `now=`
(deadlines, sealed openings, late quotes follow the sourcing clock), and `_at` moves what the
step wrote (audit events, notifications, ledger entries, created_at) back to it, so the
timelines read naturally.

Who does what:
- Acme (buyer@acme.example, buyer2@acme.example) invites Nordwind, Polbud and Tatra; Globex
  (buyer@globex.example) invites Nordwind and Tatra, never Polbud.
- Tatra Industrial is the demo's third supplier (the comparison needs three quotes): it is
  created here, with its user sales@tatra.example, and linked to both buyers.

Idempotent: a company that already has RFQs gets no more. Runs inside `tenancy.system()` at
the end of `seed_demo()` (documents only: the tests' base world has none of this).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from portal.domain.receiving import ReceiptLineInput
from portal.domain.terms import PaymentTerms
from portal.extensions import db
from portal.models import (
    AuditEvent,
    BudgetEntry,
    Notification,
    Organization,
    OrgKind,
    Requisition,
    SupplierLink,
    User,
)
from portal.models.base import utcnow
from portal.models.order import GoodsReceipt, PurchaseOrder, PurchaseOrderDocument
from portal.models.rfq import (
    Quote,
    Rfq,
    RfqInvitation,
    RfqQuestion,
)
from portal.services import mail, orgs, suppliers, users
from portal.services.demo_requisitions import _Demo
from portal.services.orders import actions, direct, receiving
from portal.services.sourcing import award, quotes, rfqs
from portal.tenancy import ALL_TENANTS

D = Decimal
DEMO_PASSWORD = "portal-demo-2026"  # noqa: S105 - the demo password, published in the README

TATRA = dict(
    kind=OrgKind.SUPPLIER, name="Tatra Industrial", legal_name="Tatra Industrial s.r.o.",
    tax_id="SK2020312349", address_line="Mlynské nivy 48", postal_code="821 09",
    city="Bratislava", country="SK", currency="EUR", locale="en",
)
TATRA_USER = ("sales@tatra.example", "Jana Horváthová", ["supplier_admin", "supplier_sales"], "en")
# (buyer, payment terms, currency, credit limit)
TATRA_LINKS = [
    ("acme", PaymentTerms.net(30), "PLN", D("150000")),
    ("globex", PaymentTerms.net(30), "EUR", D("100000")),
]

# The rows each step writes that get moved back to the step's moment.
_TIMESTAMPS = {
    Rfq: ("created_at", "updated_at"),
    RfqInvitation: ("created_at",),
    RfqQuestion: ("created_at",),
    Quote: ("created_at", "updated_at"),
    PurchaseOrder: ("created_at", "updated_at"),
    PurchaseOrderDocument: ("created_at",),
    GoodsReceipt: ("created_at",),
    Requisition: ("updated_at",),
    AuditEvent: ("created_at",),
    Notification: ("created_at",),
    BudgetEntry: ("created_at",),
}
_CLOCK = "demo_sourcing.clock"


@event.listens_for(Session, "before_flush")
def _stamp(session, flush_context, instances) -> None:
    """While `_at` runs, the rows a step writes get its moment instead of "now" (a second apart,
    in the order written)."""
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
        if isinstance(row, Requisition | Rfq | Quote | PurchaseOrder):
            row.updated_at = when  # explicitly, or onupdate would write "now"


@contextmanager
def _at(moment: datetime):
    db.session.flush()
    db.session.info[_CLOCK] = {"moment": moment, "started": utcnow(), "tick": 0}
    try:
        yield moment
        db.session.flush()
    finally:
        db.session.info.pop(_CLOCK, None)


# ---------------------------------------------------------------------------------------------
# The third supplier


def _tatra(world) -> Organization:
    org = db.session.scalar(select(Organization).where(
        Organization.country == TATRA["country"], Organization.tax_id == TATRA["tax_id"]))
    if org is None:
        org = orgs.create_organization(**TATRA)
    email, name, roles, locale = TATRA_USER
    user = db.session.scalar(select(User).where(User.email == email).execution_options(**ALL_TENANTS))
    if user is None:
        user = users.create_user(org, email=email, full_name=name, roles=roles,
                                 password=DEMO_PASSWORD, locale=locale)
    world["orgs"]["tatra"] = org
    world["users"][email] = user
    for buyer, terms, currency, credit in TATRA_LINKS:
        suppliers.link_supplier(world["orgs"][buyer], org, actor=world["users"][f"admin@{buyer}.example"],
                                payment_terms=terms, currency=currency, credit_limit=credit)
    db.session.flush()
    return org


# ---------------------------------------------------------------------------------------------
# The steps


class _Sourcing:
    """The demo's sourcing steps for one buying company, each at a moment of the past."""

    def __init__(self, world: dict, key: str):
        self.world = world
        self.org = world["orgs"][key]
        self.key = key
        self.now = utcnow().replace(minute=0, second=0, microsecond=0)
        self.zone = ZoneInfo(getattr(self.org, "time_zone", None) or "Europe/Warsaw")

    def user(self, email: str) -> User:
        return self.world["users"][email]

    def ago(self, days: float, hour: int | None = None) -> datetime:
        """`days` before now; with `hour`, at that hour of that day where the company is (its
        days are the ones the invoicing counts: in UTC, the last hour before midnight in Warsaw
        would put "the 1st of this month" on the last day of the month before)."""
        moment = self.now - timedelta(days=days)
        if hour is None:
            return moment
        return self.local(self.day(moment), hour).astimezone(moment.tzinfo)

    def day(self, moment: datetime) -> date:
        """The company's date of `moment`."""
        return moment.astimezone(self.zone).date()

    def local(self, day: date, hour: int) -> datetime:
        """`hour` o'clock of `day` in the company's time zone (deadlines are set that way)."""
        return datetime.combine(day, time(hour), tzinfo=self.zone)

    def link(self, supplier_key: str) -> SupplierLink:
        return db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == self.org.id,
            SupplierLink.supplier_id == self.world["orgs"][supplier_key].id)).one()

    def requisition(self, title: str) -> Requisition:
        return db.session.scalars(select(Requisition).where(
            Requisition.organization_id == self.org.id, Requisition.title == title)).one()

    # RFQs

    def rfq(self, when, buyer, title, *, requisition=None, lines=(), suppliers_=(), sealed=True,
            description="", delivery_address="", needed_in_days=None) -> Rfq:
        """A draft RFQ from an approved requisition's lines (or typed `lines`), with invitations."""
        actor = self.user(buyer)
        with _at(when):
            rfq = rfqs.create_rfq(
                actor, title=title, description=description, sealed=sealed,
                delivery_address=delivery_address or self.address(),
                needed_by=(when + timedelta(days=needed_in_days)).date() if needed_in_days else None,
                requisition_line_ids=[line.id for line in requisition.lines] if requisition else (),
                now=when,
            )
            for description_, quantity, unit, vat, notes in lines:
                rfqs.add_line(rfq, actor, description=description_, quantity=D(quantity), unit=unit,
                              vat_rate=D(vat), notes=notes)
            for supplier in suppliers_:
                rfqs.invite(rfq, actor, self.link(supplier))
        return rfq

    def address(self) -> str:
        org = self.org
        return f"{org.legal_name}\n{org.address_line}\n{org.postal_code} {org.city}"

    def publish(self, when, rfq, buyer, deadline: datetime) -> Rfq:
        with _at(when):
            return rfqs.publish(rfq, self.user(buyer), deadline=deadline, now=when)

    def cancel(self, when, rfq, buyer, reason: str) -> None:
        with _at(when):
            rfqs.cancel(rfq, self.user(buyer), reason=reason, now=when)

    def close(self, when, rfq, buyer, *, open_quotes: bool = False) -> None:
        with _at(when):
            rfqs.close(rfq, self.user(buyer), now=when)
            if open_quotes:
                rfqs.open_quotes(rfq, self.user(buyer), now=when)

    def question(self, when, rfq, supplier_email, body, *, answered_at=None, buyer=None, answer=""):
        with _at(when):
            asked = quotes.ask_question(rfq, self.user(supplier_email), body=body, now=when)
        if answered_at is not None:
            with _at(answered_at):
                rfqs.answer_question(asked, self.user(buyer), answer=answer, now=answered_at)
        return asked

    # Quotes

    def invitation(self, rfq, supplier_key) -> RfqInvitation:
        return db.session.scalars(select(RfqInvitation).where(
            RfqInvitation.rfq_id == rfq.id,
            RfqInvitation.supplier_id == self.world["orgs"][supplier_key].id)).one()

    def quote(self, when, rfq, supplier_key, email, prices, *, reference, notes="", freight="0",
              other="0", charges_note="", lead_days=10, submit=True, valid_days=45,
              revise_at=None, revised=None) -> Quote:
        """`supplier_key`'s quote: `prices` per RFQ line in position order (None: not quoted);
        saved as a draft, then submitted at `when` unless `submit` is false. `revise_at`: a second
        revision at that moment with `revised` prices."""
        actor = self.user(email)
        invitation = self.invitation(rfq, supplier_key)
        valid_until = (rfq.deadline + timedelta(days=valid_days)).date()

        def values(prices_):
            return dict(
                supplier_reference=reference, valid_until=valid_until, notes=notes,
                freight=D(freight), other_charges=D(other), charges_note=charges_note,
                lines={line.id: quotes.QuoteLineInput(
                    unit_price=None if price is None else D(price), lead_time_days=lead_days)
                    for line, price in zip(rfq.lines, prices_, strict=True)})

        drafted = when - timedelta(hours=1)
        with _at(drafted):
            quote = quotes.start_quote(invitation, actor, now=drafted)
            quotes.save_draft(quote, actor, now=drafted, **values(prices))
        if submit:
            with _at(when):
                quotes.submit(quote, actor, now=when)
        if revise_at is not None:
            with _at(revise_at):
                quotes.revise(quote, actor, now=revise_at, **values(revised))
        return quote

    def decline(self, when, rfq, supplier_key, email, reason) -> None:
        with _at(when):
            quotes.decline(self.invitation(rfq, supplier_key), self.user(email), reason=reason, now=when)

    # Award and orders

    def award(self, when, rfq, buyer, winners: list[str], reasons: dict[int, str] | None = None
              ) -> list[PurchaseOrder]:
        """Award line by line: `winners[i]` is the supplier key winning line i; `reasons` by
        line position (1-based) where the winner is not the cheapest."""
        quotes_by_supplier = {
            q.supplier_id: q for q in db.session.scalars(select(Quote).where(Quote.rfq_id == rfq.id))}
        choices, why = {}, {}
        for line, supplier_key in zip(rfq.lines, winners, strict=True):
            choices[line.id] = quotes_by_supplier[self.world["orgs"][supplier_key].id].id
            if reasons and line.position in reasons:
                why[line.id] = reasons[line.position]
        with _at(when):
            orders = award.award(rfq, self.user(buyer), choices=choices, reasons=why, now=when)
        return sorted(orders, key=lambda order: order.id)

    def acknowledge(self, when, order, email) -> None:
        with _at(when):
            actions.acknowledge(order, self.user(email), now=when)

    def propose_date(self, when, order, email, delivery_date, note) -> None:
        with _at(when):
            actions.propose_date(order, self.user(email), delivery_date=delivery_date, note=note,
                                 now=when)

    def receive(self, when, order, buyer, quantities: dict[int, str], note="") -> None:
        """Record a delivery: `quantities` by order line position."""
        lines = {line.id: ReceiptLineInput(quantity=D(quantities[line.position]))
                 for line in order.lines if line.position in quantities}
        with _at(when):
            receiving.record_receipt(order, self.user(buyer), received_on=when.astimezone(self.zone).date(),
                                     note=note, lines=lines, now=when)


# ---------------------------------------------------------------------------------------------
# Acme


def _acme(world, demo: _Demo) -> None:
    s = _Sourcing(world, "acme")
    buyer, buyer2 = "buyer@acme.example", "buyer2@acme.example"
    nordwind, polbud, tatra = "sales@nordwind.example", "sales@polbud.example", "sales@tatra.example"

    # Cancelled, then asked again: the kitchen supplies (approved 23 days ago). The first RFQ
    # named the wrong delivery address; the second was open (not sealed) and awarded line by
    # line: the coffee to Nordwind, milk and sugar to Polbud (the milk not the cheapest, with
    # the reason). Two orders.
    kitchen = s.requisition("Kawa i artykuły do kuchni")
    first = s.rfq(s.ago(22, 9), buyer, "Kawa, mleko i cukier do kuchni", requisition=kitchen,
                  suppliers_=("nordwind", "polbud"), sealed=False,
                  delivery_address="Acme Manufacturing Sp. z o.o.\nul. Składowa 21\n61-897 Poznań")
    s.publish(s.ago(22, 10), first, buyer, s.local(s.day(s.ago(16)), 12))
    s.cancel(s.ago(21, 8), first, buyer,
             "Błędny adres dostawy w zapytaniu. Ogłaszamy je ponownie z poprawnym adresem.")
    second = s.rfq(s.ago(21, 9), buyer, "Kawa, mleko i cukier do kuchni (ponownie)",
                   requisition=kitchen, suppliers_=("nordwind", "polbud"), sealed=False,
                   description="Dostawa jednorazowa do kuchni na II piętrze.")
    s.publish(s.ago(21, 10), second, buyer, s.local(s.day(s.ago(16)), 12))
    s.quote(s.ago(19, 9), second, "nordwind", nordwind, ["74.00", "3.55", "4.90"],
            reference="NW-Q-26-0412", lead_days=5, notes="Delivery by our own van from Hamburg.")
    s.quote(s.ago(18, 14), second, "polbud", polbud, ["77.50", "3.70", "4.60"],
            reference="PB/OF/26/1187", lead_days=2, notes="Dostawa w ciągu dwóch dni roboczych.")
    s.close(s.ago(16, 12), second, buyer)
    kawa_nordwind, kawa_polbud = _by_supplier(s.award(
        s.ago(15, 9), second, buyer, ["nordwind", "polbud", "polbud"],
        reasons={2: "Mleko razem z cukrem od jednego dostawcy: jedna dostawa, krótszy termin."}),
        world, "nordwind", "polbud")
    s.acknowledge(s.ago(15, 13), kawa_nordwind, nordwind)
    s.acknowledge(s.ago(14, 9), kawa_polbud, polbud)
    s.receive(s.ago(12, 10), kawa_polbud, buyer, {1: "24", 2: "5"},
              note="Dostawa kompletna, bez uszkodzeń.")
    s.receive(s.ago(9, 11), kawa_nordwind, buyer, {1: "6"},
              note="Pierwsza część dostawy. Reszta kawy w przyszłym tygodniu.")

    # Closed and opened, ready to compare: the powder paint, three sealed quotes (Nordwind
    # revised its own once).
    paint = s.requisition("Farba proszkowa RAL 7035")
    rfq = s.rfq(s.ago(12, 9), buyer2, "Farba proszkowa RAL 7035 i klej epoksydowy",
                requisition=paint, suppliers_=("nordwind", "polbud", "tatra"),
                description="Farba do malowania obudów szaf sterowniczych; karta techniczna w ofercie.")
    s.publish(s.ago(12, 10), rfq, buyer2, s.local(s.day(s.ago(2)), 12))
    s.quote(s.ago(9, 10), rfq, "polbud", polbud, ["31.20", "64.00"], reference="PB/OF/26/1301",
            lead_days=7)
    s.quote(s.ago(7, 14), rfq, "nordwind", nordwind, ["30.40", "71.00"], reference="NW-Q-26-0518",
            freight="180.00", charges_note="Freight Hamburg to Poznań", lead_days=12,
            revise_at=s.ago(4, 9), revised=["29.80", "71.00"])
    s.quote(s.ago(4, 15), rfq, "tatra", tatra, ["30.50", "66.50"], reference="TI-2026-771",
            freight="250.00", charges_note="Pallet freight", lead_days=10)
    s.close(s.ago(2, 12), rfq, buyer2, open_quotes=True)

    # Draft: the air-conditioning service (typed lines), suppliers chosen, not published. (The
    # Microsoft 365 licences stay approved: a requisition to put out for quotes.)
    s.rfq(s.ago(1, 10), buyer, "Przegląd klimatyzacji w biurach", suppliers_=("nordwind", "polbud"),
          lines=[("Przegląd klimatyzatora ściennego z odgrzybianiem", "14", "pcs", "23", ""),
                 ("Wymiana filtra klimatyzatora", "14", "pcs", "23", "Filtry producenta.")],
          description="Przegląd okresowy przed sezonem letnim.")

    # Open and sealed: pallet racks for the warehouse (a requisition approved this morning).
    # Nordwind has submitted; Polbud asked whether assembly is included, has its answer, and is
    # still working on a draft the buyer cannot see.
    racks = demo.draft(demo.ago(0.19), buyer2, "Regały paletowe do magazynu", "LOG", None, [
        (None, "6", "Regał paletowy, rama 4500 mm", "850.00", "23"),
        (None, "18", "Belka nośna 2700 mm, para", "160.00", "23"),
    ], justification="Nowa strefa składowania w hali B.", needed_in_days=30)
    demo.submit(demo.ago(0.185), racks)
    demo.decide(demo.ago(0.17), racks, "approver@acme.example", comment="Zgodnie z planem.")
    rfq = s.rfq(demo.ago(0.16), buyer2, "Regały paletowe do magazynu", requisition=racks,
                suppliers_=("nordwind", "polbud"),
                description="Regały z montażem i protokołem odbioru.")
    s.publish(demo.ago(0.15), rfq, buyer2, s.local(s.day(s.now + timedelta(days=4)), 12))
    s.question(demo.ago(0.12), rfq, polbud, "Czy cena ma obejmować montaż regałów?",
               answered_at=demo.ago(0.11), buyer=buyer2,
               answer="Tak: z montażem i protokołem odbioru.")
    s.quote(demo.ago(0.08), rfq, "nordwind", nordwind, ["820.00", "152.00"],
            reference="NW-Q-26-0602", lead_days=21, notes="Assembly included.")
    s.quote(demo.ago(0.04), rfq, "polbud", polbud, ["799.00", None], reference="PB/OF/26/1420",
            lead_days=14, submit=False, notes="Wersja robocza: czekamy na cenę belek.")

    # Straight from the price agreement: hydraulic oil from Polbud (approved today), one order,
    # acknowledged.
    oil = demo.draft(demo.ago(0.14), buyer2, "Olej hydrauliczny do prasy krawędziowej", "LOG", "MRO",
                     [("MRO-OLEJ-HLP46", "12")], needed_in_days=7)
    demo.submit(demo.ago(0.135), oil)
    demo.decide(demo.ago(0.12), oil, "approver@acme.example")
    with _at(demo.ago(0.1)):
        (order,) = direct.orders_from_agreements(oil, s.user(buyer2), now=demo.ago(0.1))
    s.acknowledge(demo.ago(0.05), order, polbud)


# ---------------------------------------------------------------------------------------------
# Globex


def _globex(world, demo: _Demo) -> None:
    s = _Sourcing(world, "globex")
    buyer = "buyer@globex.example"
    nordwind, tatra = "sales@nordwind.example", "sales@tatra.example"

    # Cancelled: office cleaning stays with the building management (Tatra had declined).
    rfq = s.rfq(s.ago(14, 8), buyer, "Office cleaning 2027", suppliers_=("nordwind", "tatra"),
                lines=[("Office cleaning, monthly, Sofia office", "12", "month", "23", "")])
    s.publish(s.ago(14, 9), rfq, buyer, s.local(s.day(s.ago(7)), 12))
    s.decline(s.ago(13, 9), rfq, "tatra", tatra, "We do not offer cleaning services.")
    s.cancel(s.ago(11, 10), rfq, buyer, "The building management keeps the cleaning in 2027.")

    # Awarded line by line: the sales team's laptops (approved 8 days ago), sealed. Laptops and
    # monitors to Tatra, the docking stations to Nordwind (at its agreed price). Tatra proposes
    # a later delivery date; Nordwind has not acknowledged yet.
    laptops = s.requisition("Laptops for the sales team")
    rfq = s.rfq(s.ago(8, 14), buyer, "Laptops, docks and monitors for the sales team",
                requisition=laptops, suppliers_=("nordwind", "tatra"), needed_in_days=30)
    s.publish(s.ago(8, 15), rfq, buyer, s.local(s.day(s.ago(4)), 12))
    s.quote(s.ago(7, 10), rfq, "nordwind", nordwind, ["1049.00", "168.00", "272.00"],
            reference="NW-Q-26-0577", lead_days=10)
    s.quote(s.ago(5, 11), rfq, "tatra", tatra, ["1015.00", "182.00", "259.00"],
            reference="TI-2026-802", lead_days=14, freight="120.00", charges_note="Courier")
    s.close(s.ago(4, 11), rfq, buyer, open_quotes=True)
    to_tatra, to_nordwind = _by_supplier(
        s.award(s.ago(3, 9), rfq, buyer, ["tatra", "nordwind", "tatra"]), world, "tatra", "nordwind")
    s.propose_date(s.ago(2, 10), to_tatra, tatra, s.day(s.now + timedelta(days=21)),
                   "The monitors ship from our Bratislava warehouse a week later than asked.")

    # Closed by its deadline, sealed and not yet opened: warehouse shelving (typed lines).
    rfq = s.rfq(s.ago(6, 9), buyer, "Warehouse shelving for the Sofia office",
                suppliers_=("nordwind", "tatra"),
                lines=[("Steel shelving unit, 5 shelves, 2000 mm", "10", "pcs", "23", ""),
                       ("Shelf labels, pack", "4", "pack", "23", "")])
    s.publish(s.ago(6, 10), rfq, buyer, s.local(s.day(s.ago(1)), 12))
    s.quote(s.ago(4, 9), rfq, "nordwind", nordwind, ["139.00", "18.50"], reference="NW-Q-26-0590")
    s.quote(s.ago(2, 16), rfq, "tatra", tatra, ["128.00", "21.00"], reference="TI-2026-815",
            freight="90.00", charges_note="Delivery")
    s.close(s.ago(1, 12), rfq, buyer)

    # Open, not sealed: headsets for the support desk. Tatra has quoted; Nordwind has it on its
    # list of RFQs to answer.
    rfq = s.rfq(s.ago(1, 9), buyer, "Headsets for the support desk",
                suppliers_=("nordwind", "tatra"), sealed=False,
                lines=[("Headset with active noise cancelling", "8", "pcs", "23", "USB-C")])
    s.publish(s.ago(1, 10), rfq, buyer, s.local(s.day(s.now + timedelta(days=5)), 12))
    s.quote(s.ago(0.6), rfq, "tatra", tatra, ["94.00"], reference="TI-2026-830", lead_days=7)

    # Draft: office chairs, suppliers not chosen yet.
    s.rfq(s.ago(0.3), buyer, "Ergonomic chairs for the new hires",
          lines=[("Ergonomic office chair", "6", "pcs", "23", "")])

    # Approved and waiting: courier parcels, every line at an agreed price (Nordwind), so Maria
    # can order it straight from the agreement without an RFQ.
    parcels = demo.draft(demo.ago(0.25), buyer, "Courier parcels for December", "ADM", "SERV",
                         [("GX-SRV-COURIER", "40")], needed_in_days=10)
    demo.submit(demo.ago(0.24), parcels)
    demo.decide(demo.ago(0.2), parcels, "approver@globex.example")


def _by_supplier(orders, world, *keys):
    by_id = {order.supplier_id: order for order in orders}
    return [by_id[world["orgs"][key].id] for key in keys]


def _has_rfqs(org) -> bool:
    return db.session.scalar(select(Rfq.id).where(Rfq.organization_id == org.id).limit(1)) is not None


def seed_sourcing(world: dict) -> None:
    """Add the third supplier and (for a company without any RFQ) the sourcing documents.
    `world` is what `seed_demo()` built; Tatra and its user are added to it."""
    with mail.suppressed():
        _tatra(world)
        for key, story in (("acme", _acme), ("globex", _globex)):
            org = world["orgs"][key]
            if _has_rfqs(org):
                continue
            story(world, _Demo(org, world["users"]))
    db.session.flush()
