"""Payment reminders for the buyer's open invoices (the job: portal/jobs/payment_reminders.py).

Three days before an invoice's due date, on the due date, then every week while it is overdue
(`portal.domain.invoicing.reminder_kind`), the buyer's admins (who pay) get a notification and
an e-mail; once overdue, the supplier's people are told too. Each reminder is an
`InvoiceReminder` row for (invoice, day), unique: never twice for the same invoice and day,
however often the job runs. Runs in the current (buyer's) scope and never commits.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from portal.domain.invoicing import REMIND_BEFORE_DAYS, REMINDED, ReminderKind, reminder_kind
from portal.domain.messages import N_, Link
from portal.domain.roles import Role
from portal.extensions import db
from portal.models import Organization
from portal.models.invoice import Invoice, InvoiceKind, InvoiceReminder, InvoiceStatus
from portal.money import Money
from portal.services import audit
from portal.services.clock import today_for
from portal.services.notifications import notify_organization

# Invoices read at a time (their last reminders are read per batch).
BATCH = 500

BUYER_TEXTS = {
    ReminderKind.BEFORE: N_("Invoice %(number)s from %(supplier)s for %(amount)s is due on %(due)s."),
    ReminderKind.DUE: N_("Invoice %(number)s from %(supplier)s for %(amount)s is due today."),
    ReminderKind.OVERDUE: N_("Invoice %(number)s from %(supplier)s is overdue since %(due)s: "
                             "%(amount)s is still to pay."),
}
SUPPLIER_TEXT = N_("%(buyer)s has not paid invoice %(number)s, due on %(due)s: %(amount)s is still due.")


def _candidates(org_id: int, today: date) -> list[Invoice]:
    """The buyer's reminded invoices due within the next days or overdue, by due date."""
    return list(db.session.scalars(
        select(Invoice)
        .where(Invoice.organization_id == org_id,
               Invoice.status.in_([InvoiceStatus(s) for s in REMINDED]),
               Invoice.kind == InvoiceKind.INVOICE,
               Invoice.due_date.is_not(None),
               Invoice.due_date <= today + timedelta(days=REMIND_BEFORE_DAYS))
        .order_by(Invoice.due_date, Invoice.id)))


def _last_sent(invoice_ids: list[int]) -> dict[int, date]:
    return dict(db.session.execute(
        select(InvoiceReminder.invoice_id, func.max(InvoiceReminder.day))
        .where(InvoiceReminder.invoice_id.in_(invoice_ids))
        .group_by(InvoiceReminder.invoice_id)).all())


def _remind(invoice: Invoice, kind: ReminderKind, today: date, buyer: Organization) -> None:
    amount = Money(invoice.amount_due, invoice.currency)
    db.session.add(InvoiceReminder(invoice_id=invoice.id, day=today, kind=str(kind)))
    audit.record(actor=None, action="invoice.reminder_sent", obj=invoice,
                 summary={"number": invoice.number, "kind": str(kind), "due": invoice.due_date,
                          "amount": amount})
    notify_organization(buyer.id, BUYER_TEXTS[kind], roles=[Role.ADMIN],
                        link=Link("invoices.detail", {"invoice_id": invoice.id}), kind="invoice.reminder",
                        number=invoice.number, supplier=invoice.supplier.name, amount=amount,
                        due=invoice.due_date)
    if kind == ReminderKind.OVERDUE:
        notify_organization(invoice.supplier_id, SUPPLIER_TEXT,
                            link=Link("supplier.invoice", {"invoice_id": invoice.id}),
                            kind="invoice.reminder", buyer=buyer.name, number=invoice.number,
                            due=invoice.due_date, amount=amount)


def remind_payments(buyer: Organization, *, today: date | None = None) -> int:
    """Send today's payment reminders for the buying organisation `buyer` (the bound scope).

    `today` defaults to the buyer's date in its time zone. Returns how many invoices were
    reminded. Idempotent: an invoice reminded today is not reminded again."""
    today = today or today_for(buyer)
    invoices = [i for i in _candidates(buyer.id, today) if i.amount_due > 0]
    sent = 0
    for start in range(0, len(invoices), BATCH):
        batch = invoices[start:start + BATCH]
        last = _last_sent([i.id for i in batch])
        for invoice in batch:
            kind = reminder_kind(invoice.due_date, today, last.get(invoice.id))
            if kind is None:
                continue
            _remind(invoice, kind, today, buyer)
            sent += 1
        db.session.flush()
    return sent
