"""Invoice rules (portal/domain/invoicing.py): every status × action, settling after payments
and credit notes, overdue and aging, the three-way match, reverse charge, split payment, VAT
in PLN, the amount in words, numbers. No app needed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from portal.domain import invoicing as rules
from portal.domain.invoicing import Action, Bucket, InvoiceKind, InvoiceRefused, InvoiceStatus
from portal.models.invoice import InvoiceKind as StoredKind
from portal.models.invoice import InvoiceStatus as StoredStatus

D = Decimal
S, A = InvoiceStatus, Action

# The spec, written out: each action and the statuses it is allowed from.
SPEC = {
    A.ISSUE: {S.DRAFT},
    A.APPROVE: {S.ISSUED, S.DISPUTED},
    A.DISPUTE: {S.ISSUED},
    A.PAY: {S.APPROVED, S.PARTIALLY_PAID},
    A.CREDIT: {S.ISSUED, S.DISPUTED, S.APPROVED, S.PARTIALLY_PAID},
}
TARGETS = {
    (S.DRAFT, A.ISSUE): S.ISSUED,
    (S.ISSUED, A.APPROVE): S.APPROVED,
    (S.DISPUTED, A.APPROVE): S.APPROVED,
    (S.ISSUED, A.DISPUTE): S.DISPUTED,
}


def test_invoice_statuses_and_kinds_match_the_stored_ones():
    assert [s.value for s in InvoiceStatus] == [s.value for s in StoredStatus]
    assert [k.value for k in InvoiceKind] == [k.value for k in StoredKind]


@pytest.mark.parametrize("status", list(InvoiceStatus))
@pytest.mark.parametrize("action", list(Action))
def test_invoice_every_status_and_action(status, action):
    allowed = status in SPEC[action]
    assert rules.allows(status, action) is allowed
    # The stored enum and its plain value read the same.
    assert rules.allows(StoredStatus(status.value), action) is allowed
    assert rules.allows(status.value, action.value) is allowed
    if allowed:
        rules.check(status, action)
        if (status, action) in TARGETS:
            assert rules.next_status(status, action) == TARGETS[(status, action)]
    else:
        with pytest.raises(InvoiceRefused) as refused:
            rules.check(status, action)
        assert refused.value.msg.params == {"status": status.value}
        assert refused.value.msg == rules.refused(status, action)
        with pytest.raises(InvoiceRefused):
            rules.next_status(status, action)


def test_invoice_table_is_the_spec():
    assert {a: set(s) for a, s in rules.ALLOWED.items()} == SPEC
    assert rules.TRANSITIONS == TARGETS


def test_invoice_pay_and_credit_have_no_fixed_target():
    with pytest.raises(ValueError, match="settle_status"):
        rules.next_status(S.APPROVED, A.PAY)


def test_invoice_allowed_actions():
    assert rules.allowed_actions(S.ISSUED) == {A.APPROVE, A.DISPUTE, A.CREDIT}
    assert rules.allowed_actions(S.DRAFT) == {A.ISSUE}
    assert rules.allowed_actions(S.PAID) == set()
    assert rules.allowed_actions(S.CREDITED) == set()


def test_invoice_open_statuses():
    assert set(rules.OPEN) == {S.ISSUED, S.DISPUTED, S.APPROVED, S.PARTIALLY_PAID}
    assert rules.OPEN_STATUSES.isdisjoint(rules.SETTLED)


def test_invoice_every_refusal_names_the_status_and_every_status_has_a_word_and_label():
    for action in Action:
        assert "%(status)s" in rules.REFUSALS[action]
    for status in list(InvoiceStatus) + ["overdue"]:
        assert rules.status_word(status).text == rules.STATUS_WORDS[status]
        label, tone = rules.STATUS_LABELS[status]
        assert label and tone in {"ok", "warn", "info", "danger", "neutral", "muted"}
    assert rules.status_word(StoredStatus.PAID).text == "paid"
    assert rules.STATUS_LABELS[StoredStatus.DISPUTED][0] == "Disputed"


# ---------------------------------------------------------------- settling


@pytest.mark.parametrize(
    ("status", "credited", "paid", "discount", "expected"),
    [
        # A payment of part: partially paid; of the rest: paid.
        (S.APPROVED, "0", "400", "0", S.PARTIALLY_PAID),
        (S.PARTIALLY_PAID, "0", "1230", "0", S.PAID),
        (S.APPROVED, "0", "1230", "0", S.PAID),
        # Paid early with the discount: the discount settles the rest.
        (S.APPROVED, "0", "1205.40", "24.60", S.PAID),
        # A whole credit note on an unpaid invoice: credited.
        (S.ISSUED, "1230", "0", "0", S.CREDITED),
        (S.DISPUTED, "1230", "0", "0", S.CREDITED),
        # A partial credit note on an unpaid invoice: unchanged.
        (S.ISSUED, "230", "0", "0", S.ISSUED),
        (S.DISPUTED, "230", "0", "0", S.DISPUTED),
        (S.APPROVED, "230", "0", "0", S.APPROVED),
        # A credit note for the rest after a part payment: paid (money changed hands).
        (S.PARTIALLY_PAID, "830", "400", "0", S.PAID),
        # A credit note after a part payment that leaves something: still partially paid.
        (S.PARTIALLY_PAID, "100", "400", "0", S.PARTIALLY_PAID),
        # Credit notes beyond the gross (never expected, never negative due): credited.
        (S.ISSUED, "1300", "0", "0", S.CREDITED),
    ],
)
def test_settle_status(status, credited, paid, discount, expected):
    assert rules.settle_status(status=status, gross=D("1230.00"), credited=D(credited), paid=D(paid),
                               discount=D(discount)) == expected


def test_settle_status_returns_the_domain_enum_for_a_stored_status():
    result = rules.settle_status(status=StoredStatus.ISSUED, gross=D("10"), credited=D("1"),
                                 paid=D("0"), discount=D("0"))
    assert result == StoredStatus.ISSUED and result.value == "issued"


# ---------------------------------------------------------------- overdue and aging

DUE = date(2026, 11, 30)


@pytest.mark.parametrize("status", list(InvoiceStatus))
def test_overdue_only_open_invoices_after_the_due_date(status):
    after = DUE + timedelta(days=1)
    assert rules.is_overdue(status, DUE, after) is (status in SPEC[A.CREDIT])
    assert not rules.is_overdue(status, DUE, DUE)
    assert not rules.is_overdue(status, DUE, DUE - timedelta(days=1))
    assert not rules.is_overdue(status, None, after)


def test_overdue_accepts_plain_status_values():
    assert rules.is_overdue("partially_paid", DUE, date(2026, 12, 1))
    assert not rules.is_overdue("paid", DUE, date(2026, 12, 1))


def test_days_overdue():
    assert rules.days_overdue(DUE, DUE) == 0
    assert rules.days_overdue(DUE, DUE - timedelta(days=5)) == 0
    assert rules.days_overdue(DUE, DUE + timedelta(days=1)) == 1
    assert rules.days_overdue(DUE, date(2027, 1, 1)) == 32
    assert rules.days_overdue(None, DUE) == 0


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(-10, Bucket.CURRENT), (0, Bucket.CURRENT), (1, Bucket.D1_30), (30, Bucket.D1_30),
     (31, Bucket.D31_60), (60, Bucket.D31_60), (61, Bucket.D61_90), (90, Bucket.D61_90),
     (91, Bucket.D90_PLUS), (1000, Bucket.D90_PLUS)],
)
def test_aging_bucket_edges(days, bucket):
    assert rules.aging_bucket(DUE, DUE + timedelta(days=days)) == bucket


def test_aging_bucket_labels_cover_every_bucket():
    assert set(rules.BUCKET_LABELS) == set(Bucket)
    assert list(rules.BUCKET_LABELS) == list(Bucket)


# ---------------------------------------------------------------- payment reminders

R = rules.ReminderKind


def days(n: int) -> date:
    return DUE + timedelta(days=n)


@pytest.mark.parametrize(
    ("today", "last_sent", "expected"),
    [
        (days(-4), None, None),            # four days before: nothing yet
        (days(-3), None, R.BEFORE),        # three days before
        (days(-2), None, R.BEFORE),        # a missed run is caught up
        (days(-2), days(-3), None),        # once
        (days(-1), days(-3), None),
        (days(-1), days(-10), R.BEFORE),   # an older reminder does not count
        (days(0), None, R.DUE),
        (days(0), days(-3), R.DUE),
        (days(0), days(0), None),          # never twice a day
        (days(1), days(0), None),          # the week after the due-date reminder
        (days(6), days(0), None),
        (days(7), days(0), R.OVERDUE),     # then weekly
        (days(8), days(7), None),
        (days(14), days(7), R.OVERDUE),
        (days(1), None, R.OVERDUE),        # none sent on the due date: at once
        (days(100), days(90), R.OVERDUE),  # a run missed for days: the next one goes
        (days(3), days(1), None),
    ],
)
def test_reminder_kind(today, last_sent, expected):
    assert rules.reminder_kind(DUE, today, last_sent) == expected


def test_reminded_statuses_are_open_but_not_disputed():
    assert set(rules.REMINDED) == rules.OPEN_STATUSES - {S.DISPUTED}


# ---------------------------------------------------------------- three-way match


def match(**overrides):
    args = {"quantity": D("10"), "unit_price": D("100.00"), "order_unit_price": D("100.00"),
            "received": D("10"), "invoiced_before": D("0"), "tolerance_percent": D("0")}
    args.update(overrides)
    return rules.match_line(**args)


def test_match_line_matches_what_was_received_at_the_order_price():
    assert match() is None
    assert match(quantity=D("4"), received=D("10"), invoiced_before=D("6")) is None
    assert match(quantity=D("0.5"), received=D("0.5")) is None


def test_match_line_nothing_received():
    problem = match(received=D("0"))
    assert problem.text == "Nothing has been received for this order line yet."


def test_match_line_more_than_received_and_not_yet_invoiced():
    problem = match(quantity=D("5"), received=D("10"), invoiced_before=D("6"))
    assert problem.text == "Invoiced %(quantity)s, but only %(open)s received and not yet invoiced."
    assert problem.params == {"quantity": D("5"), "open": D("4")}
    assert match(quantity=D("10.001")).params["open"] == D("10")


def test_match_line_everything_already_invoiced():
    problem = match(quantity=D("1"), received=D("10"), invoiced_before=D("10"))
    assert problem.text == "Everything received for this order line has already been invoiced."


def test_match_line_price_with_no_tolerance_must_be_the_order_price():
    problem = match(unit_price=D("100.01"))
    assert problem.text == "The unit price %(price)s differs from the order price %(order_price)s."
    assert problem.params == {"price": D("100.01"), "order_price": D("100.00")}
    assert match(unit_price=D("99.99"), tolerance_percent=None) is not None


@pytest.mark.parametrize(
    ("price", "matches"),
    [("102.00", True), ("98.00", True), ("102.01", False), ("97.99", False), ("100.00", True),
     ("50.00", False)],
)
def test_match_line_price_within_tolerance_either_way(price, matches):
    problem = match(unit_price=D(price), tolerance_percent=D("2"))
    assert (problem is None) is matches
    if not matches:
        assert problem.params["tolerance"] == D("2")
        assert "%%" in problem.text


def test_match_line_fractional_tolerance():
    assert match(unit_price=D("33.4166"), order_unit_price=D("33.3333"), tolerance_percent=D("0.25")) is None
    assert match(unit_price=D("33.4167"), order_unit_price=D("33.3333"), tolerance_percent=D("0.25")) is not None


def test_match_line_quantity_is_checked_before_price():
    problem = match(quantity=D("11"), unit_price=D("150"))
    assert "received" in problem.text


# ---------------------------------------------------------------- reverse charge, split payment


@pytest.mark.parametrize(
    ("seller", "buyer", "valid", "expected"),
    [
        ("DE", "PL", True, True),
        ("PL", "DE", True, True),
        ("pl", "fr", True, True),
        ("DE", "PL", False, False),  # no valid EU VAT ID: a consumer or unchecked, VAT charged
        ("PL", "PL", True, False),   # domestic
        ("DE", "DE", True, False),
        ("GB", "PL", True, False),   # seller outside the EU
        ("PL", "US", True, False),   # export, not an intra-EU supply
        ("CH", "NO", True, False),
        ("", "PL", True, False),
    ],
)
def test_reverse_charge_applies(seller, buyer, valid, expected):
    assert rules.reverse_charge_applies(seller_country=seller, buyer_country=buyer,
                                        buyer_vat_id_valid=valid) is expected


@pytest.mark.parametrize(
    ("seller", "gross", "annex15", "expected"),
    [
        ("PL", "15000.01", True, True),
        ("PL", "15000.00", True, False),  # more than 15 000, not equal
        ("PL", "14999.99", True, False),
        ("PL", "100000", False, False),
        ("DE", "100000", True, False),
        ("pl", "20000", True, True),
    ],
)
def test_split_payment_required(seller, gross, annex15, expected):
    assert rules.split_payment_required(seller_country=seller, gross_pln=D(gross), annex15=annex15) is expected
    assert D("15000") == rules.SPLIT_PAYMENT_THRESHOLD


@pytest.mark.parametrize(
    ("vat", "rate", "expected"),
    [
        ("230.00", "4.2345", "973.94"),   # 973.935 → half-up
        ("0.01", "4.5", "0.05"),          # 0.045 → 0.05 (half-even would give 0.04)
        ("1000.00", "4.300000", "4300.00"),
        ("0.00", "4.1", "0.00"),
        ("12345678.91", "4.321987", "53357863.76"),
    ],
)
def test_vat_in_pln_rounds_half_up_to_the_grosz(vat, rate, expected):
    result = rules.vat_in_pln(D(vat), D(rate))
    assert result == D(expected)
    assert result.as_tuple().exponent == -2


# ---------------------------------------------------------------- amount in words


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        ("1234.56", "PLN", "pl", "tysiąc dwieście trzydzieści cztery złote 56/100"),
        ("1.00", "PLN", "pl", "jeden złoty 00/100"),
        ("5.05", "PLN", "pl", "pięć złotych 05/100"),
        ("12.10", "PLN", "pl", "dwanaście złotych 10/100"),
        ("22.00", "PLN", "pl", "dwadzieścia dwa złote 00/100"),
        ("1001", "PLN", "pl", "tysiąc jeden złotych 00/100"),
        ("0.99", "PLN", "pl", "zero złotych 99/100"),
        ("1000000.00", "EUR", "pl", "milion euro 00/100"),
        ("1234.56", "EUR", "en", "one thousand, two hundred and thirty-four euro 56/100"),
        ("1.00", "PLN", "en", "one zloty 00/100"),
        ("2.50", "PLN", "en", "two zlotys 50/100"),
        ("101.05", "USD", "en", "one hundred and one USD 05/100"),
        ("101.05", "USD", "pl", "sto jeden USD 05/100"),
        ("7.125", "PLN", "pl", "siedem złotych 13/100"),  # rounded half-up first
        ("1500", "JPY", "en", "one thousand, five hundred JPY"),  # no minor unit
    ],
)
def test_amount_in_words(amount, currency, language, expected):
    assert rules.amount_in_words(D(amount), currency, language) == expected


def test_amount_in_words_language_variants_and_floats():
    assert rules.amount_in_words(D("2"), "PLN", "pl_PL") == "dwa złote 00/100"
    assert rules.amount_in_words(D("2"), "PLN", "de") == "two zlotys 00/100"
    with pytest.raises(TypeError):
        rules.amount_in_words(2.5, "PLN", "pl")


def test_amount_in_words_large_amount_keeps_every_grosz():
    text = rules.amount_in_words(D("987654321.99"), "PLN", "pl")
    assert text.endswith("złotych 99/100")
    assert text.startswith("dziewięćset osiemdziesiąt siedem milionów")


def test_amount_in_words_negative_amount():
    assert rules.amount_in_words(D("-3.00"), "PLN", "en") == "minus three zlotys 00/100"


# ---------------------------------------------------------------- numbers


def test_format_number():
    assert rules.format_number(InvoiceKind.INVOICE, 2026, 1) == "FV/2026/000001"
    assert rules.format_number("credit_note", 2026, 42) == "KOR/2026/000042"
    assert rules.format_number(StoredKind.INVOICE, 2027, 1234567) == "FV/2027/1234567"
    with pytest.raises(ValueError):
        rules.format_number(InvoiceKind.INVOICE, 2026, 0)
    with pytest.raises(ValueError):
        rules.format_number("proforma", 2026, 1)


def test_number_fits_the_stored_column():
    assert len(rules.format_number(InvoiceKind.CREDIT_NOTE, 2026, 10**9)) <= 30
