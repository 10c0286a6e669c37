"""Invoice rules: the state machine, settling, overdue and aging, the three-way match, reverse
charge and split payment, VAT in PLN, the amount in words, numbers.

    draft ─ issue ─▶ issued ─ approve ─▶ approved ─ pay ─▶ partially_paid ─ pay ─▶ paid
                       │  ▲ approve                 │                        ▲
                       ▼  │                         └────────── pay ─────────┘
                     disputed
    credit (issued, disputed, approved, partially_paid): a credit note reduces what is due;
    nothing left to pay → paid (credited when nothing was paid or discounted).

The supplier drafts and issues; the buyer approves or disputes, then records payments; the
supplier answers a dispute with a credit note. After a payment or a credit note
`settle_status` decides the status from the amounts. Overdue is never stored: an open invoice
whose due date has passed (`is_overdue`).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from num2words import num2words

from portal.domain.messages import N_, Msg
from portal.domain.taxid import EU_COUNTRIES
from portal.money import places_of, round_money

ZERO = Decimal(0)
HUNDRED = Decimal(100)


class InvoiceStatus(StrEnum):
    # The same values as portal.models.invoice.InvoiceStatus (the domain imports no models).
    DRAFT = "draft"
    ISSUED = "issued"
    DISPUTED = "disputed"
    APPROVED = "approved"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CREDITED = "credited"


class InvoiceKind(StrEnum):
    # The same values as portal.models.invoice.InvoiceKind.
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class Action(StrEnum):
    ISSUE = "issue"
    APPROVE = "approve"
    DISPUTE = "dispute"
    PAY = "pay"
    CREDIT = "credit"


S, A = InvoiceStatus, Action
# What each move is allowed from. Anything not listed is refused.
ALLOWED: dict[Action, frozenset[InvoiceStatus]] = {
    A.ISSUE: frozenset({S.DRAFT}),
    A.APPROVE: frozenset({S.ISSUED, S.DISPUTED}),
    A.DISPUTE: frozenset({S.ISSUED}),
    A.PAY: frozenset({S.APPROVED, S.PARTIALLY_PAID}),
    A.CREDIT: frozenset({S.ISSUED, S.DISPUTED, S.APPROVED, S.PARTIALLY_PAID}),
}
# Where the fixed moves lead; a payment or a credit note goes where `settle_status` says.
TRANSITIONS: dict[tuple[InvoiceStatus, Action], InvoiceStatus] = {
    (S.DRAFT, A.ISSUE): S.ISSUED,
    (S.ISSUED, A.APPROVE): S.APPROVED,
    (S.DISPUTED, A.APPROVE): S.APPROVED,
    (S.ISSUED, A.DISPUTE): S.DISPUTED,
}
# Issued and not settled: what the buyer still owes something on (lists, aging, reminders).
OPEN = (S.ISSUED, S.DISPUTED, S.APPROVED, S.PARTIALLY_PAID)
OPEN_STATUSES = frozenset(OPEN)
SETTLED = frozenset({S.PAID, S.CREDITED})

REFUSALS: dict[Action, str] = {
    A.ISSUE: N_("Only a draft can be issued; this invoice is %(status)s."),
    A.APPROVE: N_("Only an issued or disputed invoice can be approved; this one is %(status)s."),
    A.DISPUTE: N_("Only an invoice waiting for approval can be disputed; this one is %(status)s."),
    A.PAY: N_("Only an approved invoice can be paid; this one is %(status)s."),
    A.CREDIT: N_("A credit note can correct only an issued invoice that is not settled; this one is %(status)s."),
}

# The status as a word inside a sentence ("this one is paid"), and as a label with its badge
# colour for lists and pills (the edge translates them). "overdue" is derived, never stored.
OVERDUE = "overdue"
STATUS_WORDS = {
    S.DRAFT: N_("a draft"),
    S.ISSUED: N_("waiting for approval"),
    S.DISPUTED: N_("disputed"),
    S.APPROVED: N_("approved for payment"),
    S.PARTIALLY_PAID: N_("partially paid"),
    S.PAID: N_("paid"),
    S.CREDITED: N_("credited"),
    OVERDUE: N_("overdue"),
}
STATUS_LABELS = {
    S.DRAFT: (N_("Draft"), "muted"),
    S.ISSUED: (N_("Issued"), "warn"),
    S.DISPUTED: (N_("Disputed"), "danger"),
    S.APPROVED: (N_("Approved"), "info"),
    S.PARTIALLY_PAID: (N_("Partially paid"), "info"),
    S.PAID: (N_("Paid"), "ok"),
    S.CREDITED: (N_("Credited"), "neutral"),
    OVERDUE: (N_("Overdue"), "danger"),
}


def status_word(status) -> Msg:
    """The invoice status (or "overdue") as a lower-case word in a sentence."""
    key = str(status)
    return Msg(STATUS_WORDS.get(key, key))


class InvoiceRefused(Exception):
    """A move the invoice's status does not allow; `msg` is for the user (status as a code)."""

    def __init__(self, msg: Msg):
        super().__init__(str(msg))
        self.msg = msg


def allows(status, action: Action) -> bool:
    return InvoiceStatus(status) in ALLOWED[Action(action)]


def refused(status, action: Action) -> Msg:
    """The message for a move `status` does not allow (`status` as its code: the service puts
    the reader's word in, e.g. with `status_word`)."""
    return Msg(REFUSALS[Action(action)], {"status": str(status)})


def check(status, action: Action) -> None:
    """InvoiceRefused unless `status` allows `action`."""
    if not allows(status, action):
        raise InvoiceRefused(refused(status, action))


def next_status(status, action: Action) -> InvoiceStatus:
    """The status after issue, approve or dispute; InvoiceRefused when not allowed. Payments
    and credit notes: `settle_status`."""
    check(status, action)
    try:
        return TRANSITIONS[(InvoiceStatus(status), Action(action))]
    except KeyError:
        raise ValueError(f"{action} has no fixed target: use settle_status") from None


def allowed_actions(status) -> set[Action]:
    return {a for a, sources in ALLOWED.items() if InvoiceStatus(status) in sources}


def settle_status(*, status, gross: Decimal, credited: Decimal, paid: Decimal,
                  discount: Decimal) -> InvoiceStatus:
    """The status after a payment or a credit note, from the amounts.

    Nothing left to pay: paid — or credited when the credit notes alone cover the gross
    (nothing paid, no discount taken). Something paid and something left: partially paid.
    Otherwise (a partial credit note on an unpaid invoice) the status stays.
    """
    due = gross - credited - paid - discount
    if due <= ZERO:
        if paid == ZERO and discount == ZERO and credited >= gross:
            return S.CREDITED
        return S.PAID
    if paid > ZERO:
        return S.PARTIALLY_PAID
    return InvoiceStatus(status)


# ---------------------------------------------------------------- overdue and aging


def is_overdue(status, due_date: date | None, today: date) -> bool:
    """An open invoice past its due date (the day after the due date is the first overdue day)."""
    return due_date is not None and str(status) in OPEN_STATUSES and due_date < today


def days_overdue(due_date: date | None, today: date) -> int:
    """Days since the due date; 0 when not yet due (or no due date)."""
    if due_date is None:
        return 0
    return max(0, (today - due_date).days)


class Bucket(StrEnum):
    CURRENT = "current"
    D1_30 = "d1_30"
    D31_60 = "d31_60"
    D61_90 = "d61_90"
    D90_PLUS = "d90_plus"


BUCKET_LABELS = {
    Bucket.CURRENT: N_("Not yet due"),
    Bucket.D1_30: N_("1–30 days"),
    Bucket.D31_60: N_("31–60 days"),
    Bucket.D61_90: N_("61–90 days"),
    Bucket.D90_PLUS: N_("Over 90 days"),
}
# The last day overdue of each bucket (CURRENT: not overdue); D90_PLUS has no end.
BUCKET_LIMITS = ((Bucket.CURRENT, 0), (Bucket.D1_30, 30), (Bucket.D31_60, 60), (Bucket.D61_90, 90))


def aging_bucket(due_date: date | None, today: date) -> Bucket:
    """The aging bucket of an amount due on `due_date`: CURRENT until it is overdue, then by
    days overdue (1–30, 31–60, 61–90, more than 90)."""
    days = days_overdue(due_date, today)
    for bucket, last in BUCKET_LIMITS:
        if days <= last:
            return bucket
    return Bucket.D90_PLUS


# ---------------------------------------------------------------- payment reminders


class ReminderKind(StrEnum):
    BEFORE = "before"    # due in a few days
    DUE = "due"          # due today
    OVERDUE = "overdue"  # past due, again every week


REMIND_BEFORE_DAYS = 3
REMIND_OVERDUE_EVERY_DAYS = 7
# Reminded: waiting for approval, approved, partly paid. A disputed invoice waits for the
# supplier's answer (a credit note), not for money.
REMINDED = (S.ISSUED, S.APPROVED, S.PARTIALLY_PAID)


def reminder_kind(due_date: date, today: date, last_sent: date | None) -> ReminderKind | None:
    """Which payment reminder an open invoice gets today, given the day of its last one.

    Three days before the due date (once: a missed day is caught up until the due date), on the
    due date, then when overdue every seven days after the last reminder (the first at once when
    none was sent on the due date). Never twice on one day.
    """
    if last_sent is not None and last_sent >= today:
        return None
    days = (due_date - today).days
    if days > REMIND_BEFORE_DAYS:
        return None
    if days > 0:
        window = due_date - timedelta(days=REMIND_BEFORE_DAYS)
        return ReminderKind.BEFORE if last_sent is None or last_sent < window else None
    if days == 0:
        return ReminderKind.DUE
    if last_sent is None or (today - last_sent).days >= REMIND_OVERDUE_EVERY_DAYS:
        return ReminderKind.OVERDUE
    return None


# ---------------------------------------------------------------- three-way match


def match_line(*, quantity: Decimal, unit_price: Decimal, order_unit_price: Decimal,
               received: Decimal, invoiced_before: Decimal,
               tolerance_percent: Decimal | None) -> Msg | None:
    """Why an invoice line does not match its order line and receipts, or None.

    Three-way: the goods must have been received, the quantity must not exceed what was
    received and not invoiced yet, and the unit price must be within the tolerance (a
    percentage of the order price, either way; 0 or None = exactly the order price).
    """
    if received <= ZERO:
        return Msg(N_("Nothing has been received for this order line yet."))
    open_quantity = received - invoiced_before
    if quantity > open_quantity:
        if open_quantity <= ZERO:
            return Msg(N_("Everything received for this order line has already been invoiced."))
        return Msg(N_("Invoiced %(quantity)s, but only %(open)s received and not yet invoiced."),
                   {"quantity": quantity, "open": open_quantity})
    tolerance = tolerance_percent or ZERO
    if abs(unit_price - order_unit_price) * HUNDRED > order_unit_price * tolerance:
        if tolerance:
            return Msg(N_("The unit price %(price)s differs from the order price %(order_price)s "
                          "by more than %(tolerance)s%%."),
                       {"price": unit_price, "order_price": order_unit_price, "tolerance": tolerance})
        return Msg(N_("The unit price %(price)s differs from the order price %(order_price)s."),
                   {"price": unit_price, "order_price": order_unit_price})
    return None


# ---------------------------------------------------------------- VAT rules


def reverse_charge_applies(*, seller_country: str, buyer_country: str, buyer_vat_id_valid: bool) -> bool:
    """Intra-EU B2B supply: seller and buyer in two different EU countries and the buyer has a
    valid EU VAT ID; the buyer accounts for the VAT (every line `oo`)."""
    seller, buyer = (seller_country or "").upper(), (buyer_country or "").upper()
    return (bool(buyer_vat_id_valid) and seller in EU_COUNTRIES and buyer in EU_COUNTRIES
            and seller != buyer)


SPLIT_PAYMENT_THRESHOLD = Decimal("15000")


def split_payment_required(*, seller_country: str, gross_pln: Decimal, annex15: bool) -> bool:
    """The split-payment note is mandatory (art. 106e ust. 1 pkt 18a): a Polish seller, goods
    or services of annex 15, and a gross of more than 15 000 PLN."""
    return ((seller_country or "").upper() == "PL" and bool(annex15)
            and gross_pln > SPLIT_PAYMENT_THRESHOLD)


def vat_in_pln(vat: Decimal, rate: Decimal) -> Decimal:
    """A foreign-currency VAT amount in PLN at the exchange rate, half-up to the grosz."""
    return round_money(vat * rate, "PLN")


# ---------------------------------------------------------------- amount in words


# Currency words by language: (one, few, many) in Polish (1 złoty, 2 złote, 5 złotych),
# (one, other) in English.
CURRENCY_WORDS = {
    "pl": {"PLN": ("złoty", "złote", "złotych"), "EUR": ("euro", "euro", "euro")},
    "en": {"PLN": ("zloty", "zlotys"), "EUR": ("euro", "euro")},
}


def _plural_pl(n: int) -> int:
    if n == 1:
        return 0
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return 1
    return 2


def amount_in_words(amount: Decimal, currency: str, language: str = "pl") -> str:
    """The amount in words as printed on an invoice: the whole units in words, the currency,
    the minor units as a fraction (`tysiąc dwieście trzydzieści cztery złote 56/100`,
    `one thousand, two hundred and thirty-four euro 56/100`). PLN and EUR get their words,
    other currencies their code (`… USD 05/100`). Never through a float.
    """
    if isinstance(amount, float):
        raise TypeError("money is never a float")
    lang = "pl" if str(language).lower().startswith("pl") else "en"
    places = places_of(currency)
    value = round_money(Decimal(amount), currency)
    sign = "minus " if value < 0 else ""
    value = abs(value)
    whole = int(value)
    words = num2words(whole, lang=lang)
    forms = CURRENCY_WORDS[lang].get(currency)
    if forms is None:
        unit = currency
    elif lang == "pl":
        unit = forms[_plural_pl(whole)]
    else:
        unit = forms[0] if whole == 1 else forms[1]
    text = f"{sign}{words} {unit}"
    if places:
        minor = int((value - whole).scaleb(places))
        text += f" {minor:0{places}d}/{10 ** places}"
    return text


# ---------------------------------------------------------------- numbers


NUMBER_PREFIXES = {InvoiceKind.INVOICE: "FV", InvoiceKind.CREDIT_NOTE: "KOR"}
# The counters of `portal.services.numbering.next_sequence` per kind.
SEQUENCE_KINDS = {InvoiceKind.INVOICE: "invoice", InvoiceKind.CREDIT_NOTE: "credit_note"}


def format_number(kind, year: int, sequence: int) -> str:
    """`FV/2026/000001` for an invoice, `KOR/2026/000001` for a credit note: six digits at
    least, more when needed (never cut)."""
    if sequence < 1:
        raise ValueError("an invoice number starts at 1")
    return f"{NUMBER_PREFIXES[InvoiceKind(str(kind))]}/{year}/{sequence:06d}"
