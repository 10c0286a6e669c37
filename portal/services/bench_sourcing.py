"""Sourcing in the benchmark world (services.bench_seed): the large company's RFQs with their
invitations, lines, quotes and awards, and its purchase orders with lines and goods receipts,
as plain tuples in their stored form (see services.bench_load), in proportion to its
requisitions: an RFQ per 20 and an order per 10.

Built from the requisitions as they are generated (`Company.candidates`), a batch at a time, so
every row agrees with the requisition it names:
- an RFQ that is a draft, open or closed (awaiting award) takes one line of each of several
  `sourcing` requisitions; every `sourcing` requisition is on one;
- an awarded RFQ takes lines of `ordered` or `closed` requisitions, and its awards became one
  order per winning supplier;
- every other `ordered` / `closed` requisition has a line on an order straight from its price
  agreements; orders of `closed` requisitions are received, those of `ordered` ones issued,
  acknowledged or partially received (no line complete);
- cancelled RFQs and cancelled orders name `approved` requisitions (they went back there).
Suppliers are the company's active links; Nordwind (the bench's supplier role) is invited to
half the RFQs and gets about a third of the orders. Only suppliers' people write quotes, so
each active bench supplier has one (services.bench_rows.Partners).
"""

from __future__ import annotations

import json
import math
import random
from decimal import ROUND_HALF_UP, Decimal

from portal.domain.orders import NUMBER_KIND as PO_KIND  # noqa: F401 - bench_seed sets its counter
from portal.domain.orders import format_number as po_number
from portal.domain.requisition import RequisitionStatus as S
from portal.domain.requisition import format_number
from portal.services.bench_load import Clock, Loader, fixed_text
from portal.services.bench_rows import DAY, HOUR, ITEMS, MAX_QUANTITY, TITLES

REQUISITIONS_PER_RFQ, REQUISITIONS_PER_ORDER, ORDERS_PER_CANCELLED = 20, 10, 20
# RFQ states in percent; the n-th RFQ takes bucket n * STRIDE % 100, so every hundred RFQs hold
# exactly these shares.
RFQ_SHARES = [("draft", 6), ("open", 15), ("closed", 15), ("awarded", 55), ("cancelled", 9)]
RFQ_BUCKETS = [state for state, share in RFQ_SHARES for _ in range(share)]
STRIDE = 37
SOURCING_RFQ_STATES = frozenset({"draft", "open", "closed"})
# Orders of `ordered` requisitions: issued (some with a proposed date), acknowledged, partially received.
OPEN_ORDER_STATES = ["issued"] * 6 + ["acknowledged"] * 9 + ["partially_received"] * 5
QUOTE_SHARE, DRAFT_SHARE, DECLINE_SHARE, NORDWIND_SHARE, NORDWIND_ORDERS, WHOLE_AWARD, SEALED = (
    0.7, 0.1, 0.4, 0.5, 0.33, 0.7, 0.7)
MIN_LINES, MAX_LINES = 2, 6
# Numbering kinds (services.numbering), as services.sourcing.rfqs and services.orders.issue number them.
RFQ_KIND = "RFQ"
ADDRESS = "ul. Fabryczna 12, 61-001 Poznań"
DECLINED, NOT_CHEAPEST = "Not in our range at the moment.", "Whole RFQ to one supplier: one delivery."
CANCEL_RFQ, CANCEL_ORDER = "Requirement changed.", "The supplier cannot deliver in time."
PROPOSAL, REJECTED = "Earliest date we can deliver.", "Damaged in transit."


class Sourcing:
    """RFQs and orders of one buying company. `links` are its active supplier links
    (link id, supplier id, currency, stored payment terms, the supplier's user or None),
    `nordwind` one of them or None; `rfq_last` / `po_last` the numbers already given this year."""

    def __init__(self, load: Loader, clock: Clock, ids: dict, rng: random.Random, *, org: int, currency: str,
                 buyers: list[int], links: list[tuple], nordwind: tuple | None, since: int, now: int, year: int,
                 rfq_last: int = 0, po_last: int = 0):
        self.fixed, self.at, self.date, self.random = load.fixed, clock.at, clock.date, rng.random
        self.ids, self.org, self.currency, self.buyers = ids, org, currency, buyers
        self.nordwind = nordwind
        self.others = [link for link in links if link is not nordwind] or ([nordwind] if nordwind else [])
        self.since, self.now, self.year = since, now, year
        self.rfq_last, self.po_last = rfq_last, po_last
        self.invoicing = None  # services.bench_invoicing.Invoicing: delivered orders' invoices
        self.seen = self.rfqs = self.orders = self.cancelled = 0
        self.pools: dict = {state: [] for state in (S.APPROVED, S.SOURCING, S.ORDERED, S.CLOSED)}
        fixed = load.fixed
        # Per requisition line kind (bench_rows.Company.line_kinds): description, unit, quantity
        # (whole units and stored), list unit price in 10^-4 units.
        self.kinds = [(description, unit, quantity, fixed(quantity * 1000, 3), _ten_thousandths(price))
                      for description, unit, price in ITEMS for quantity in range(1, MAX_QUANTITY + 1)]
        self.vat_rate, self.nothing = fixed(2300, 2), fixed(0, 2)

    # Batches ------------------------------------------------------------------------------
    def add(self, out: dict, candidates: dict, count: int) -> None:
        """Take the candidates of `count` more requisitions (emptied) and write the RFQs and
        orders now due."""
        for state, pool in self.pools.items():
            pool.extend(candidates[state])
            candidates[state].clear()
        self.seen += count
        if not self.others:  # no active supplier: nothing to source from
            for pool in self.pools.values():
                pool.clear()
            return
        self._rfqs(out, self.seen // REQUISITIONS_PER_RFQ - self.rfqs)
        self._orders(out, self.seen // REQUISITIONS_PER_ORDER - self.orders)
        self.pools[S.APPROVED].clear()  # an approved requisition need not be on anything

    def finish(self, out: dict) -> None:
        """Put what is left on RFQs and orders beyond the proportion: every sourcing requisition
        is on an RFQ and every ordered or closed one on an order."""
        pool, n = self.pools[S.SOURCING], 0
        while pool:
            self._rfq(out, ("closed", "open")[n % 2], _take(pool, MAX_LINES))
            n += 1
        for state in (S.ORDERED, S.CLOSED):
            while self.pools[state]:
                self._agreement_order(out, state, _take(self.pools[state], MAX_LINES))

    def numbers(self) -> tuple[int, int]:
        """The last RFQ and order numbers given (for the document counters)."""
        return self.rfq_last, self.po_last

    def _share(self, left: int, consumers: int) -> int:
        """How many of `left` pooled requisitions the next of `consumers` takes: about the
        average (MIN..MAX lines, or the average when larger), leaving the others between MIN
        and that; the last takes the rest."""
        if consumers <= 1:
            return left
        average = left / consumers
        most = max(MAX_LINES, math.ceil(average))
        wanted = round(average + self.random() * 2 - 1)
        wanted = max(wanted, left - most * (consumers - 1))
        if left - MIN_LINES * (consumers - 1) >= 1:
            wanted = min(wanted, left - MIN_LINES * (consumers - 1))
        return max(1, min(wanted, left, most))

    # RFQs ---------------------------------------------------------------------------------
    def _rfqs(self, out: dict, due: int) -> None:
        states = [RFQ_BUCKETS[(self.rfqs + j) * STRIDE % 100] for j in range(max(due, 0))]
        sourcing = sum(state in SOURCING_RFQ_STATES for state in states)
        pools, rnd = self.pools, self.random
        for state in states:
            if state in SOURCING_RFQ_STATES:
                reqs = _take(pools[S.SOURCING], self._share(len(pools[S.SOURCING]), sourcing))
                sourcing -= 1
            elif state == "awarded":
                ordered, closed = len(pools[S.ORDERED]), len(pools[S.CLOSED])
                pool = S.CLOSED if rnd() * max(ordered + closed, 1) < closed else S.ORDERED
                reqs = _take(pools[pool], MIN_LINES + int(rnd() * (MAX_LINES - MIN_LINES + 1)))
                state = (state, pool)
            else:
                reqs = _take(pools[S.APPROVED], MIN_LINES + int(rnd() * (MAX_LINES - MIN_LINES + 1)))
            self._rfq(out, state, reqs)

    def _pick_links(self, count: int) -> list[tuple]:
        rnd, others = self.random, self.others
        chosen = [self.nordwind] if self.nordwind and rnd() < NORDWIND_SHARE else []
        for _ in range(count * 3):
            if len(chosen) >= count or not others:
                break
            link = others[int(rnd() * len(others))]
            if all(link[1] != c[1] for c in chosen):
                chosen.append(link)
        return chosen

    def _lines_of(self, reqs: list) -> list[tuple]:
        """(requisition line id or None, line kind, budget): one line of each requisition, more
        of theirs up to MIN_LINES, typed lines for the rest (all typed when there is none)."""
        rnd = self.random
        if not reqs:
            return [(None, int(rnd() * len(self.kinds)), None)
                    for _ in range(MIN_LINES + int(rnd() * (MAX_LINES - MIN_LINES + 1)))]
        picked = [(*kept[int(rnd() * len(kept))], budget) for _, _, budget, kept in reqs]
        if len(picked) < MIN_LINES:
            taken = {line for line, _, _ in picked}
            picked += [(*line, budget) for _, _, budget, kept in reqs for line in kept
                       if line[0] not in taken][:MIN_LINES - len(picked)]
            picked += [(None, int(rnd() * len(self.kinds)), None) for _ in range(MIN_LINES - len(picked))]
        return picked

    def _rfq(self, out: dict, state, reqs: list) -> None:
        rnd, ids, at, now, since = self.random, self.ids, self.at, self.now, self.since
        pool = None
        if isinstance(state, tuple):
            state, pool = state
        rfq_id = next(ids["rfqs"])
        self.rfq_last += 1
        self.rfqs += 1
        number = format_number(RFQ_KIND, self.year, self.rfq_last)
        buyer = self.buyers[int(rnd() * len(self.buyers))]
        sealed = rnd() < SEALED
        ready = max(d for _, d, _, _ in reqs) + DAY + int(rnd() * DAY) if reqs else \
            since + int(rnd() * (now - since))
        published = deadline = closed = opened = awarded = cancelled = None
        if state == "open":
            published = max(since, min(ready, now - HOUR), now - int(rnd() * 7 * DAY))
            created = max(since, min(ready, published - HOUR))
            deadline = (now // HOUR + 24 + int(rnd() * 14 * 24)) * HOUR
        elif state in ("closed", "awarded"):
            deadline = max(since + 9 * DAY, min(ready + 8 * DAY, now - 6 * DAY))
            created = deadline - 8 * DAY
            published = created + HOUR
            closed = deadline
            if sealed and (state == "awarded" or rnd() < 0.5):
                opened = deadline + HOUR
            if state == "awarded":
                awarded = deadline + DAY
        else:
            created = max(since, min(ready, now - 3 * DAY))
            if state == "cancelled":
                if rnd() < 0.7:
                    published, deadline = created + HOUR, created + 7 * DAY
                cancelled = created + 2 * DAY
        lines = self._lines_of(reqs)
        line_rows, line_ids = out["rfq_lines"].append, ids["rfq_lines"]
        rfq_lines = []
        for position, (req_line, kind, budget) in enumerate(lines, 1):
            description, unit, _, quantity, _ = self.kinds[kind]
            line_id = next(line_ids)
            line_rows((line_id, rfq_id, position, req_line, None, description, quantity, unit, self.vat_rate, ""))
            rfq_lines.append((line_id, req_line, kind, budget))
        links = self._pick_links(2 + int(rnd() < 0.5))
        quotes = self._invitations(out, rfq_id, state, links, rfq_lines, published or created, deadline)
        updated = max(t for t in (created, published, closed, opened, awarded, cancelled) if t is not None)
        out["rfqs"].append((
            rfq_id, self.org, number, f"{TITLES[int(rnd() * len(TITLES))]} {number[-5:]}", "", state,
            self.currency, sealed, False, None if deadline is None else at(deadline), "Europe/Warsaw", ADDRESS,
            self.date(created + 30 * DAY), 0, buyer, _at(at, published), _at(at, closed), _at(at, opened),
            None if opened is None else buyer, _at(at, awarded), _at(at, cancelled),
            CANCEL_RFQ if cancelled else "", at(updated), at(created)))
        if state == "awarded":
            self._award(out, rfq_id, pool, buyer, awarded, rfq_lines, quotes)

    def _invitations(self, out, rfq_id, state, links, rfq_lines, published, deadline) -> list:
        """Invitation rows (and quotes with their lines); returns the submitted quotes as
        (quote id, invitation id, link, [(quote line id, unit price, net)], total)."""
        rnd, ids, at, now = self.random, self.ids, self.at, self.now
        answering = state in ("open", "closed", "awarded")
        submitted = []
        for n, link in enumerate(links):
            link_id, supplier, _, _, user = link
            inv_id = next(ids["rfq_invitations"])
            status, reason, responded, viewed = "invited", "", None, None
            must = state == "awarded" and not submitted and n == len(links) - 1
            last = min(deadline or now, now - HOUR)
            if answering and user is not None and (must or rnd() < QUOTE_SHARE):
                draft = not must and state in ("open", "closed") and rnd() < DRAFT_SHARE
                moment = published + int(rnd() * max(last - published, HOUR))
                viewed = moment - HOUR
                quote = self._quote(out, rfq_id, inv_id, supplier, user, rfq_lines, moment, deadline or now, draft)
                if not draft:
                    status, responded = "quoted", moment
                    submitted.append((quote[0], inv_id, link, quote[1], quote[2]))
            elif answering and rnd() < DECLINE_SHARE:
                status, reason = "declined", DECLINED
                responded = published + int(rnd() * max(last - published, HOUR))
                viewed = responded - HOUR
            out["rfq_invitations"].append((
                inv_id, self.org, supplier, rfq_id, link_id, status, reason, _at(at, responded), _at(at, viewed), 0,
                at(published), state, _at(at, deadline),  # the RFQ's status and deadline, as the services copy them
                at(responded or published)))
        return submitted

    def _quote(self, out, rfq_id, inv_id, supplier, user, rfq_lines, moment, deadline, draft) -> tuple:
        rnd, ids, fixed = self.random, self.ids, self.fixed
        quote_id = next(ids["quotes"])
        lines, rows, line_ids, total = [], out["quote_lines"].append, ids["quote_lines"], 0
        for rfq_line, _, kind, _ in rfq_lines:
            _, _, quantity, _, base = self.kinds[kind]
            price = base * (80 + int(rnd() * 41)) // 100
            net = (quantity * price + 50) // 100
            total += net
            line_id, lead = next(line_ids), 3 + int(rnd() * 28)
            rows((line_id, quote_id, rfq_line, fixed(price, 4), fixed(net, 2), lead, None, "", ""))
            lines.append((line_id, price, net, rfq_line, lead))
        freight = (50 + int(rnd() * 250)) * 100 if rnd() < 0.3 else 0
        total += freight
        if not draft:  # the submitted revision, kept as services.sourcing.quotes keeps it
            self._revision(out, quote_id, rfq_lines, lines, freight, total, user, moment, deadline)
        out["quotes"].append((
            quote_id, self.org, supplier, rfq_id, inv_id, "draft" if draft else "submitted", f"OF/{quote_id}",
            self.currency, self.date(deadline + 30 * DAY), "", fixed(freight, 2), self.nothing,
            "Transport" if freight else "", fixed(total, 2), False, 0 if draft else 1, 0,
            None if draft else self.at(moment), user, self.at(moment), self.at(moment - HOUR)))
        return quote_id, lines, total

    def _revision(self, out, quote_id, rfq_lines, lines, freight, total, user, moment, deadline) -> None:
        kinds = self.kinds
        snapshot = {
            "supplier_reference": f"OF/{quote_id}", "currency": self.currency,
            "valid_until": self.date(deadline + 30 * DAY), "notes": "", "freight": fixed_text(freight, 2),
            "other_charges": "0.00", "charges_note": "Transport" if freight else "", "net_total": fixed_text(total, 2),
            "partial": False, "amendment": 0,
            "lines": [{
                "rfq_line_id": rfq_line, "position": position, "description": kinds[kind][0],
                "quantity": fixed_text(kinds[kind][2] * 1000, 3), "unit": kinds[kind][1],
                "unit_price": fixed_text(price, 4), "net": fixed_text(net, 2), "lead_time_days": lead,
                "delivery_date": None, "alternative": "", "note": "",
            } for position, ((rfq_line, _, kind, _), (_, price, net, _, lead)) in enumerate(zip(
                rfq_lines, lines, strict=True), 1)],
            "attachments": [],
        }
        out["quote_revisions"].append((next(self.ids["quote_revisions"]), quote_id, 1, 0, self.fixed(total, 2),
                                       json.dumps(snapshot), user, self.at(moment)))

    def _award(self, out, rfq_id, pool, buyer, awarded, rfq_lines, quotes) -> None:
        """Award the lines (whole to the cheapest total, or line by line), issue one order per
        winner, and mark quotes and invitations won or lost."""
        if not quotes:
            return
        rnd = self.random
        whole = len(quotes) == 1 or rnd() < WHOLE_AWARD
        best_total = min(quotes, key=lambda q: q[4])
        winners: dict[int, list] = {}
        for index in range(len(rfq_lines)):
            cheapest = min(quotes, key=lambda q: q[3][index][1])
            chosen = best_total if whole else cheapest
            winners.setdefault(chosen[0], []).append((index, chosen[3][index][1] != cheapest[3][index][1]))
        status = "received" if pool == S.CLOSED else None
        awards, award_ids = out["rfq_awards"].append, self.ids["rfq_awards"]
        for quote in quotes:
            won = winners.get(quote[0])
            if not won:
                continue
            lines = [(rfq_lines[i][1], rfq_lines[i][0], rfq_lines[i][2], quote[3][i][1]) for i, _ in won]
            budget = next((rfq_lines[i][3] for i, _ in won if rfq_lines[i][3] is not None), None)
            order_lines = self._order(
                out, status or OPEN_ORDER_STATES[int(rnd() * len(OPEN_ORDER_STATES))], quote[2], lines, "rfq",
                rfq_id, quote[0], awarded + HOUR, budget, self.currency)
            for (i, not_cheapest), order_line in zip(won, order_lines, strict=True):
                awards((next(award_ids), self.org, rfq_id, rfq_lines[i][0], quote[0], quote[3][i][0],
                        self.fixed(quote[3][i][1], 4), NOT_CHEAPEST if not_cheapest else "", order_line, buyer,
                        self.at(awarded)))
        # Outcomes: the quote and invitation rows were written as submitted/quoted; fix them up.
        outcome = {quote[0]: "awarded" if quote[0] in winners else "lost" for quote in quotes}
        invitations = {quote[1]: outcome[quote[0]] for quote in quotes}
        _restate(out["quotes"], outcome, 5)
        _restate(out["rfq_invitations"], invitations, 5)

    # Orders -------------------------------------------------------------------------------
    def _orders(self, out: dict, due: int) -> None:
        pools, rnd = self.pools, self.random
        cancel = self.seen // (REQUISITIONS_PER_ORDER * ORDERS_PER_CANCELLED) - self.cancelled
        for _ in range(max(cancel, 0)):
            if due <= 0:
                break
            self.cancelled += 1
            due -= 1
            reqs = _take(pools[S.APPROVED], MIN_LINES + int(rnd() * (MAX_LINES - MIN_LINES + 1)))
            self._agreement_order(out, "cancelled", reqs)
        ordered, closed = len(pools[S.ORDERED]), len(pools[S.CLOSED])
        waiting = ordered + closed
        if not waiting:
            return
        to_closed = min(max(round(due * closed / waiting), math.ceil(closed / MAX_LINES)), closed)
        to_ordered = min(max(due - to_closed, math.ceil(ordered / MAX_LINES)), ordered)
        for state, consumers in ((S.CLOSED, to_closed), (S.ORDERED, to_ordered)):
            pool = pools[state]
            for n in range(consumers, 0, -1):
                self._agreement_order(out, state, _take(pool, self._share(len(pool), n)))

    def _agreement_order(self, out: dict, state, reqs: list) -> None:
        """An order straight from price agreements for a line of each requisition."""
        rnd = self.random
        link = self.nordwind if self.nordwind and rnd() < NORDWIND_ORDERS else \
            self.others[int(rnd() * len(self.others))]
        if state == "cancelled":
            status = "cancelled"
        elif state == S.CLOSED:
            status = "received"
        else:
            status = OPEN_ORDER_STATES[int(rnd() * len(OPEN_ORDER_STATES))]
        currency = link[2]
        divisor = 400 if currency != self.currency else 100  # a foreign currency: about 4 to 1
        lines = [(req_line, None, kind, max(self.kinds[kind][4] * (85 + int(rnd() * 16)) // divisor, 100))
                 for req_line, kind, _ in self._lines_of(reqs)]
        budget = next((b for _, _, b, _ in reqs if b is not None), None)
        issued = (max(d for _, d, _, _ in reqs) if reqs else self.since + int(rnd() * (self.now - self.since))) \
            + DAY + int(rnd() * 2 * DAY)
        self._order(out, status, link, lines, "agreement", None, None, issued, budget, currency)

    def _order(self, out, status, link, lines, source, rfq_id, quote_id, issued, budget, currency) -> list[int]:
        """Write an order with `lines` [(requisition line, RFQ line, kind, unit price in
        10^-4)], its receipts by status; returns the order line ids."""
        rnd, ids, at, fixed, now = self.random, self.ids, self.at, self.fixed, self.now
        link_id, supplier, _, terms, user = link
        order_id = next(ids["purchase_orders"])
        self.po_last += 1
        self.orders += 1
        number = po_number(self.year, self.po_last)
        settled = status in ("received", "partially_received", "cancelled")
        issued = max(self.since, min(issued, now - (4 * DAY if settled else HOUR)))
        delivery = issued + (7 + int(rnd() * 24)) * DAY
        buyer = self.buyers[int(rnd() * len(self.buyers))]
        rows, line_ids = out["purchase_order_lines"].append, ids["purchase_order_lines"]
        net_total = vat_total = 0
        made, receiving, billable = [], [], []
        for position, (req_line, rfq_line, kind, price) in enumerate(lines, 1):
            description, unit, quantity, stored, _ = self.kinds[kind]
            net = (quantity * price + 50) // 100
            vat = (net * 23 + 50) // 100
            net_total += net
            vat_total += vat
            if status == "received":
                accepted, got, rejected = quantity, quantity, 0
            elif status == "partially_received":
                accepted, got, rejected = (quantity // 2, quantity // 2, 0) if quantity > 1 else (0, 1, 1)
            else:
                accepted = got = rejected = 0
            line_id = next(line_ids)
            made.append(line_id)
            if accepted:
                billable.append((line_id, description, unit, accepted, price))
            rows((line_id, order_id, position, req_line, rfq_line, None, description, "", stored, unit,
                  fixed(price, 4), "23", self.vat_rate, fixed(net, 2), fixed(vat, 2), fixed(net + vat, 2),
                  None, fixed(accepted * 1000, 3), fixed(rejected * 1000, 3)))
            if got:
                receiving.append((line_id, got, rejected))
        acknowledged = proposed = cancelled = None
        if status in ("acknowledged", "partially_received", "received"):
            acknowledged = issued + HOUR + int(rnd() * DAY)
        elif status == "issued" and rnd() < 0.2:
            proposed = min(issued + DAY, now - HOUR)
        elif status == "cancelled":
            cancelled = issued + 2 * DAY
        if receiving:
            self._receipts(out, order_id, receiving, issued + 3 * DAY, buyer, split=status == "received")
        updated = max(t for t in (issued, acknowledged, proposed, cancelled) if t is not None)
        if receiving:
            updated = max(updated, min(issued + 3 * DAY + HOUR, now))
        out["purchase_orders"].append((
            order_id, self.org, supplier, number, link_id, source, rfq_id, quote_id, status, currency, terms,
            ADDRESS, self.date(delivery), "", self.nothing, fixed(net_total, 2), fixed(vat_total, 2),
            fixed(net_total + vat_total, 2), budget, self.nothing if cancelled else fixed(net_total, 2), 0,
            None if acknowledged is None else 0, at(issued), buyer, _at(at, acknowledged),
            None if acknowledged is None else user, None if proposed is None else self.date(delivery + 7 * DAY),
            PROPOSAL if proposed else "", _at(at, proposed), _at(at, cancelled), CANCEL_ORDER if cancelled else "",
            at(updated), at(issued)))
        if self.invoicing is not None and billable:
            self.invoicing.invoice(out, order_id, link, currency, min(issued + 5 * DAY, now - HOUR), billable)
        return made

    def _receipts(self, out, order_id, receiving, first, buyer, *, split: bool) -> None:
        """One receipt of `receiving` [(order line, quantity, rejected)], or two (the lines
        halved between them) when `split` and more than one line."""
        rnd, ids, fixed, now = self.random, self.ids, self.fixed, self.now
        parts = [receiving]
        if split and len(receiving) > 1 and rnd() < 0.3:
            half = len(receiving) // 2
            parts = [receiving[:half], receiving[half:]]
        for n, part in enumerate(parts):
            receipt_id = next(ids["goods_receipts"])
            moment = min(first + n * 2 * DAY, now - HOUR)
            out["goods_receipts"].append((receipt_id, order_id, self.date(moment), "", buyer, self.at(moment)))
            rows, line_ids = out["goods_receipt_lines"].append, ids["goods_receipt_lines"]
            for order_line, quantity, rejected in part:
                rows((next(line_ids), receipt_id, order_line, fixed(quantity * 1000, 3), fixed(rejected * 1000, 3),
                      REJECTED if rejected else ""))


def _take(pool: list, count: int) -> list:
    """The last `count` of `pool`, taken out of it (from the end: no shift of the rest)."""
    if count <= 0:
        return []
    taken = pool[-count:]
    del pool[-count:]
    return taken


def _at(at, seconds: int | None) -> str | None:
    return None if seconds is None else at(seconds)


def _restate(rows: list, statuses: dict, column: int) -> None:
    """Set `rows`' `column` (status) by id for the ids in `statuses`: they are the latest rows."""
    for index in range(len(rows) - 1, -1, -1):
        row = rows[index]
        status = statuses.get(row[0])
        if status is not None:
            rows[index] = (*row[:column], status, *row[column + 1:])
            if len(statuses) == 1:
                return
            statuses = {k: v for k, v in statuses.items() if k != row[0]}


def _ten_thousandths(price: str) -> int:
    """A list price ("18.50") in 10^-4 units, exactly (half-up)."""
    return int((Decimal(price) * 10000).to_integral_value(ROUND_HALF_UP))
