"""The sealed-bid matrix (issue 10): for every page, fragment, export, notification and
attachment of an RFQ and its quotes, who sees what (prices, names, counts): the buyer before the
deadline, after it and after the opening; each invited supplier; a supplier invited and then
blocked; an uninvited supplier and another buyer. Time is the sourcing clock's, replaced here.

One sealed RFQ of Acme with one line (quantity 1, so a unit price is also the line's net):
Nordwind quotes 7 777,77 and Polbud 8 888,88 (and revises once); Blockt is invited, then
blocked; Solo (Globex's supplier) is not invited. The pages walked are every GET route of the URL
map that names an RFQ or a quote (a new one is walked without anyone listing it), each also as an
htmx fragment, plus the lists, the dashboard, the notifications, the e-mails waiting in the
outbox, the comparison CSV and, after the award, the purchase order's PDF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from flask import url_for
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    Notification,
    Organization,
    OutboxMessage,
    Quote,
    QuoteRevision,
    RfqQuestion,
    SupplierLink,
    User,
)
from portal.models.base import utcnow
from portal.models.org import LinkStatus
from portal.services import clock, suppliers
from portal.services.sourcing import quotes, rfqs
from portal.services.sourcing.quote_checks import QuoteLineInput
from portal.tenancy import bound, scope_for, system
from tests.security.conftest import body_text
from tests.security.routes import endpoints
from tests.security.test_role_matrix import observed

PRICES = {"nordwind": Decimal("7777.77"), "polbud": Decimal("8888.88")}
QUOTING = ("nordwind", "polbud")
T0 = utcnow().replace(microsecond=0)
DEADLINE = T0 + timedelta(days=2)
BEFORE = T0 + timedelta(hours=1)
AFTER = DEADLINE + timedelta(hours=1)
# The number of competitors in the supplier's words (pages are English or Polish).
_SP = r"[ \u00a0\u202f]+"  # spaces within one line
_WHO = (r"(?:suppliers?|competitors?|bidders?|invited|quotes|offers|dostawc\w*|zaproszon\w*|"
        r"ofert\w*|konkurent\w*|oferent\w*)\b")
COUNTS = re.compile(rf"\b[1-4]{_SP}(?:\w+{_SP})?{_WHO}"
                    rf"|\b(?:one|[0-4]){_SP}(?:of|z){_SP}[2-4]{_SP}(?:\w+{_SP})?{_WHO}", re.I)
BUYER_VIEWERS = ("buyer@acme.example", "approver@acme.example", "admin@acme.example")


def price_forms(value: Decimal) -> set[str]:
    """`value` as any locale may print it: 7777.77, 7777,77, 7 777,77, 7.777,77, 7,777.77, …"""
    text = f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):.2f}"
    whole, cents = text.split(".")
    grouped = f"{int(whole):,}"
    forms = {f"{whole}.{cents}", f"{whole},{cents}"}
    for group in (" ", "\u00a0", "\u202f", ".", ",", "'"):
        for mark in (",", "."):
            if group != mark:
                forms.add(f"{grouped.replace(',', group)}{mark}{cents}")
    return forms


def prices_of(key: str) -> set[str]:
    """The needles of supplier `key`'s quote: its unit price (= net) and the gross at 23 %."""
    net = PRICES[key]
    return price_forms(net) | price_forms(net * Decimal("1.23"))


@dataclass
class Sealed:
    rfq: int
    line: int
    file: int
    question: int  # Polbud's, answered (published without its name)
    quotes: dict[str, int] = field(default_factory=dict)
    quote_files: dict[str, int] = field(default_factory=dict)
    revisions: dict[str, int] = field(default_factory=dict)  # the latest
    private: dict[str, set[str]] = field(default_factory=dict)  # supplier -> its quote's texts
    names: dict[str, str] = field(default_factory=dict)  # key -> organisation name
    moment: dict = field(default_factory=dict)

    def at(self, when) -> None:
        self.moment["now"] = when


def _org(sample, key) -> Organization:
    return db.session.get(Organization, sample.orgs[key])


def _user(email: str) -> User:
    with system(db.session):
        return db.session.scalars(select(User).where(User.email == email)).one()


def _link(sample, buyer: str, supplier: str) -> SupplierLink:
    return db.session.scalars(select(SupplierLink).where(
        SupplierLink.organization_id == sample.orgs[buyer],
        SupplierLink.supplier_id == sample.orgs[supplier])).one()


@pytest.fixture
def sealed(app, sample, monkeypatch, request) -> Sealed:
    """Acme's sealed RFQ, published at T0 to Nordwind, Polbud and Blockt (then blocked),
    answered by Nordwind and Polbud; the sourcing clock stands at BEFORE. (Parametrized
    indirectly with False: the same RFQ, not sealed.)"""
    is_sealed = getattr(request, "param", True)
    moment = {"now": T0}
    monkeypatch.setattr(clock, "now", lambda: moment["now"])
    buyer, admin = _user("buyer@acme.example"), _user("admin@acme.example")
    with app.test_request_context():
        with system(db.session):
            _link(sample, "acme", "blockt").status = LinkStatus.ACTIVE  # invited before the block
            db.session.commit()
        acme = _org(sample, "acme")
        with bound(db.session, scope_for(db.session, acme)):
            rfq = rfqs.create_rfq(buyer, title="Sealed pumps tender", sealed=is_sealed,
                                  description="Two-stage pumps, sealed bids.", now=T0)
            line = rfqs.add_line(rfq, buyer, description="Pump PX-2", quantity=Decimal(1))
            for key in ("nordwind", "polbud", "blockt"):
                rfqs.invite(rfq, buyer, _link(sample, "acme", key))
            spec = rfqs.add_attachment(rfq, buyer, filename="pump-spec.txt",
                                       content_type="text/plain", data=b"spec")
            rfqs.publish(rfq, buyer, deadline=DEADLINE, now=T0)
            db.session.commit()
            built = Sealed(rfq=rfq.id, line=line.id, file=spec.id, question=0, moment=moment)
        for key in QUOTING:
            seller = _user(f"sales@{key}.example")
            with bound(db.session, scope_for(db.session, _org(sample, key))):
                invitation = quotes.invitation_for(built.rfq, supplier_id=sample.orgs[key])
                quote = quotes.start_quote(invitation, seller, now=T0)
                quotes.add_attachment(quote, seller, filename=f"offer-{key}-x91.txt",
                                      content_type="text/plain", data=b"offer", now=T0)
                values = dict(supplier_reference=f"REF-{key.upper()}-4471",
                              notes=f"Notes of {key} zq81", valid_until=T0.date() + timedelta(days=30),
                              lines={built.line: QuoteLineInput(unit_price=PRICES[key],
                                                                lead_time_days=9)})
                quotes.revise(quote, seller, now=T0 + timedelta(minutes=5), **values)
                if key == "polbud":  # a revision, and the question whose answer all read
                    quotes.revise(quote, seller, now=T0 + timedelta(minutes=20), **values)
                    built.question = quotes.ask_question(invitation.rfq, seller, now=T0,
                                                         body="Polbud asks zq55 about flanges").id
                db.session.commit()
                built.quotes[key] = quote.id
                built.quote_files[key] = quote.attachments[0].id
                built.revisions[key] = quote.revisions[-1].id
                built.private[key] = {f"REF-{key.upper()}-4471", f"Notes of {key} zq81",
                                      f"offer-{key}-x91.txt"}
        with bound(db.session, scope_for(db.session, acme)):
            question = db.session.get(RfqQuestion, built.question)
            rfqs.answer_question(question, buyer, answer="Flanges DN50.",
                                 question_text="Which flanges?", now=T0 + timedelta(minutes=30))
            suppliers.block(_link(sample, "acme", "blockt"), actor=admin, comment="Paused")
            db.session.commit()
        with system(db.session):
            built.names = {key: _org(sample, key).name for key in sample.orgs}
    moment["now"] = BEFORE
    db.session.remove()
    return built


# ---------------------------------------------------------------- walking the pages


def _values(sealed: Sealed, viewer: str) -> dict:
    """URL arguments naming the sealed RFQ's objects as `viewer` (an organisation key) has
    them: a supplier its own quote's, anyone else Nordwind's."""
    own = viewer if viewer in QUOTING else "nordwind"
    return {"rfq_id": sealed.rfq, "rfq_line_id": sealed.line, "rfq_file_id": sealed.file,
            "question_id": sealed.question, "quote_id": sealed.quotes[own],
            "quote_file_id": sealed.quote_files[own], "revision_id": sealed.revisions[own]}


def _rfq_routes(app) -> list[tuple[str, object]]:
    """Every GET route naming an RFQ or a quote."""
    return sorted((endpoint, rule) for endpoint, (rule, methods) in endpoints(app).items()
                  if "GET" in methods and set(rule.arguments) & {"rfq_id", "quote_id"})


def _client(app, sample, email):
    return sample.login(app.test_client(), email)


def walk(app, sample, sealed: Sealed, email: str, extra: tuple[str, ...] = ()) -> dict:
    """url -> (status, text) for every page of the RFQ (full and as an htmx fragment), the
    lists, the dashboard and the notifications, as `email` sees them."""
    viewer = sample.org_key(email)
    values = _values(sealed, viewer)
    client = _client(app, sample, email)
    urls = []
    with app.test_request_context():
        for endpoint, rule in _rfq_routes(app):
            unknown = set(rule.arguments) - set(values)
            assert not unknown, (f"{endpoint} takes {unknown}: teach the sealed-bid matrix "
                                 "(_values) which object of the sealed RFQ to name")
            urls.append(url_for(endpoint, **{name: values[name] for name in rule.arguments}))
        for endpoint, args in (("rfqs.index", {}), ("supplier.rfqs", {}),
                               ("supplier.rfqs", {"tab": "answered"}),
                               ("supplier.rfqs", {"tab": "closed"}), ("dashboard.index", {}),
                               ("notifications.index", {}), ("rfqs.index", {"view": "closing_soon"})):
            urls.append(url_for(endpoint, **args))
    urls.extend(extra)
    seen = {}
    for url in urls:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            status = observed(response)
            seen[url + (" (htmx)" if headers else "")] = (
                status, body_text(response) if status == 200 else "")
    return seen


def outbox_text(sample, key: str) -> str:
    """Every e-mail waiting for organisation `key`'s people (subject, text and parameters)."""
    ids = {uid for email, uid in sample.user_ids.items() if sample.org_key(email) == key}
    with system(db.session):
        rows = list(db.session.scalars(select(OutboxMessage)))
    return "\n".join(str(row.payload) for row in rows if row.payload.get("user_id") in ids)


def notification_text(sample, key: str) -> str:
    with system(db.session):
        rows = db.session.scalars(select(Notification).join(User, User.id == Notification.user_id)
                                  .where(User.organization_id == sample.orgs[key]))
        return "\n".join(f"{n.message} {n.target}" for n in rows)


def leaks(seen: dict, needles) -> list[str]:
    found = []
    for url, (_, text) in seen.items():
        hits = sorted(n for n in needles if n in text)
        if hits:
            found.append(f"{url}: {hits}")
    return found


def supplier_forbidden(sample, sealed: Sealed, key: str) -> set[str]:
    """What supplier `key` must never read: the other suppliers' names, prices and quotes,
    and anything of companies it has no link with."""
    words = set(sample.forbidden_text(key))
    for other in QUOTING:
        if other != key:
            words |= prices_of(other) | sealed.private[other] | {sealed.names[other]}
    words |= {sealed.names["blockt"]} if key != "blockt" else set()
    if key != "polbud":
        words.add("zq55")  # Polbud's own wording of its question: the published one is reworded
    return words


def count_leaks(seen: dict) -> list[str]:
    return [f"{url}: {m.group(0)!r}" for url, (_, text) in seen.items()
            for m in [COUNTS.search(re.sub(r"<[^>]+>", " ", text))] if m]


def _check_supplier(app, sample, sealed, key: str, extra=()) -> dict:
    seen = walk(app, sample, sealed, f"sales@{key}.example", extra)
    problems = leaks(seen, supplier_forbidden(sample, sealed, key)) + count_leaks(seen)
    problems += [f"{url}: {status}" for url, (status, _) in seen.items() if status == 500]
    mail = outbox_text(sample, key) + notification_text(sample, key)
    problems += [f"e-mail or notification shows {w!r}" for w in
                 sorted(supplier_forbidden(sample, sealed, key)) if w in mail]
    assert not problems, f"{key} sees what it must not:\n" + "\n".join(problems)
    return seen


def _ok(seen: dict, url_part: str) -> str:
    """The text of the page whose URL ends with `url_part` (full page), checked to be 200."""
    found = [(url, value) for url, value in seen.items() if url.endswith(url_part)]
    assert found, f"no page {url_part} walked: {sorted(seen)}"
    url, (status, text) = found[0]
    assert status == 200, f"{url}: {status}"
    return text


# ---------------------------------------------------------------- the buyer


def test_before_the_deadline_the_buyer_sees_who_answered_and_when_but_no_price(app, sample, sealed):
    sealed.at(BEFORE)
    every_price = prices_of("nordwind") | prices_of("polbud")
    for email in BUYER_VIEWERS:
        seen = walk(app, sample, sealed, email)
        assert not [u for u, (s, _) in seen.items() if s == 500]
        problems = leaks(seen, every_price | sealed.private["nordwind"] | sealed.private["polbud"])
        assert not problems, f"{email} reads sealed quotes before the deadline: {problems}"
        detail = _ok(seen, f"/rfqs/{sealed.rfq}")
        rows = re.findall(r'<tr data-testid="invited-supplier">.*?</tr>', detail, re.S)
        for key in QUOTING:
            row = next((r for r in rows if sealed.names[key] in r), None)
            assert row is not None, f"{email}: {sealed.names[key]} is not listed as invited"
            assert re.search(r"\d{1,2}:\d{2}", row), f"{email}: no response time for {key}: {row}"
    # Nor do the buyer's notifications and e-mails (told of each quote, never of its price).
    told = outbox_text(sample, "acme") + notification_text(sample, "acme")
    assert "submitted a quote" in told or "złożył" in told or sealed.names["nordwind"] in told
    assert not [w for w in every_price | sealed.private["nordwind"] | sealed.private["polbud"]
                if w in told], "a notification or e-mail to the buyer carries a sealed quote"
    # The comparison is refused while sealed: the CSV sends back to the page, which says so.
    client = _client(app, sample, "buyer@acme.example")
    with app.test_request_context():
        csv_url = url_for("rfqs.compare_csv", rfq_id=sealed.rfq)
        award_url = url_for("rfqs.award", rfq_id=sealed.rfq)
        open_url = url_for("rfqs.open_quotes", rfq_id=sealed.rfq)
    assert observed(client.get(csv_url)) == 302
    # Crafted: an award or an opening before the deadline is refused and opens nothing.
    client.post(award_url, data={f"line-{sealed.line}": str(sealed.quotes["nordwind"])})
    client.post(open_url)
    with system(db.session):
        assert db.session.get(Quote, sealed.quotes["nordwind"]).status == "submitted"
        from portal.models import Rfq

        assert db.session.get(Rfq, sealed.rfq).opened_at is None
    assert not leaks(walk(app, sample, sealed, "buyer@acme.example"), every_price)


def test_after_the_deadline_prices_stay_sealed_until_opened_then_show(app, sample, sealed):
    sealed.at(AFTER)
    every_price = prices_of("nordwind") | prices_of("polbud")
    seen = walk(app, sample, sealed, "buyer@acme.example")
    assert not leaks(seen, every_price), "prices show before the sealed quotes are opened"
    client = _client(app, sample, "buyer@acme.example")
    with app.test_request_context():
        open_url = url_for("rfqs.open_quotes", rfq_id=sealed.rfq)
        csv_url = url_for("rfqs.compare_csv", rfq_id=sealed.rfq)
        compare_url = url_for("rfqs.compare", rfq_id=sealed.rfq)
    approver = _client(app, sample, "approver@acme.example")
    assert observed(approver.post(open_url)) == 403  # approvers read, they do not open
    assert observed(client.post(open_url)) == 302
    with system(db.session):
        from portal.models import AuditEvent, Rfq

        rfq = db.session.get(Rfq, sealed.rfq)
        assert rfq.opened_at == AFTER and rfq.opened_by_id == sample.user_ids["buyer@acme.example"]
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "rfq.opened")) >= 1
    compare = client.get(compare_url).text
    csv = client.get(csv_url)
    assert csv.status_code == 200 and "csv" in csv.content_type
    for key in QUOTING:
        assert _shows(compare, PRICES[key]), f"{key}'s price not on the comparison"
        assert _shows(csv.get_data(as_text=True), PRICES[key]), f"{key} not in the CSV"
        assert sealed.names[key] in compare
    # The suppliers still see nothing of each other.
    for key in QUOTING:
        _check_supplier(app, sample, sealed, key)


def _shows(text: str, price: Decimal) -> bool:
    return any(form in text for form in price_forms(price))


@pytest.mark.parametrize("sealed", [False], indirect=True)
def test_an_open_rfq_shows_prices_to_the_buyer_at_once_never_to_a_competitor(app, sample, sealed):
    sealed.at(BEFORE)
    client = _client(app, sample, "buyer@acme.example")
    with app.test_request_context():
        compare = client.get(url_for("rfqs.compare", rfq_id=sealed.rfq)).text
    for key in QUOTING:
        assert _shows(compare, PRICES[key]), f"an open RFQ hides {key}'s price from the buyer"
        _check_supplier(app, sample, sealed, key)


# ---------------------------------------------------------------- the suppliers


@pytest.mark.parametrize("moment", ["before", "after"])
def test_an_invited_supplier_never_sees_a_competitor(app, sample, sealed, moment):
    sealed.at(BEFORE if moment == "before" else AFTER)
    for key in QUOTING:
        seen = _check_supplier(app, sample, sealed, key)
        # ... while it reads the RFQ, the published answer and its own quote.
        page = _ok(seen, f"/supplier/rfqs/{sealed.rfq}")
        assert "Sealed pumps tender" in page and "Flanges DN50." in page
        own = _ok(seen, f"/supplier/rfqs/{sealed.rfq}/quote")
        assert _shows(own, PRICES[key]), f"{key} does not see its own price"


def test_a_supplier_cannot_read_or_change_another_suppliers_quote(app, sample, sealed):
    nordwind = _client(app, sample, "sales@nordwind.example")
    with app.test_request_context():
        theirs = {
            "file": url_for("supplier.quote_file", rfq_id=sealed.rfq,
                            quote_file_id=sealed.quote_files["polbud"]),
            "revision": url_for("supplier.quote_revision", rfq_id=sealed.rfq,
                                revision_id=sealed.revisions["polbud"]),
            "remove": url_for("supplier.quote_file_remove", rfq_id=sealed.rfq,
                              quote_file_id=sealed.quote_files["polbud"]),
        }
        quote_url = url_for("supplier.quote", rfq_id=sealed.rfq)
    for what, url in theirs.items():
        for method in ("GET", "POST"):
            status = observed(nordwind.open(url, method=method))
            assert status in (404, 405), f"{what} {method} {url}: {status}"
    # The tenant filter does not even load it; a write to it would not flush.
    with bound(db.session, scope_for(db.session, _org(sample, "nordwind"))):
        assert db.session.get(Quote, sealed.quotes["polbud"]) is None
        assert db.session.get(QuoteRevision, sealed.revisions["polbud"]) is None
    db.session.remove()
    # One quote per supplier and RFQ: submitting again revises the same quote.
    form = {"action": "submit", "supplier_reference": "REF-NORDWIND-4471",
            "valid_until": (T0.date() + timedelta(days=30)).isoformat(),
            f"line_{sealed.line}_unit_price": "7777.77", f"line_{sealed.line}_lead_time_days": "9"}
    for _ in range(2):
        assert observed(nordwind.post(quote_url, data=form)) == 302
    with system(db.session):
        mine = list(db.session.scalars(select(Quote).where(
            Quote.rfq_id == sealed.rfq, Quote.supplier_id == sample.orgs["nordwind"])))
        assert len(mine) == 1 and mine[0].revision == 3
        polbud = db.session.get(Quote, sealed.quotes["polbud"])
        assert polbud.revision == 2 and polbud.supplier_reference == "REF-POLBUD-4471"
    db.session.remove()
    # Not even the services make a second one.
    with bound(db.session, scope_for(db.session, _org(sample, "nordwind"))):
        invitation = quotes.invitation_for(sealed.rfq, supplier_id=sample.orgs["nordwind"])
        assert quotes.start_quote(invitation, _user("sales@nordwind.example")).id == sealed.quotes["nordwind"]
    db.session.remove()


def test_crafted_posts_after_the_deadline_are_refused_and_change_nothing(app, sample, sealed):
    sealed.at(AFTER)
    with app.test_request_context():
        urls = {name: url_for(f"supplier.{name}", rfq_id=sealed.rfq)
                for name in ("quote", "question_add", "rfq_decline", "quote_confirm")}
        remove = url_for("supplier.quote_file_remove", rfq_id=sealed.rfq,
                         quote_file_id=sealed.quote_files["nordwind"])
    form = {"action": "submit", "supplier_reference": "LATE",
            "valid_until": (AFTER.date() + timedelta(days=30)).isoformat(),
            f"line_{sealed.line}_unit_price": "1.00", "body": "Late question?", "reason": "Late"}
    before = _quote_state()
    for key in QUOTING:
        client = _client(app, sample, f"sales@{key}.example")
        for name, url in [*urls.items(), ("remove", remove)]:
            status = observed(client.post(url, data=form))
            assert status in (302, 403, 404, 409, 422), f"{key} {name}: {status}"
            if name == "quote":
                assert status in (409, 422), f"{key}: a late quote is not refused ({status})"
        client.post(urls["quote"], data={**form, "action": "save"})
    assert _quote_state() == before, "a request after the deadline changed a quote"


def _quote_state():
    db.session.remove()
    with system(db.session):
        quotes_ = [(q.id, q.status, q.revision, q.supplier_reference, q.net_total, len(q.attachments))
                   for q in db.session.scalars(select(Quote).order_by(Quote.id))]
        questions = db.session.scalar(select(func.count()).select_from(RfqQuestion))
        from portal.models import RfqInvitation

        invitations = [(i.id, i.status) for i in db.session.scalars(select(RfqInvitation).order_by(RfqInvitation.id))]
    db.session.remove()
    return quotes_, questions, invitations


def test_an_uninvited_supplier_and_another_buyer_get_404_everywhere(app, sample, sealed):
    for email in ("sales@solo.example", "buyer@globex.example", "admin@globex.example"):
        seen = walk(app, sample, sealed, email)
        wrong = [f"{url}: {status}" for url, (status, _) in seen.items()
                 if f"/{sealed.rfq}" in url and status != 404]
        assert not wrong, f"{email} is not refused with 404: {wrong}"
        assert not leaks(seen, {"Sealed pumps tender", *prices_of("nordwind"), *prices_of("polbud")})
    # Crafted POSTs to every route of the RFQ: 404, nothing changes.
    before = _quote_state()
    solo = _client(app, sample, "sales@solo.example")
    with app.test_request_context():
        posts = [url_for(endpoint, **{name: _values(sealed, "nordwind")[name] for name in rule.arguments})
                 for endpoint, (rule, methods) in endpoints(app).items()
                 if "POST" in methods and "rfq_id" in rule.arguments]
    for url in posts:
        status = observed(solo.post(url, data={"action": "submit", "body": "x", "reason": "x"}))
        assert status in (403, 404), f"solo POST {url}: {status}"
        if url.startswith("/supplier/"):
            assert status == 404, f"solo POST {url}: {status}, not 404"
    assert _quote_state() == before


def test_a_blocked_supplier_reads_what_it_was_sent_but_cannot_act(app, sample, sealed):
    seen = _check_supplier(app, sample, sealed, "blockt")
    assert "Sealed pumps tender" in _ok(seen, f"/supplier/rfqs/{sealed.rfq}")
    blockt = _client(app, sample, "sales@blockt.example")
    with app.test_request_context():
        urls = {name: url_for(f"supplier.{name}", rfq_id=sealed.rfq)
                for name in ("quote", "question_add", "rfq_decline")}
    before = _quote_state()
    form = {"action": "submit", "valid_until": (T0.date() + timedelta(days=30)).isoformat(),
            f"line_{sealed.line}_unit_price": "5.00", "body": "May I?", "reason": "No"}
    for name, url in urls.items():
        status = observed(blockt.post(url, data=form))
        assert status in (403, 409), f"blocked {name}: {status}"
    assert _quote_state() == before


# ---------------------------------------------------------------- the award and the order


def test_after_the_award_each_supplier_learns_only_its_own_outcome(app, sample, sealed):
    sealed.at(AFTER)
    client = _client(app, sample, "buyer@acme.example")
    with app.test_request_context():
        open_url = url_for("rfqs.open_quotes", rfq_id=sealed.rfq)
        award_url = url_for("rfqs.award", rfq_id=sealed.rfq)
    assert observed(client.post(open_url)) == 302
    response = client.post(award_url, data={f"line-{sealed.line}": str(sealed.quotes["nordwind"])})
    assert observed(response) == 302, response.text[:2000]
    from portal.models import PurchaseOrder

    with system(db.session):
        orders = list(db.session.scalars(select(PurchaseOrder).where(PurchaseOrder.rfq_id == sealed.rfq)))
        assert [o.supplier_id for o in orders] == [sample.orgs["nordwind"]]
        order_id = orders[0].id
    db.session.remove()
    with app.test_request_context():
        pdf = url_for("supplier.order_pdf", order_id=order_id)
        order_page = url_for("supplier.order", order_id=order_id)
        buyer_pdf = url_for("orders.pdf", order_id=order_id)
    # The winner reads its order and PDF (its own price, nothing of Polbud) ...
    seen = _check_supplier(app, sample, sealed, "nordwind", extra=(pdf, order_page))
    assert _shows(_ok(seen, f"/supplier/orders/{order_id}/pdf"), PRICES["nordwind"])
    # ... the other is told politely, without the winner's name or price, and reads no order.
    seen = _check_supplier(app, sample, sealed, "polbud", extra=(pdf, order_page))
    assert seen[pdf][0] == 404 and seen[order_page][0] == 404
    # Blockt, invited, blocked, never quoted: nothing of either.
    _check_supplier(app, sample, sealed, "blockt", extra=(pdf, order_page))
    # Blocked after the award, the winner still reads its order and PDF, but acknowledges nothing.
    with bound(db.session, scope_for(db.session, _org(sample, "acme"))):
        suppliers.block(_link(sample, "acme", "nordwind"), actor=_user("admin@acme.example"),
                        comment="Paused")
        db.session.commit()
    db.session.remove()
    nordwind = _client(app, sample, "sales@nordwind.example")
    assert observed(nordwind.get(order_page)) == 200
    assert nordwind.get(pdf).data.startswith(b"%PDF")
    with app.test_request_context():
        acknowledge = url_for("supplier.order_acknowledge", order_id=order_id)
        propose = url_for("supplier.order_propose", order_id=order_id)
    assert observed(nordwind.post(acknowledge)) in (302, 403, 409)
    assert observed(nordwind.post(propose, data={
        "delivery_date": (AFTER.date() + timedelta(days=40)).isoformat(), "note": "Later"})) in (302, 403, 409)
    with system(db.session):
        order = db.session.get(PurchaseOrder, order_id)
        assert order.status == "issued" and order.proposed_delivery_date is None
    db.session.remove()
    # The buyer's PDF names the winner only.
    text = body_text(client.get(buyer_pdf))
    assert sealed.names["nordwind"] in text and sealed.names["polbud"] not in text
    assert not any(form in text for form in prices_of("polbud"))
