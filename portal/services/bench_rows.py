"""The rows of the benchmark world (services.bench_seed): one buying company's requisitions with
their lines, approval tasks and assignments, audit events, notifications and ledger entries
(Company), and its catalog, supplier companies with their links, supplier invitations and price
agreements (Partners; RFQs and orders: services.bench_sourcing), as plain tuples already in
their stored form (see services.bench_load), every value that repeats rendered once per company.
A requisition costs a few dozen microseconds here, so a million of them take well under the ten
minutes the whole world may take."""

from __future__ import annotations

import hashlib
import json
import random
from decimal import Decimal

from portal.domain.requisition import RequisitionStatus as S
from portal.services.bench_invoicing import COLUMNS as INVOICING_COLUMNS
from portal.services.bench_load import Clock, Loader, fixed_text

LONG_TIMELINE_TITLE = "Bench: long timeline"
LONG_TIMELINE_EVENTS = 200
# Share of each state among the large company's requisitions (sums to 1, in steps of 2 %).
STATES = [
    (S.DRAFT, 0.08), (S.PENDING, 0.12), (S.APPROVED, 0.20), (S.REJECTED, 0.06),
    (S.CANCELLED, 0.06), (S.SOURCING, 0.08), (S.ORDERED, 0.15), (S.CLOSED, 0.25),
]
STATE_BUCKETS = [state for state, share in STATES for _ in range(round(share * 50))]
APPROVED_LIKE = frozenset({S.APPROVED, S.SOURCING, S.ORDERED, S.CLOSED})
SOURCED = APPROVED_LIKE  # the states whose lines RFQs and orders take (services.bench_sourcing)
CFO_THRESHOLD = Decimal("10000")
ITEMS = [
    ("Copy paper A4, ream", "ream", "18.50"), ("Ballpoint pens, pack of 50", "pack", "12.90"),
    ("Laptop 14\"", "pcs", "4200.00"), ("Monitor 27\"", "pcs", "1150.00"),
    ("Safety gloves, pair", "pair", "9.80"), ("Pallet wrap film", "roll", "34.00"),
    ("Office chair", "pcs", "890.00"), ("Bearing 6204-2RS", "pcs", "21.40"),
    ("Coffee beans 1 kg", "kg", "79.00"), ("Cable ties, pack of 100", "pack", "14.20"),
]
MAX_QUANTITY = 40
TITLES = [
    "Office supplies", "IT equipment", "Production materials", "Warehouse consumables",
    "Kitchen supplies", "Spare parts", "Safety equipment", "Furniture",
]
MSG_REQUESTED = "%(number)s \u201c%(title)s\u201d (%(amount)s) awaits your approval: %(step)s"
MSG_APPROVED = "%(number)s \u201c%(title)s\u201d is approved."
MSG_REJECTED = "%(number)s was rejected by %(name)s: %(comment)s"
REASON_EVERY = "Rule \u201c%(step)s\u201d applies to every requisition"
REASON_AMOUNT = "Rule \u201c%(step)s\u201d: amount %(amount)s \u2265 %(threshold)s"
REJECTION = "Not this quarter."
DAY, HOUR, MINUTE = 86400, 3600, 60
# The columns written, in the order of the generated tuples; services.bench_load writes by name.
COLUMNS = {
    "requisitions": (
        "id", "organization_id", "number", "title", "justification", "needed_by", "cost_center_id",
        "category_id", "currency", "status", "requester_id", "net_total", "vat_total", "gross_total",
        "approval_round", "policy_version_id", "submitted_at", "decided_at", "updated_at", "created_at"),
    "requisition_lines": (
        "id", "requisition_id", "position", "organization_id", "item_id", "description", "quantity", "unit",
        "unit_price", "vat_rate", "suggested_supplier_id", "net", "vat", "gross"),
    "approval_tasks": (
        "id", "organization_id", "requisition_id", "round", "position", "step_id", "name", "kind", "reason",
        "reason_params", "quorum", "required", "status", "activated_at", "decided_at", "reminded_at",
        "escalated_at", "created_at"),
    "approval_assignments": (
        "id", "organization_id", "task_id", "user_id", "decision", "decided_by_id", "decided_at", "comment",
        "escalated"),
    "audit_events": (
        "id", "organization_id", "supplier_id", "actor_id", "on_behalf_of_id", "action", "object_type",
        "object_id", "summary", "comment", "created_at"),
    "notifications": ("id", "organization_id", "user_id", "message", "kind", "target", "read_at", "created_at"),
    "budget_entries": (
        "id", "organization_id", "budget_id", "kind", "amount", "source_type", "source_id", "source_label",
        "overrun", "note", "note_params", "actor_id", "created_at"),
    # The large company's partners and catalog (Partners below).
    "organizations": (
        "id", "name", "legal_name", "kind", "tax_id", "address_line", "postal_code", "city", "country",
        "currency", "locale", "created_at"),
    "supplier_links": (
        "id", "organization_id", "supplier_id", "status", "payment_terms", "currency", "credit_limit",
        "invited_by_id", "created_at", "updated_at"),
    "invitations": (
        "id", "organization_id", "kind", "email", "full_name", "roles", "approval_limit", "company_name",
        "payment_terms", "currency", "credit_limit", "token_hash", "expires_at", "accepted_at", "revoked_at",
        "invited_by_id", "created_at"),
    "items": (
        "id", "organization_id", "sku", "name", "name_search", "description", "unit", "category_id",
        "default_vat_rate", "list_price", "currency", "preferred_supplier_id", "is_active", "created_at",
        "updated_at"),
    # The suppliers' people (one who quotes per active bench supplier) and the price agreements.
    "users": (
        "id", "organization_id", "email", "full_name", "password_hash", "is_active", "locale", "session_version",
        "approval_limit", "created_at"),
    "user_roles": ("user_id", "role"),
    "price_agreements": (
        "id", "organization_id", "supplier_id", "link_id", "item_id", "unit_price", "currency", "tiers",
        "valid_from", "valid_to", "supplier_part_number", "lead_time_days", "created_by_id", "updated_at",
        "created_at"),
    # Price-list proposals from Nordwind (Partners.agreement), each of one line.
    "price_proposals": (
        "id", "organization_id", "supplier_id", "link_id", "status", "note", "filename", "submitted_by_id",
        "decided_at", "decided_by_id", "updated_at", "created_at"),
    "price_proposal_lines": (
        "id", "proposal_id", "item_id", "sku", "supplier_part_number", "unit_price", "currency", "valid_from",
        "valid_to", "lead_time_days", "tiers", "current_agreement_id", "current_price", "decision",
        "decision_reason", "agreement_id"),
    # Sourcing (services.bench_sourcing), parents before children: the rows of one batch name
    # each other.
    "rfqs": (
        "id", "organization_id", "number", "title", "description", "status", "currency", "sealed", "allow_partial",
        "deadline", "time_zone", "delivery_address", "needed_by", "amendment", "created_by_id", "published_at",
        "closed_at", "opened_at", "opened_by_id", "awarded_at", "cancelled_at", "cancel_reason", "updated_at",
        "created_at"),
    "rfq_lines": (
        "id", "rfq_id", "position", "requisition_line_id", "item_id", "description", "quantity", "unit", "vat_rate",
        "notes"),
    "rfq_invitations": (
        "id", "organization_id", "supplier_id", "rfq_id", "link_id", "status", "decline_reason", "responded_at",
        "first_viewed_at", "seen_amendment", "created_at", "rfq_status", "rfq_deadline", "updated_at"),
    "quotes": (
        "id", "organization_id", "supplier_id", "rfq_id", "invitation_id", "status", "supplier_reference",
        "currency", "valid_until", "notes", "freight", "other_charges", "charges_note", "net_total", "partial",
        "revision", "amendment", "submitted_at", "created_by_id", "updated_at", "created_at"),
    "quote_lines": (
        "id", "quote_id", "rfq_line_id", "unit_price", "net", "lead_time_days", "delivery_date", "alternative",
        "note"),
    "quote_revisions": (
        "id", "quote_id", "number", "amendment", "net_total", "snapshot", "submitted_by_id", "submitted_at"),
    "purchase_orders": (
        "id", "organization_id", "supplier_id", "number", "link_id", "source", "rfq_id", "quote_id", "status",
        "currency", "payment_terms", "delivery_address", "delivery_date", "notes", "freight", "net_total",
        "vat_total", "gross_total", "budget_id", "committed", "revision", "acknowledged_revision", "issued_at",
        "issued_by_id", "acknowledged_at", "acknowledged_by_id", "proposed_delivery_date", "proposal_note",
        "proposed_at", "cancelled_at", "cancel_reason", "updated_at", "created_at"),
    "purchase_order_lines": (
        "id", "order_id", "position", "requisition_line_id", "rfq_line_id", "item_id", "description",
        "supplier_part_number", "quantity", "unit", "unit_price", "vat_code", "vat_rate", "net", "vat", "gross",
        "delivery_date", "received_quantity", "rejected_quantity"),
    "rfq_awards": (
        "id", "organization_id", "rfq_id", "rfq_line_id", "quote_id", "quote_line_id", "unit_price", "reason",
        "order_line_id", "awarded_by_id", "created_at"),
    "goods_receipts": ("id", "order_id", "received_on", "note", "received_by_id", "created_at"),
    "goods_receipt_lines": ("id", "receipt_id", "order_line_id", "quantity", "rejected_quantity", "reject_reason"),
    # Invoicing (services.bench_invoicing), after the orders its lines name.
    **INVOICING_COLUMNS,
}
REQUESTER = COLUMNS["requisitions"].index("requester_id")
SLOT, RAW = "\x01", "\x02"


def _template(value) -> str:
    """`json.dumps(value)`, the text SQLAlchemy's JSON type stores, as a %-format: `%s` for each
    SLOT (inside a JSON string: fill with text needing no escapes) and each RAW string (the whole
    JSON value: fill with JSON)."""
    return json.dumps(value).replace("%", "%%").replace('"\\u0002"', "%s").replace("\\u0001", "%s")


def _task_states() -> dict:
    """(task status, assignment decision) by (requisition state, is the last step)."""
    table = {}
    for state in S:
        for last in (False, True):
            if state in APPROVED_LIKE:
                table[state, last] = ("approved", "approve")
            elif state == S.PENDING:
                table[state, last] = ("pending", None) if last else ("approved", "approve")
            elif state == S.REJECTED:
                table[state, last] = ("rejected", "reject") if last else ("approved", "approve")
            else:  # cancelled while pending
                table[state, last] = ("cancelled", None)
    return table


TASK_STATES = _task_states()


class Company:
    """One buying company's fixed facts, rendered once, and the rows of its requisitions."""

    def __init__(self, load: Loader, clock: Clock, ids: dict, rng: random.Random, *, org: int, currency: str,
                 requesters: list[int], ccs: list[tuple[int, int]], budgets: dict, version: int | None,
                 cfo: int, step1, step2, names: dict, now: int, with_activation: bool):
        self.fixed, self.at, self.date, self.random = load.fixed, clock.at, clock.date, rng.random
        self.ids, self.org, self.currency = ids, org, currency
        self.requesters, self.ccs, self.budgets, self.version = requesters, ccs, budgets, version
        self.recent_since, self.with_activation = now - 14 * DAY, with_activation
        # budgets: cost centre -> its budget id, or {"YYYY-MM": id} for monthly budgets.
        self.ledger: dict[int, list[int]] = {}
        # What sourcing (services.bench_sourcing) builds on, when it is asked for: per state in
        # SOURCED, (requisition id, decided at, budget id, [(line id, index in line_kinds)]).
        self.candidates: dict | None = None
        fixed = load.fixed
        self.line_kinds = []
        for description, unit, price in ITEMS:
            for quantity in range(1, MAX_QUANTITY + 1):
                net = (Decimal(quantity) * Decimal(price)).quantize(Decimal("0.01"))
                vat = (net * Decimal("0.23")).quantize(Decimal("0.01"))
                net_c, vat_c = int(net * 100), int(vat * 100)
                self.line_kinds.append(((org, None, description, fixed(quantity * 1000, 3), unit,
                                         fixed(int(Decimal(price) * 10000), 4), fixed(2300, 2), None,
                                         fixed(net_c, 2), fixed(vat_c, 2), fixed(net_c + vat_c, 2)), net_c, vat_c))
        self.money = _template({"$t": "money", "v": SLOT, "c": currency})
        self.submitted = _template({"round": 1, "gross": RAW})
        self.approved_msg = _template({"id": MSG_APPROVED, "params": {"number": SLOT, "title": SLOT}})
        self.rejected_msg = _template({"id": MSG_REJECTED, "params": {"number": SLOT, "name": RAW,
                                                                      "comment": REJECTION}})
        self.names = {user: json.dumps(name) for user, name in names.items()}
        threshold = json.loads(self.money % fixed_text(int(CFO_THRESHOLD * 100), 2))
        manager = step1.name if step1 else "Manager"
        # (position, step id, name, approver or None for the cost centre's manager, reason,
        #  its parameters' template, the decision's audit summary, the request's message template)
        first = (1, step1.id if step1 else None, manager, None, REASON_EVERY, json.dumps({"step": manager}),
                 json.dumps({"step": manager, "round": 1}), self._requested(manager))
        self.one_step = (first,)
        self.two_steps = self.one_step
        if step2 is not None:
            self.two_steps = (first, (2, step2.id, step2.name, cfo, REASON_AMOUNT, _template(
                {"step": step2.name, "amount": RAW, "threshold": threshold}),
                json.dumps({"step": step2.name, "round": 1}), self._requested(step2.name)))
        self.target = _template({"endpoint": "requisitions.detail", "params": {"requisition_id": RAW}})

    def _requested(self, step: str) -> str:
        return _template({"id": MSG_REQUESTED, "params": {"number": SLOT, "title": SLOT, "amount": RAW,
                                                          "step": step}})

    def requisition(self, out: dict, number: str, created: int, state=None, title: str | None = None) -> int:
        """Append the rows of one requisition created at `created` (epoch seconds) to `out`."""
        rnd, ids, at, fixed, org = self.random, self.ids, self.at, self.fixed, self.org
        state = state or STATE_BUCKETS[int(rnd() * len(STATE_BUCKETS))]
        req_id = next(ids["requisitions"])
        requester = self.requesters[int(rnd() * len(self.requesters))]
        cc_id, manager = self.ccs[int(rnd() * len(self.ccs))]
        title = title or f"{TITLES[int(rnd() * len(TITLES))]} {number[-5:]}"
        net = vat = 0
        lines, line_ids, kinds = out["requisition_lines"].append, ids["requisition_lines"], self.line_kinds
        kept = [] if self.candidates is not None and state in SOURCED else None
        for position in range(1, 2 + int(rnd() * 5)):
            kind = int(rnd() * len(kinds))
            tail, line_net, line_vat = kinds[kind]
            line_id = next(line_ids)
            lines((line_id, req_id, position, *tail))
            net += line_net
            vat += line_vat
            if kept is not None:
                kept.append((line_id, kind))
        gross = net + vat
        draft = state == S.DRAFT
        created_at = at(created)
        submitted = created + HOUR
        submitted_at = None if draft else at(submitted)
        decided = created + DAY
        decided_at = None if draft or state == S.PENDING else at(decided)
        out["requisitions"].append((
            req_id, org, number, title, "", self.date(created + 30 * DAY), cc_id, None, self.currency,
            state.value, requester, fixed(net, 2), fixed(vat, 2), fixed(gross, 2), 0 if draft else 1,
            None if draft else self.version, submitted_at, decided_at, decided_at or submitted_at or created_at,
            created_at))
        events, event_ids = out["audit_events"].append, ids["audit_events"]
        events((next(event_ids), org, None, requester, None, "requisition.created", "Requisition", req_id,
                f'{{"number": "{number}"}}', "", created_at))
        if draft:
            return req_id
        gross_json = self.money % fixed_text(gross, 2)
        events((next(event_ids), org, None, requester, None, "requisition.submitted", "Requisition", req_id,
                self.submitted % gross_json, "", submitted_at))
        steps = self.two_steps if net >= CFO_THRESHOLD * 100 else self.one_step
        recent = created > self.recent_since
        target = self.target % req_id
        notes, note_ids = out["notifications"].append, ids["notifications"]
        tasks, assignments = out["approval_tasks"].append, out["approval_assignments"].append
        approver = manager
        for position, step_id, name, step_approver, reason, params, summary, requested in steps:
            approver = step_approver or manager
            status, decision = TASK_STATES[state, position == len(steps)]
            task_id = next(ids["approval_tasks"])
            task_at = at(submitted + position * MINUTE)
            done_at = (decided_at or at(submitted + position * MINUTE + 2 * HOUR)) if decision else None
            if position == 2:
                params %= self.money % fixed_text(net, 2)
            tasks((task_id, org, req_id, 1, position, step_id, name, "step", reason, params, "any", 1, status,
                   task_at, done_at, None, None, submitted_at))
            row = (next(ids["approval_assignments"]), org, task_id, approver, decision,
                   approver if decision else None, done_at, "", False)
            if self.with_activation:
                row += (task_at if decision is None and status == "pending" else None,)
            assignments(row)
            read = not (status == "pending" and recent)
            notes((next(note_ids), org, approver, requested % (number, title, gross_json), "approval.requested",
                   target, task_at if read else None, task_at))
            if decision:
                events((next(event_ids), org, None, approver, None,
                        "approval.approved" if decision == "approve" else "approval.rejected", "Requisition",
                        req_id, summary, "", done_at))
        if state in APPROVED_LIKE:
            events((next(event_ids), org, None, approver, None, "requisition.approved", "Requisition", req_id,
                    "{}", "", decided_at))
            notes((next(note_ids), org, requester, self.approved_msg % (number, title), "requisition.approved",
                   target, None if recent else decided_at, decided_at))
            budget = self._ledger(out, req_id, number, cc_id, net, state, decided, approver, submitted)
            if kept is not None:
                self.candidates[state].append((req_id, decided, budget, kept))
        elif state == S.REJECTED:
            events((next(event_ids), org, None, manager, None, "requisition.rejected", "Requisition", req_id,
                    "{}", REJECTION, decided_at))
            notes((next(note_ids), org, requester, self.rejected_msg % (number, self.names.get(manager, '""')),
                   "requisition.rejected", target, None if recent else decided_at, decided_at))
        elif state == S.CANCELLED:
            events((next(event_ids), org, None, requester, None, "requisition.cancelled", "Requisition", req_id,
                    "{}", "", decided_at))
        return req_id

    def _ledger(self, out, req_id, number, cc_id, net, state, decided, actor, submitted) -> int | None:
        """Post the requisition's reservation (and its commitment once ordered); returns the budget."""
        budget = self.budgets.get(cc_id)
        if isinstance(budget, dict):  # monthly: the period the requisition was submitted in
            budget = budget.get(self.date(submitted)[:7])
        if budget is None:
            return None
        kinds = [("reserve", net)]
        counters = self.ledger.get(budget) or self.ledger.setdefault(budget, [0, 0])
        if state in (S.ORDERED, S.CLOSED):
            kinds += [("release", -net), ("commit", net)]
            counters[1] += net
        else:
            counters[0] += net
        entries, entry_ids = out["budget_entries"].append, self.ids["budget_entries"]
        for n, (kind, amount) in enumerate(kinds):
            entries((next(entry_ids), self.org, budget, kind, self.fixed(amount, 2), "Requisition", req_id, number,
                     False, "", None, actor, self.at(decided + n * MINUTE)))
        return budget

    def long_timeline(self, out, req_id: int, requester: int, start: int) -> None:
        """A long history (returned and submitted again many times) on requisition `req_id`."""
        events, event_ids = out["audit_events"].append, self.ids["audit_events"]
        for n in range(LONG_TIMELINE_EVENTS):
            if n % 2:
                action, summary, comment = "requisition.returned", "{}", "Please revise."
            else:
                action, summary, comment = "requisition.submitted", f'{{"round": {n // 2 + 1}}}', ""
            events((next(event_ids), self.org, None, requester, None, action, "Requisition", req_id, summary,
                    comment, self.at(start + 5 * MINUTE * n)))



# The catalog at scale: (SKU prefix, name, unit, VAT %, list price) by demo category code; each
# item is one of these in a variant and a brand, so a search for "krzesło" or "laptop" finds a
# share of the catalog, as in a real one.
PRODUCTS = {
    "IT": [
        ("IT-LAP", "Laptop 14\"", "pcs", 23, "4899.00"),
        ("IT-MON", "Monitor 27\" IPS", "pcs", 23, "1149.00"),
        ("IT-STAC", "Stacja dokująca USB-C", "pcs", 23, "849.00"),
        ("IT-MYS", "Mysz bezprzewodowa", "pcs", 23, "149.00"),
        ("IT-TONER", "Toner do drukarki laserowej", "pcs", 23, "389.00"),
        ("IT-LIC", "Licencja oprogramowania, 1 stanowisko / rok", "licence", 23, "588.00"),
    ],
    "OFFICE": [
        ("BIU-PAP", "Papier ksero A4 80 g/m²", "ream", 23, "18.90"),
        ("BIU-DLUG", "Długopisy żelowe", "pack", 23, "29.90"),
        ("BIU-SEGR", "Segregator A4", "pcs", 23, "8.49"),
        ("BIU-KRZ", "Krzesło biurowe ergonomiczne", "pcs", 23, "899.00"),
        ("BIU-KAWA", "Kawa ziarnista 1 kg", "kg", 23, "79.90"),
        ("BIU-MLEKO", "Mleko UHT 3,2%, 1 l", "l", 5, "3.89"),
    ],
    "PROD": [
        ("PROD-BLA", "Blacha stalowa DC01", "pcs", 23, "289.00"),
        ("PROD-PRET", "Pręt stalowy okrągły", "m", 23, "9.80"),
        ("PROD-SRUBA", "Śruba sześciokątna, opakowanie 100 szt.", "pack", 23, "24.60"),
        ("PROD-FOLIA", "Folia stretch, rolka", "roll", 23, "22.90"),
        ("PROD-KARTON", "Karton klapowy", "pcs", 23, "5.40"),
    ],
    "MRO": [
        ("MRO-LOZ", "Łożysko kulkowe", "pcs", 23, "21.40"),
        ("MRO-REK", "Rękawice robocze, para", "pair", 23, "9.80"),
        ("MRO-SMAR", "Smar łożyskowy 400 g", "pcs", 23, "34.00"),
        ("MRO-PAS", "Pasek klinowy", "pcs", 23, "48.00"),
    ],
    "SERV": [
        ("SERV-SERW", "Serwis urządzeń, roboczogodzina", "h", 23, "180.00"),
        ("SERV-TRANS", "Transport krajowy, kurs", "pcs", 23, "650.00"),
        ("SERV-SZKOL", "Szkolenie BHP, uczestnik", "pcs", 23, "240.00"),
    ],
}
VARIANTS = ["standard", "premium", "ekonomiczny", "rozmiar S", "rozmiar M", "rozmiar L", "czarny", "biały"]
BRANDS = ["Acme Basic", "Kowalczyk", "Nordwind", "Polbud", "Bosch", "3M", "Würth", "Tork", "Fellowes", "Dell",
          "Lenovo", "HP"]
SUPPLIER_STEMS = ["Hansa", "Bałtyk", "Mazowsze", "Śląsk", "Wisła", "Orion", "Delta", "Polar", "Tatra", "Warta",
                  "Odra", "Karpaty", "Kujawy", "Pomorze", "Sudety", "Roztocze"]
SUPPLIER_TRADES = ["Metal", "Logistyka", "Biuro", "Tech", "Chemia", "Opakowania", "Narzędzia", "Elektro",
                   "Serwis", "Druk"]
CITIES = [("Poznań", "61-001"), ("Warszawa", "00-001"), ("Kraków", "30-001"), ("Gdańsk", "80-001"),
          ("Wrocław", "50-001"), ("Łódź", "90-001"), ("Katowice", "40-001"), ("Szczecin", "70-001")]
# Links of the large company to its suppliers (share of each status in steps of 5 %) and the
# states of its supplier invitations: a third open (some past their expiry), accepted, revoked.
LINK_STATUSES = ["active"] * 14 + ["blocked"] * 3 + ["invited"] * 3
INVITATION_STATES = ("open", "accepted", "revoked")
INVITATION_DAYS = 14


class Partners:
    """The large company's catalog, supplier companies and links (an active one with the person
    who answers its RFQs), supplier invitations and price agreements, as rows in their stored
    form. `fold` is domain.catalog.fold_for_search (applied once per
    distinct name); `terms` the stored JSON of a few payment terms; `since`/`now` the epoch
    seconds the rows' dates spread over."""

    def __init__(self, load: Loader, clock: Clock, ids: dict, rng: random.Random, *, org: int, currency: str,
                 admin: int, categories: dict[str, int], terms: list[str], fold, since: int, now: int):
        self.fixed, self.at, self.date, self.random = load.fixed, clock.at, clock.date, rng.random
        self.ids, self.org, self.currency, self.admin = ids, org, currency, admin
        self.agreements = 0  # how many `agreement` will be asked for (spreads them over the items)
        self.terms, self.since, self.now = terms, since, now
        self.suppliers: list[int] = []
        # Active links: (link id, supplier id, currency, stored payment terms, the supplier's
        # user or None); the demo's are put first by services.bench_seed. Nordwind's is `nordwind`.
        self.links: list[tuple] = []
        self.nordwind: tuple | None = None
        self.items: list[tuple[int, int]] = []  # (item id, list price in 10^-4 units)
        self.skus: dict[int, str] = {}  # of the active items (price-list proposals name them)
        self.products = []
        for code, products in PRODUCTS.items():
            if code not in categories:
                continue
            for prefix, name, unit, vat, price in products:
                cents = int(Decimal(price) * 100)
                names = [(f"{name}, {variant}, {brand}", fold(f"{name}, {variant}, {brand}"))
                         for variant in VARIANTS for brand in BRANDS]
                raw = [cents * factor for factor in range(60, 141)]  # 0.60-1.40 x, in 10^-4 units
                self.products.append((prefix, names, unit, categories[code], load.fixed(vat * 100, 2),
                                      [load.fixed(price, 4) for price in raw], raw))

    def _when(self) -> int:
        return self.since + int(self.random() * (self.now - self.since))

    def supplier(self, out: dict, n: int) -> int:
        """A supplier company (no users: it has not signed in yet) and the large company's link to it."""
        rnd, ids = self.random, self.ids
        org_id = next(ids["organizations"])
        stems, trades = SUPPLIER_STEMS, SUPPLIER_TRADES
        name = f"{stems[int(rnd() * len(stems))]} {trades[int(rnd() * len(trades))]}"
        city, postal = CITIES[int(rnd() * len(CITIES))]
        created = self._when()
        out["organizations"].append((
            org_id, name, f"{name} {n + 1} Sp. z o.o.", "supplier", f"9{org_id:09d}", f"ul. Przemysłowa {n % 90 + 1}",
            postal, city, "PL", "PLN", "pl", self.at(created)))
        status = LINK_STATUSES[int(rnd() * len(LINK_STATUSES))]
        limit = None if rnd() < 0.3 else self.fixed(int(rnd() * 50 + 1) * 1000000, 2)  # 10 000-500 000
        link_id, terms = next(ids["supplier_links"]), self.terms[int(rnd() * len(self.terms))]
        out["supplier_links"].append((
            link_id, self.org, org_id, status, terms, self.currency, limit, self.admin, self.at(created + DAY),
            self.at(created + DAY)))
        if status == "active":
            self.suppliers.append(org_id)
            user_id = next(ids["users"])  # the person who answers RFQs (never signs in here)
            out["users"].append((user_id, org_id, f"oferty{org_id}@dostawca{org_id}.example", f"Oferty {name}",
                                 "!", True, "pl", 1, None, self.at(created + DAY)))
            out["user_roles"].append((user_id, "supplier_sales"))
            self.links.append((link_id, org_id, self.currency, terms, user_id))
        return org_id

    def invitation(self, out: dict, n: int) -> None:
        """A supplier invitation of the large company: open (maybe expired), accepted or revoked."""
        rnd = self.random
        inv_id = next(self.ids["invitations"])
        state = INVITATION_STATES[n % 3]
        # Open ones are recent (half of them still within their days), the others older.
        created = self.now - int(rnd() * 2 * INVITATION_DAYS * DAY) if state == "open" else self._when()
        company = f"{SUPPLIER_STEMS[int(rnd() * len(SUPPLIER_STEMS))]} {SUPPLIER_TRADES[n % len(SUPPLIER_TRADES)]}"
        out["invitations"].append((
            inv_id, self.org, "supplier", f"oferty{inv_id}@dostawca{inv_id}.example", f"Kontakt {n + 1}", "", None,
            company, self.terms[n % len(self.terms)], self.currency, None,
            hashlib.sha256(f"bench-invitation-{inv_id}".encode()).hexdigest(),
            self.at(created + INVITATION_DAYS * DAY), self.at(created + 2 * DAY) if state == "accepted" else None,
            self.at(created + 5 * DAY) if state == "revoked" else None, self.admin, self.at(created)))

    def item(self, out: dict, n: int) -> None:
        """A catalog item: one of PRODUCTS in a variant and brand, every fourth inactive."""
        rnd = self.random
        item_id = next(self.ids["items"])
        prefix, names, unit, category, vat, prices, raw = self.products[int(rnd() * len(self.products))]
        name, folded = names[int(rnd() * len(names))]
        suppliers = self.suppliers
        preferred = suppliers[int(rnd() * len(suppliers))] if suppliers and rnd() < 0.3 else None
        price = int(rnd() * len(prices))
        created = self.at(self._when())
        out["items"].append((
            item_id, self.org, f"{prefix}-{item_id:07d}", name, folded, "", unit, category, vat,
            prices[price], self.currency, preferred, n % 4 != 3, created, created))
        if n % 4 != 3:
            self.items.append((item_id, raw[price]))
            self.skus[item_id] = f"{prefix}-{item_id:07d}"

    def agreement(self, out: dict, n: int) -> None:
        """A price agreement with an active supplier (Nordwind's every fourth) for an active item of
        its own (no two on one link and item, so none overlap): valid (some open-ended, some with
        a tier), every tenth expired, every tenth from a future day."""
        rnd, items = self.random, self.items
        links = self.links
        if not items or not links:
            return
        link = self.nordwind if self.nordwind and n % 4 == 0 else links[int(rnd() * len(links))]
        link_id, supplier, currency, _, _ = link
        item_id, price = items[n * len(items) // max(self.agreements, 1) % len(items)]
        price = max(price * 9 // (40 if currency != self.currency else 10), 100)
        now, since = self.now, self.since
        state = n % 10
        if state == 0:  # expired
            start = since + int(rnd() * (now - since) // 2)
            end = start + int(rnd() * (now - DAY - start))
        elif state == 1:  # from a future day
            start = now + (7 + int(rnd() * 60)) * DAY
            end = start + 365 * DAY
        else:
            start = since + int(rnd() * (now - since))
            end = None if rnd() < 0.3 else now + (30 + int(rnd() * 330)) * DAY
        tiers = f'[["100", "{fixed_text(price * 95 // 100, 4)}"]]' if n % 3 == 0 else "[]"
        created = min(start, now - DAY)
        agreement_id = next(self.ids["price_agreements"])
        out["price_agreements"].append((
            agreement_id, self.org, supplier, link_id, item_id, self.fixed(price, 4), currency,
            tiers, self.date(start), None if end is None else self.date(end), f"SP-{item_id:07d}",
            1 + int(rnd() * 30), self.admin, self.at(created), self.at(created)))
        if link is self.nordwind and n % 8 == 0 and link[4] is not None:
            self._proposal(out, n // 8, link, item_id, agreement_id, price, created)

    def _proposal(self, out: dict, n: int, link: tuple, item_id: int, agreement_id: int, price: int,
                  created: int) -> None:
        """Nordwind's price-list proposal of a new price for an item it has an agreement on, sent
        after the agreement: open (3 in 10), decided (5: the line rejected) or withdrawn (2)."""
        rnd, now = self.random, self.now
        link_id, supplier, currency, _, user = link
        status = "open" if n % 10 < 3 else "decided" if n % 10 < 8 else "withdrawn"
        sent = created + int(rnd() * max(now - HOUR - created, 0))
        decided = sent + int(rnd() * (now - sent)) if status == "decided" else None
        updated = decided if decided is not None else sent + (now - sent) // 2 if status == "withdrawn" else sent
        proposal_id = next(self.ids["price_proposals"])
        out["price_proposals"].append((
            proposal_id, self.org, supplier, link_id, status, "Cennik na kolejny kwartał.",
            f"cennik-{proposal_id}.csv", user, None if decided is None else self.at(decided),
            None if decided is None else self.admin, self.at(updated), self.at(sent)))
        proposed = max(price * (95 + int(rnd() * 11)) // 100, 100)
        out["price_proposal_lines"].append((
            next(self.ids["price_proposal_lines"]), proposal_id, item_id, self.skus[item_id], f"SP-{item_id:07d}",
            self.fixed(proposed, 4), currency, self.date(sent + 14 * DAY), None, 7, "[]", agreement_id,
            self.fixed(price, 4), "rejected" if decided is not None else "pending",
            "Cena powyżej budżetu." if decided is not None else "", None))
