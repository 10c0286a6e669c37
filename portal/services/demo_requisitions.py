"""Demo requisitions: the approval policies of Acme and Globex, and requisitions in every state.

Everything is created through the services, as the people of the demo world would, so the
approval tasks, their reasons, the audit trail and the notifications are the real ones. Each
step runs at a moment of the past few weeks (`_at`): what the step wrote is moved back to that
moment, so the timelines read naturally and `flask send-reminders` finds work (tasks waiting for
more than a day, and some for more than three).

Idempotent: users and policies are looked up before they are added, and requisitions are
created only for a company that has none yet. Runs inside `tenancy.system()` at the end of
`seed_demo()`.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from portal.domain.approval import ApproverKind, Quorum, TaskStatus
from portal.extensions import db
from portal.models import (
    ApprovalAssignment,
    ApprovalTask,
    Attachment,
    AuditEvent,
    BudgetEntry,
    Category,
    Comment,
    CostCenter,
    DecisionToken,
    Delegation,
    Item,
    Notification,
    Requisition,
    User,
)
from portal.models.approval import sync_activation
from portal.models.base import utcnow
from portal.services import approval_policy, approvals, mail, requisitions, users
from portal.tenancy import ALL_TENANTS

D = Decimal
DEMO_PASSWORD = "portal-demo-2026"  # noqa: S105 - the demo password, published in the README

# (organisation key, email, name, roles, approval limit, locale)
BOARD_AND_FINANCE = [
    ("acme", "ceo@acme.example", "Zofia Wójcik", ["approver"], None, "pl"),
    ("acme", "coo@acme.example", "Tomasz Kamiński", ["approver"], None, "pl"),
    # Globex's second step goes to "any approver whose limit covers the amount": approver@globex
    # covers up to 20 000 EUR, so larger requisitions need someone with a higher limit.
    ("globex", "finance@globex.example", "Elena Georgieva", ["approver"], D("100000"), "en"),
]

# Which columns each step's rows get moved back in time.
_TIMESTAMPS = {
    Requisition: ("created_at", "submitted_at", "decided_at", "updated_at"),
    ApprovalTask: ("created_at", "activated_at", "decided_at", "reminded_at", "escalated_at"),
    ApprovalAssignment: ("decided_at",),
    AuditEvent: ("created_at",),
    Notification: ("created_at",),
    Delegation: ("created_at",),
    DecisionToken: ("created_at",),
    Comment: ("created_at",),
    Attachment: ("created_at",),
    BudgetEntry: ("created_at",),
}


_CLOCK = "demo_requisitions.clock"


@event.listens_for(Session, "before_flush")
def _stamp(session, flush_context, instances) -> None:
    """While `_at` runs, give the rows a step writes its moment instead of "now", before they
    are written (a second apart, in the order written; no extra UPDATEs)."""
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
            value = getattr(row, column)
            if (value is None and column == "created_at") or (
                value is not None and value >= clock["started"]
            ):
                setattr(row, column, when)
        if isinstance(row, Requisition):
            row.updated_at = when  # explicitly, or onupdate would write "now"
        if isinstance(row, DecisionToken):
            row.expires_at = when + timedelta(hours=approvals.DECISION_LINK_HOURS)
    # The open assignments copy their task's activated_at, which was just moved back.
    sync_activation(session)


@contextmanager
def _at(moment: datetime):
    """Run a step as if at `moment`: the times it writes become `moment`, so the timeline reads
    as if it happened then."""
    db.session.flush()
    db.session.info[_CLOCK] = {"moment": moment, "started": utcnow(), "tick": 0}
    try:
        yield
        db.session.flush()
    finally:
        db.session.info.pop(_CLOCK, None)


class _Demo:
    """Lookups by email, code and SKU, and the steps of a requisition's story."""

    def __init__(self, org, people: dict):
        self.org = org
        self.people = people
        self.now = utcnow().replace(minute=0, second=0, microsecond=0)

    def user(self, email: str) -> User:
        return self.people[email]

    def cost_center(self, code: str) -> CostCenter:
        return db.session.scalars(select(CostCenter).where(
            CostCenter.organization_id == self.org.id, CostCenter.code == code)).one()

    def category(self, code: str) -> Category:
        return db.session.scalars(select(Category).where(
            Category.organization_id == self.org.id, Category.code == code)).one()

    def item(self, sku: str) -> Item:
        return db.session.scalars(select(Item).where(
            Item.organization_id == self.org.id, Item.sku == sku)).one()

    def ago(self, days: float, hour: int | None = None) -> datetime:
        """`days` before now; with `hour`, at that hour (UTC) of that day."""
        moment = self.now - timedelta(days=days)
        return moment.replace(hour=hour) if hour is not None else moment

    def draft(self, when, requester, title, cost_center, category, lines, *, justification="",
              needed_in_days=None, currency=None) -> Requisition:
        with _at(when):
            needed_by = None
            if needed_in_days:
                needed_by = (self.now + timedelta(days=needed_in_days)).date()
            req = requisitions.create_requisition(
                self.user(requester), title=title, cost_center=self.cost_center(cost_center),
                category=self.category(category) if category else None, justification=justification,
                needed_by=needed_by, currency=currency,
            )
            for line in lines:
                sku, quantity, *free = line
                if sku:
                    requisitions.add_line(req, self.user(requester), item=self.item(sku),
                                          quantity=D(quantity))
                else:
                    description, price, vat = free
                    requisitions.add_line(req, self.user(requester), description=description,
                                          quantity=D(quantity), unit_price=D(price),
                                          vat_rate=D(vat))
        return req

    def submit(self, when, req: Requisition) -> Requisition:
        with _at(when):
            approvals.submit(req, req.requester)
        return req

    def decide(self, when, req: Requisition, who: str, decision: str = "approve",
               comment: str = "") -> Requisition:
        """`who` decides the active step (their own share, or as a delegate)."""
        with _at(when):
            task = next(t for t in approvals.tasks_of(req, req.approval_round)
                        if t.status == TaskStatus.PENDING)
            approvals.decide(task, self.user(who), decision, comment)
        return req

    def comment(self, when, req: Requisition, who: str, body: str) -> None:
        with _at(when):
            requisitions.add_comment(req, self.user(who), body)

    def cancel(self, when, req: Requisition, who: str, comment: str = "") -> None:
        with _at(when):
            requisitions.cancel(req, self.user(who), comment=comment)


def _people(orgs: dict, people: dict) -> dict:
    for key, email, name, roles, limit, locale in BOARD_AND_FINANCE:
        if email not in people:
            found = db.session.scalar(
                select(User).where(User.email == email).execution_options(**ALL_TENANTS)
            )
            people[email] = found or users.create_user(
                orgs[key], email=email, full_name=name, roles=roles, password=DEMO_PASSWORD,
                approval_limit=limit, locale=locale,
            )
    return people


# Step names are what the company's admin typed, so they are in the company's language.
STEP_NAMES = {
    "pl": {"manager": "Kierownik centrum kosztów", "cfo": "Akceptacja dyrektora finansowego",
           "board": "Zarząd: inwestycje IT", "limit": "Akceptujący z wystarczającym limitem"},
    "en": {"manager": "Manager", "cfo": "CFO approval", "board": "Board: IT investments",
           "limit": "Any approver with a sufficient limit"},
}


def _step_names(org) -> dict[str, str]:
    return STEP_NAMES.get(org.locale or "en", STEP_NAMES["en"])


def _acme_policy(demo: _Demo) -> None:
    names = _step_names(demo.org)
    admin = demo.user("admin@acme.example")
    policy = approvals.policy_for(demo.org.id)
    if policy is not None and policy.steps:
        return
    board = [demo.user(f"{who}@acme.example") for who in ("cfo", "ceo", "coo")]
    approval_policy.update_settings(admin, reminder_hours=24, escalation_hours=72,
                                    escalation_user=admin)
    approval_policy.save_step(admin, None, name=names["manager"],
                              approver_kind=ApproverKind.COST_CENTER_MANAGER)
    approval_policy.save_step(admin, None, name=names["cfo"], approver_kind=ApproverKind.USER,
                              min_amount=D("10000"), approver_user=demo.user("cfo@acme.example"))
    approval_policy.save_step(admin, None, name=names["board"],
                              approver_kind=ApproverKind.GROUP, min_amount=D("50000"),
                              category=demo.category("IT"), members=board, quorum=Quorum.N_OF_M,
                              quorum_n=2)


def _globex_policy(demo: _Demo) -> None:
    names = _step_names(demo.org)
    admin = demo.user("admin@globex.example")
    policy = approvals.policy_for(demo.org.id)
    if policy is not None and policy.steps:
        return
    approval_policy.update_settings(admin, reminder_hours=48, escalation_hours=120,
                                    escalation_user=None)
    approval_policy.save_step(admin, None, name=names["manager"],
                              approver_kind=ApproverKind.COST_CENTER_MANAGER)
    approval_policy.save_step(admin, None, name=names["limit"],
                              approver_kind=ApproverKind.APPROVER_LIMIT, min_amount=D("20000"))


def _acme_requisitions(demo: _Demo) -> list[Requisition]:
    """Every state, with the people of Acme. Amounts in PLN gross (VAT 23 % unless noted)."""
    made = []
    buyer, buyer2 = "buyer@acme.example", "buyer2@acme.example"
    admin, approver = "admin@acme.example", "approver@acme.example"
    cfo, ceo, coo = "cfo@acme.example", "ceo@acme.example", "coo@acme.example"

    # The CFO is away this week and next: the CEO decides in her place.
    with _at(demo.ago(6, 8)):
        today = demo.now.date()
        approvals.create_delegation(demo.user(cfo), demo.user(ceo), today - timedelta(days=5),
                                    today + timedelta(days=6))

    # Approved, small (step 1 only): the CFO manages ADM.
    req = demo.draft(demo.ago(24, 9), buyer, "Kawa i artykuły do kuchni", "ADM", "OFFICE",
                     [("BIU-KAWA-1KG", "10"), ("BIU-MLEKO", "24"), ("BIU-CUKIER", "5")],
                     justification="Zapas na miesiąc dla kuchni na II piętrze.")
    demo.submit(demo.ago(24, 10), req)
    demo.decide(demo.ago(23, 8), req, cfo, comment="OK")
    made.append(req)

    # Rejected with a comment.
    req = demo.draft(demo.ago(21, 11), buyer, "Biurka z regulacją wysokości", "ADM", "OFFICE",
                     [("BIU-BIURKO-EL", "4")],
                     justification="Wymiana biurek w dziale księgowości.", needed_in_days=30)
    demo.submit(demo.ago(21, 12), req)
    demo.decide(demo.ago(20, 9), req, cfo, "reject",
                "Nie w tym kwartale — wróćmy do tematu w styczniu, po zamknięciu budżetu.")
    made.append(req)

    # Approved, then cancelled by the admin.
    req = demo.draft(demo.ago(19, 10), buyer2, "Transport palet do klienta w Kutnie", "LOG", "SERV",
                     [("SRV-TRANSPORT", "6"), ("PROD-PALETA-EUR", "6")])
    demo.submit(demo.ago(19, 11), req)
    demo.decide(demo.ago(18, 14), req, approver)
    demo.cancel(demo.ago(17, 9), req, admin, "Klient odwołał zamówienie — transport niepotrzebny.")
    made.append(req)

    # Cancelled by the requester while still a draft.
    req = demo.draft(demo.ago(16, 13), buyer, "Drukarka do recepcji", "ADM", "IT",
                     [("IT-DRUK-A4", "1"), ("IT-TONER-59A", "2")])
    demo.cancel(demo.ago(15, 9), req, buyer, "Drukarka znalazła się w magazynie.")
    made.append(req)

    # Approved, small, for buyer2.
    req = demo.draft(demo.ago(14, 8), buyer2, "Farba proszkowa RAL 7035", "PROD", "PROD",
                     [("PROD-FARBA-7035", "120"), ("PROD-KLEJ-EP", "10")], needed_in_days=10)
    demo.submit(demo.ago(14, 9), req)
    demo.decide(demo.ago(13, 15), req, approver, comment="Zgodnie z planem produkcji.")
    made.append(req)

    # Returned by the CFO with a comment: a draft again, awaiting the buyer's changes.
    req = demo.draft(demo.ago(12, 9), buyer, "Monitory dla działu konstrukcyjnego", "IT", "IT",
                     [("IT-MON-27", "10")], justification="Drugi monitor dla 10 konstruktorów.")
    demo.submit(demo.ago(12, 10), req)
    demo.decide(demo.ago(11, 13), req, admin)
    demo.decide(demo.ago(10, 9), req, cfo, "return",
                "Proszę dołączyć porównanie ofert od dwóch dostawców.")
    demo.comment(demo.ago(10, 10), req, buyer, "Dołączę oferty Nordwind i Polbud do piątku.")
    made.append(req)

    # Approved, large: all three steps, the CFO's by the CEO as her delegate, then two of the
    # board. Step 1 goes to the admins: the IT manager's limit (10 000) is below the amount.
    req = demo.draft(demo.ago(9, 9), buyer, "Licencje Microsoft 365 na 2027 rok", "IT", "IT",
                     [("IT-LIC-M365", "90")],
                     justification="Odnowienie subskrypcji dla wszystkich pracowników biurowych.",
                     needed_in_days=35)
    demo.submit(demo.ago(9, 10), req)
    demo.decide(demo.ago(8, 9), req, admin, comment="Liczba licencji zgodna z ewidencją kadr.")
    demo.decide(demo.ago(4, 10), req, ceo, comment="W zastępstwie Ewy Lewandowskiej.")
    demo.decide(demo.ago(3, 11), req, ceo)
    demo.decide(demo.ago(2, 9), req, coo, comment="Akceptuję.")
    made.append(req)

    # Pending at the board step with one of the two approvals it needs.
    req = demo.draft(demo.ago(7, 9), buyer, "Laptopy dla działu IT", "IT", "IT",
                     [("IT-LAP-14", "12"), ("IT-STAC-USBC", "12"), ("IT-MON-27", "6")],
                     justification="Wymiana sprzętu starszego niż 5 lat (12 stanowisk).",
                     needed_in_days=21)
    demo.submit(demo.ago(7, 10), req)
    demo.decide(demo.ago(6, 11), req, admin)
    demo.decide(demo.ago(6, 15), req, cfo, comment="Mieści się w budżecie IT na ten rok.")
    demo.decide(demo.ago(2, 14), req, coo, comment="Za.")
    made.append(req)

    # Pending at step 2: step 1 approved (by the admin: above the PROD manager's limit), now the
    # CFO's turn; the CEO may decide it as her delegate.
    req = demo.draft(demo.ago(4, 8), buyer2, "Blacha stalowa DC01 na zlecenie 2026/114", "PROD",
                     "PROD", [("PROD-BLA-2MM", "30"), ("PROD-PROF-40", "40")], needed_in_days=14)
    demo.submit(demo.ago(4, 9), req)
    demo.decide(demo.ago(3, 12), req, admin, comment="Potrzebne na zlecenie 2026/114.")
    made.append(req)

    # Pending at step 1 for more than three days: `send-reminders` escalates it to the admin.
    req = demo.draft(demo.ago(4, 12), buyer2, "Rękawice i środki ochrony osobistej", "PROD", "MRO",
                     [("MRO-REK-NITR", "20"), ("MRO-OKULARY", "30"), ("MRO-KASK", "10")])
    demo.submit(demo.ago(4, 13), req)
    made.append(req)

    # Pending at step 1 for a day and a half: `send-reminders` reminds the manager.
    req = demo.draft(demo.ago(1.5), buyer, "Serwis wózka widłowego", "LOG", "SERV",
                     [("SRV-SERWIS-H", "16"), ("MRO-OLEJ-HLP46", "2"), ("MRO-LOZ-6204", "8")],
                     justification="Przegląd roczny UDT i wymiana łożysk.", needed_in_days=7)
    demo.submit(demo.ago(1.45), req)
    made.append(req)

    # Drafts (after the one above whatever the hour: numbers follow creation).
    made.append(demo.draft(demo.ago(0.9), buyer, "Papier A4 i tonery", "ADM", "OFFICE",
                           [("BIU-PAP-A4", "40"), ("IT-TONER-59A", "4"), ("BIU-SEGR-75", "20")]))
    made.append(demo.draft(demo.ago(0.2), buyer2, "Krzesła ergonomiczne do biura", "ADM", "OFFICE",
                           [("BIU-KRZ-ERG", "6"),
                            (None, "1", "Montaż i wniesienie krzeseł", "150.00", "23")],
                           justification="Nowe stanowiska w dziale sprzedaży."))
    return made


def _globex_requisitions(demo: _Demo) -> list[Requisition]:
    buyer, _manager = "buyer@globex.example", "approver@globex.example"
    admin, finance = "admin@globex.example", "finance@globex.example"
    made = []
    # Approved: two steps (the manager's limit is below the amount, so Globex's admin decides
    # step 1; step 2 goes to the approver whose limit covers it).
    req = demo.draft(demo.ago(10, 8), buyer, "Laptops for the sales team", "SALES", "IT",
                     [("GX-LAP-14", "16"), ("GX-DOCK-USBC", "16"), ("GX-MON-27", "16")],
                     justification="New hires joining in January.", needed_in_days=30)
    demo.submit(demo.ago(10, 9), req)
    demo.decide(demo.ago(9, 10), req, admin)
    demo.decide(demo.ago(8, 13), req, finance, comment="Approved within the Q4 budget.")
    made.append(req)
    # Pending at the manager's step.
    req = demo.draft(demo.ago(2, 9), buyer, "Office chairs for the Sofia office", "ADM", "OFFICE",
                     [("GX-CHAIR-ERGO", "6"), ("GX-SRV-COURIER", "2")])
    demo.submit(demo.ago(2, 10), req)
    made.append(req)
    # A draft.
    made.append(demo.draft(demo.ago(0.5), buyer, "Paper and pens", "WH", "OFFICE",
                           [("GX-PAPER-A4", "50"), ("GX-PENS-BLUE", "4")]))
    return made


def _has_requisitions(org) -> bool:
    return bool(db.session.scalar(
        select(func.count(Requisition.id)).where(Requisition.organization_id == org.id)))


def seed_requisitions(world: dict) -> dict:
    """Add the board and finance users, the approval policies, and (for a company without any)
    the demo requisitions; returns the requisitions created, by organisation key.

    `world` is what `seed_demo()` built ("orgs", "users"); the new users are added to it."""
    orgs, people = world["orgs"], world["users"]
    created: dict[str, list[Requisition]] = {}
    # The demo people have made-up addresses: their notifications are kept, their e-mails not
    # sent. Links are `Link`s, so nothing here needs a request.
    with mail.suppressed():
        _people(orgs, people)
        acme, globex = _Demo(orgs["acme"], people), _Demo(orgs["globex"], people)
        _acme_policy(acme)
        _globex_policy(globex)
        db.session.flush()
        if not _has_requisitions(acme.org):
            created["acme"] = _acme_requisitions(acme)
        if not _has_requisitions(globex.org):
            created["globex"] = _globex_requisitions(globex)
    db.session.flush()
    return created
