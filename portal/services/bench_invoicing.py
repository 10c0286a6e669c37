"""Invoicing in the benchmark world (services.bench_seed, through services.bench_sourcing): the
suppliers' invoices of the large company's received and partly received orders, with their
lines, payments and credit notes, as plain tuples in their stored form (services.bench_load).

Each delivered order gets one invoice of its accepted quantities at the order's prices, issued a
day or three after the receipt, due 30 days later. What happened to it depends on its age, as in
a company that pays its bills: recent invoices wait for approval (some flagged mismatched),
were approved, disputed, partly paid or paid; older ones are mostly paid, a few credited whole
by a credit note, and some are still open past their due date (the overdue tab and the aging
buckets). A few are supplier drafts (no number, no dates; the buyer never sees them). Numbers
continue each supplier's counters (`numbers()`; services.numbering kinds "invoice" and
"credit_note"). At 1 000 000 requisitions: about 45 000 invoices.
"""

from __future__ import annotations

import random

from portal.domain.invoicing import SEQUENCE_KINDS, InvoiceKind, format_number
from portal.services.bench_load import Clock, Loader

DAY, HOUR = 86400, 3600
DUE_DAYS = 30
RECENT_DAYS = 45
# Shares (cumulative thresholds are built below): recent invoices and old ones.
RECENT_STATES = [("issued", 40), ("approved", 25), ("partially_paid", 10), ("disputed", 5), ("paid", 20)]
OLD_STATES = [("paid", 83), ("credited", 3), ("approved", 5), ("issued", 3), ("partially_paid", 4),
              ("disputed", 2)]
DRAFT_SHARE, MISMATCH_SHARE, STRIDE = 0.03, 0.1, 37
MISMATCH = "The quantity invoiced exceeds what was received and not yet invoiced."
DISPUTE = "Prices differ from the order."
CREDIT_REASON = "Goods returned."

COLUMNS = {
    "invoices": (
        "id", "organization_id", "supplier_id", "kind", "number", "status", "link_id", "language", "currency",
        "payment_terms", "period", "issue_date", "sale_date", "due_date", "corrects_id", "correction_reason",
        "reverse_charge", "annex15", "split_payment", "net_total", "vat_total", "gross_total", "credited_total",
        "paid_total", "discount_taken", "paid_on", "match_status", "match_override_reason", "bank_account", "notes",
        "created_by_id", "issued_at", "issued_by_id", "approved_at", "approved_by_id", "disputed_at",
        "disputed_by_id", "dispute_reason", "updated_at", "created_at"),
    "invoice_lines": (
        "id", "invoice_id", "position", "order_id", "order_line_id", "corrects_line_id", "description", "quantity",
        "unit", "unit_price", "vat_code", "vat_rate", "net", "vat", "gross", "match_problem"),
    "payments": ("id", "invoice_id", "paid_on", "amount", "discount", "reference", "recorded_by_id", "created_at"),
}


def _buckets(shares: list[tuple[str, int]]) -> list[str]:
    return [state for state, share in shares for _ in range(share)]


class Invoicing:
    """The invoices of one buying company's delivered orders. `counter(supplier, kind)` reads
    the last number a supplier's counter gave this year; `admin` is the buyer's person who
    approves and pays."""

    def __init__(self, load: Loader, clock: Clock, ids: dict, rng: random.Random, *, org: int, admin: int,
                 now: int, year: int, counter):
        self.fixed, self.at, self.date, self.random = load.fixed, clock.at, clock.date, rng.random
        self.ids, self.org, self.admin, self.now, self.year = ids, org, admin, now, year
        self.counter, self.last = counter, {}
        self.recent, self.old = _buckets(RECENT_STATES), _buckets(OLD_STATES)
        self.nothing, self.vat_rate = load.fixed(0, 2), load.fixed(2300, 2)
        self.invoices = 0
        self.picks = {"recent": 0, "old": 0}

    def numbers(self) -> dict[tuple[int, str], int]:
        """(supplier, counter kind) -> the last number given."""
        return dict(self.last)

    def _number(self, supplier: int, kind: InvoiceKind) -> str:
        key = (supplier, SEQUENCE_KINDS[kind])
        if key not in self.last:
            self.last[key] = self.counter(*key)
        self.last[key] += 1
        return format_number(kind, self.year, self.last[key])

    def invoice(self, out: dict, order_id: int, link: tuple, currency: str, delivered: int, lines: list) -> None:
        """An invoice of an order delivered at `delivered` (seconds): `lines` are (order line,
        description, unit, accepted whole units, unit price in 10^-4) of what was accepted."""
        if not lines:
            return
        rnd, ids, at, fixed, now = self.random, self.ids, self.at, self.fixed, self.now
        link_id, supplier, _, terms, user = link
        user = user or self.admin
        issue = delivered + DAY + int(rnd() * 2 * DAY)
        if issue > now - HOUR:
            return
        age = (now - issue) // DAY
        draft = rnd() < DRAFT_SHARE
        if draft:
            state = "draft"
        else:
            # The n-th invoice of a pool takes bucket n * STRIDE % 100: exact shares per hundred.
            pool = "recent" if age < RECENT_DAYS else "old"
            buckets = self.recent if pool == "recent" else self.old
            state = buckets[self.picks[pool] * STRIDE % len(buckets)]
            self.picks[pool] += 1
        invoice_id = next(ids["invoices"])
        self.invoices += 1
        rows, line_ids = out["invoice_lines"].append, ids["invoice_lines"]
        net_total = vat_total = 0
        made = []
        for position, (order_line, description, unit, accepted, price) in enumerate(lines, 1):
            net = (accepted * price + 50) // 100
            vat = (net * 23 + 50) // 100
            net_total += net
            vat_total += vat
            line_id = next(line_ids)
            made.append((line_id, order_line, description, unit, accepted, price, net, vat))
            rows((line_id, invoice_id, position, order_id, order_line, None, description, fixed(accepted * 1000, 3),
                  unit, fixed(price, 4), "23", self.vat_rate, fixed(net, 2), fixed(vat, 2), fixed(net + vat, 2), ""))
        gross = net_total + vat_total
        mismatched = state == "issued" and rnd() < MISMATCH_SHARE
        if mismatched:
            rows_list = out["invoice_lines"]
            rows_list[-1] = (*rows_list[-1][:-1], MISMATCH)
        due = issue + DUE_DAYS * DAY
        paid = credited = 0
        paid_on = approved = disputed = None
        if state in ("paid", "partially_paid"):
            approved = issue + DAY + int(rnd() * 5 * DAY)
            moment = min(approved + int(rnd() * 30 * DAY), now - HOUR)
            approved = min(approved, moment)
            paid = gross if state == "paid" else gross // 2
            if paid:
                out["payments"].append((next(ids["payments"]), invoice_id, self.date(moment), fixed(paid, 2),
                                        self.nothing, f"PRZELEW/{invoice_id}", self.admin, at(moment)))
                paid_on = moment if state == "paid" else None
            elif state == "partially_paid":
                state = "approved"
        elif state == "approved":
            approved = min(issue + DAY + int(rnd() * 5 * DAY), now - HOUR)
        elif state == "disputed":
            disputed = min(issue + DAY + int(rnd() * 3 * DAY), now - HOUR)
        elif state == "credited":
            credited = gross
        updated = max(t for t in (issue, approved, disputed, paid_on) if t is not None)
        number = None if draft else self._number(supplier, InvoiceKind.INVOICE)
        match = None if draft else ("mismatched" if mismatched else "matched")
        on = (lambda s: None) if draft else self.date
        out["invoices"].append((
            invoice_id, self.org, supplier, "invoice", number, state, link_id, "pl", currency, terms, None,
            on(issue), on(delivered), on(due), None, "", False, False, False, fixed(net_total, 2),
            fixed(vat_total, 2), fixed(gross, 2), fixed(credited, 2), fixed(paid, 2), self.nothing,
            None if paid_on is None else self.date(paid_on), match,
            "", "", "", user, None if draft else at(issue), None if draft else user,
            None if approved is None else at(approved), None if approved is None else self.admin,
            None if disputed is None else at(disputed), None if disputed is None else self.admin,
            DISPUTE if disputed else "", at(min(max(updated, issue), now)), at(issue - HOUR)))
        if state == "credited":  # after its invoice: the note names it
            self._credit_note(out, invoice_id, link, currency, terms, made, issue + 5 * DAY, user)

    def _credit_note(self, out, invoice_id, link, currency, terms, made, issued, user) -> None:
        """A credit note of the whole invoice (issued five days after it)."""
        ids, fixed, at = self.ids, self.fixed, self.at
        issued = min(issued, self.now - HOUR)
        note_id = next(ids["invoices"])
        net_total = vat_total = 0
        rows = out["invoice_lines"].append
        for position, (line_id, order_line, description, unit, accepted, price, net, vat) in enumerate(made, 1):
            rows((next(ids["invoice_lines"]), note_id, position, None, order_line, line_id, description,
                  fixed(accepted * 1000, 3), unit, fixed(price, 4), "23", self.vat_rate, fixed(net, 2), fixed(vat, 2),
                  fixed(net + vat, 2), ""))
            net_total += net
            vat_total += vat
        link_id, supplier = link[0], link[1]
        out["invoices"].append((
            note_id, self.org, supplier, "credit_note", self._number(supplier, InvoiceKind.CREDIT_NOTE), "issued",
            link_id, "pl", currency, terms, None, self.date(issued), self.date(issued), None, invoice_id,
            CREDIT_REASON, False, False, False, fixed(net_total, 2), fixed(vat_total, 2),
            fixed(net_total + vat_total, 2), self.nothing, self.nothing, self.nothing, None, None, "", "", "", user,
            at(issued), user, None, None, None, None, "", at(issued), at(issued - HOUR)))
