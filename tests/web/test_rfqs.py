"""The buyer's RFQ pages: list, new, detail and every action; bad input (422, nothing saved),
wrong state (a message), another company's RFQ (404), roles (403), a create sent twice, the
deadline read in the organisation's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import LinkStatus, Requisition, User
from portal.models.rfq import Rfq, RfqAttachment, RfqClarification, RfqLine, RfqStatus
from portal.services import clock
from portal.services.sourcing import rfqs
from tests.conftest import as_org, as_system
from tests.services.test_rfqs import (
    LATER,
    NOW,
    approved_requisition,
    ask,
    count,
    link_of,
    published_rfq,
    set_invitations,
)

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _english_and_frozen(world, monkeypatch):
    """Everyone reads English (assertions on the text); the sourcing clock stands at NOW."""
    with as_system():
        for user in db.session.scalars(select(User)):
            user.locale = "en"
        db.session.commit()
    monkeypatch.setattr(clock, "now", lambda: NOW)


def load(rfq_id) -> Rfq:
    """The RFQ as committed, with its lines, invitations and files (read past the tenant filter)."""
    db.session.expire_all()
    with as_system():
        rfq = db.session.get(Rfq, rfq_id)
        for collection in (rfq.lines, rfq.invitations, rfq.attachments):
            list(collection)
        return rfq


def draft_id(world, *, invite=("nordwind",), lines=True) -> int:
    with as_org(world.acme):
        buyer = world.user("buyer@acme")
        req = approved_requisition(world) if lines else None
        rfq = rfqs.create_rfq(buyer, title="Łożyska Q1",
                              requisition_line_ids=[li.id for li in req.lines] if req else (),
                              now=NOW)
        for key in invite:
            rfqs.invite(rfq, buyer, link_of(world.acme, getattr(world, key)))
        db.session.commit()
        return rfq.id


def open_id(world, **kwargs) -> int:
    with as_org(world.acme):
        rfq = published_rfq(world, **kwargs)
        db.session.commit()
        return rfq.id


# ---------------------------------------------------------------- the list


def test_list_empty_state_and_new_button(world, login_as):
    page = login_as(world.user("buyer@acme")).get("/rfqs/")
    assert page.status_code == 200
    assert "No RFQs yet" in page.text and 'data-testid="new-rfq"' in page.text
    assert 'href="/rfqs/"' in page.text  # the nav entry


def test_list_tabs_search_and_fragment(world, login_as):
    draft = draft_id(world)
    opened = open_id(world)
    client = login_as(world.user("buyer@acme"))
    page = client.get("/rfqs/")
    assert page.text.count('data-testid="rfq-row"') == 2 and "1 of 2" not in page.text
    drafts = client.get("/rfqs/?view=drafts")
    assert drafts.text.count('data-testid="rfq-row"') == 1 and load(draft).number in drafts.text
    soon = client.get("/rfqs/?view=open")
    assert load(opened).number in soon.text and "left" in soon.text
    assert "Nothing here" in client.get("/rfqs/?view=awarded").text
    found = client.get(f"/rfqs/?q={load(opened).number}", headers=HX)
    assert "<html" not in found.text and found.text.count('data-testid="rfq-row"') == 1
    assert "No RFQs match" in client.get("/rfqs/?q=nothing-like-this").text
    assert client.get(f"/rfqs/?supplier={world.polbud.id}").text.count('data-testid="rfq-row"') == 1


def test_list_exports_the_current_view_as_csv_without_prices(world, login_as):
    draft = draft_id(world)
    opened = open_id(world)
    client = login_as(world.user("buyer@acme"))
    everything = client.get("/rfqs/export")
    assert everything.status_code == 200 and everything.mimetype == "text/csv"
    text = everything.get_data(as_text=True)
    assert text.startswith("\ufeffNumber,Title,Status,Sealed,Response deadline,Suppliers invited,Answered")
    assert load(draft).number in text and load(opened).number in text
    assert "Open for quotes" in text and ",2,0," in text  # two invited, none answered yet
    drafts = client.get("/rfqs/export?view=drafts").get_data(as_text=True)
    assert load(draft).number in drafts and load(opened).number not in drafts
    assert 'href="/rfqs/export?view=open"' in client.get("/rfqs/?view=open").text
    assert login_as(world.user("sales@nordwind")).get("/rfqs/export").status_code == 403


def test_list_pages_by_cursor(world, login_as, app):
    app.config["PAGE_SIZE"], before = 2, app.config["PAGE_SIZE"]
    try:
        with as_org(world.acme):
            for i in range(3):
                rfqs.create_rfq(world.user("buyer@acme"), title=f"R{i}", now=NOW)
            db.session.commit()
        client = login_as(world.user("buyer@acme"))
        first = client.get("/rfqs/")
        assert first.text.count('data-testid="rfq-row"') == 2 and 'rel="next"' in first.text
        cursor = first.text.split('rel="next"')[0].rsplit("cursor=", 1)[1].split('"')[0].split("&")[0]
        second = client.get(f"/rfqs/?cursor={cursor}")
        assert second.text.count('data-testid="rfq-row"') == 1
        assert client.get("/rfqs/?cursor=garbage").status_code == 422
    finally:
        app.config["PAGE_SIZE"] = before


# ---------------------------------------------------------------- roles and other companies


def test_roles(world, login_as):
    rfq_id = open_id(world)
    approver = login_as(world.user("approver@acme"))
    assert approver.get("/rfqs/").status_code == 200
    detail = approver.get(f"/rfqs/{rfq_id}")
    assert detail.status_code == 200 and 'data-testid="amend-menu"' not in detail.text
    assert approver.get("/rfqs/new").status_code == 403
    for action in ("publish", "amend", "cancel", "close", "open"):
        assert approver.post(f"/rfqs/{rfq_id}/{action}").status_code == 403
    supplier = login_as(world.user("sales@nordwind"))
    assert supplier.get("/rfqs/").status_code == 403
    assert 'href="/rfqs/"' not in supplier.get("/").text


def test_another_companys_rfq_is_404(world, login_as):
    rfq_id = open_id(world)
    with as_system():
        line_id = db.session.scalars(select(RfqLine.id).where(RfqLine.rfq_id == rfq_id)).first()
    globex = login_as(world.user("buyer@globex"))
    assert globex.get(f"/rfqs/{rfq_id}").status_code == 404
    assert globex.get(f"/rfqs/{rfq_id}/edit").status_code == 404
    for action in ("publish", "amend", "cancel", "close", "open", "lines", "suppliers", "files"):
        assert globex.post(f"/rfqs/{rfq_id}/{action}", data={"reason": "x"}).status_code == 404
    assert globex.post(f"/rfqs/{rfq_id}/lines/{line_id}/remove").status_code == 404
    assert load(rfq_id).status == RfqStatus.OPEN
    assert "Łożyska" not in globex.get("/rfqs/").text


# ---------------------------------------------------------------- a new RFQ


def test_new_preselects_a_requisition_and_creates_once(world, login_as):
    with as_org(world.acme):
        req = approved_requisition(world)
        db.session.commit()
        req_id, line_ids = req.id, [li.id for li in req.lines]
    client = login_as(world.user("buyer@acme"))
    page = client.get(f"/rfqs/new?requisition_id={req_id}")
    assert page.status_code == 200 and page.text.count("checked") >= 2
    token = page.text.split('name="submission_token"')[1].split('value="')[1].split('"')[0]
    data = {"title": "Łożyska", "currency": "PLN", "sealed": "y", "submission_token": token,
            "requisition_line_ids": [str(i) for i in line_ids]}
    made = client.post("/rfqs/new", data=data)
    assert made.status_code == 302 and "/rfqs/" in made.headers["Location"]
    again = client.post("/rfqs/new", data=data)
    assert again.status_code in (302, 303) and again.headers["Location"] == made.headers["Location"]
    db.session.expire_all()
    with as_system():
        assert len(db.session.scalars(select(Rfq)).all()) == 1
        assert db.session.get(Requisition, req_id).status == "sourcing"
    detail = client.get(made.headers["Location"])
    assert "Draft RFQ-2026-" in detail.text or "RFQ-" in detail.text
    assert detail.text.count('data-testid="source-link"') == 2


def test_new_refuses_bad_input_with_messages(world, login_as):
    with as_org(world.acme):
        req = approved_requisition(world)
        with as_system():
            req.status = "draft"
        db.session.commit()
        line_id = req.lines[0].id
    client = login_as(world.user("buyer@acme"))
    empty = client.post("/rfqs/new", data={"title": "", "currency": "PLN"})
    assert empty.status_code == 422 and "Enter a title." in empty.text
    not_approved = client.post("/rfqs/new", data={"title": "X", "currency": "PLN",
                                                  "requisition_line_ids": [str(line_id)]})
    assert not_approved.status_code == 422
    assert "only lines of approved requisitions" in not_approved.text
    assert 'id="requisition_line_ids-error"' in not_approved.text
    assert count(Rfq) == 0


def test_request_quotes_button_on_an_approved_requisition(world, login_as):
    with as_org(world.acme):
        req = approved_requisition(world)
        db.session.commit()
        req_id = req.id
    page = login_as(world.user("buyer@acme")).get(f"/requisitions/{req_id}")
    assert f'/rfqs/new?requisition_id={req_id}' in page.text


# ---------------------------------------------------------------- the detail page and drafting


def test_detail_of_a_draft_shows_lines_suppliers_and_forms(world, login_as):
    rfq_id = draft_id(world)
    page = login_as(world.user("buyer@acme")).get(f"/rfqs/{rfq_id}")
    assert page.status_code == 200
    assert page.text.count('data-testid="rfq-line"') == 2
    assert page.text.count('data-testid="invited-supplier"') == 1 and "Nordwind" in page.text
    for testid in ("publish", "line-form", "invite-form", "upload-form", "edit", "cancel-menu"):
        assert f'data-testid="{testid}"' in page.text, testid
    assert 'data-testid="compare"' not in page.text


def test_edit_a_draft_and_not_after_publishing(world, login_as):
    rfq_id = draft_id(world)
    client = login_as(world.user("buyer@acme"))
    assert client.get(f"/rfqs/{rfq_id}/edit").status_code == 200
    bad = client.post(f"/rfqs/{rfq_id}/edit", data={"title": "", "currency": "PLN"})
    assert bad.status_code == 422 and "Enter a title." in bad.text
    ok = client.post(f"/rfqs/{rfq_id}/edit", data={"title": "Nowy tytuł", "currency": "EUR"})
    assert ok.status_code == 302 and load(rfq_id).currency == "EUR" and not load(rfq_id).sealed
    opened = open_id(world)
    moved = client.get(f"/rfqs/{opened}/edit")
    assert moved.status_code == 302
    assert "Only a draft RFQ can be changed" in client.get(moved.headers["Location"]).text


def test_add_and_remove_lines(world, login_as):
    rfq_id = draft_id(world, lines=False)
    client = login_as(world.user("buyer@acme"))
    bad = client.post(f"/rfqs/{rfq_id}/lines", data={"description": "Śruba", "quantity": "0",
                                                      "unit": "pcs", "vat_rate": "23"})
    assert bad.status_code == 422 and "greater than zero" in bad.text
    assert count(RfqLine, RfqLine.rfq_id == rfq_id) == 0
    ok = client.post(f"/rfqs/{rfq_id}/lines", data={"description": "Śruba M8", "quantity": "1000",
                                                     "unit": "pcs", "vat_rate": "23"})
    assert ok.status_code == 302
    line_id = load(rfq_id).lines[0].id
    assert client.post(f"/rfqs/{rfq_id}/lines/{line_id}/remove").status_code == 302
    assert count(RfqLine, RfqLine.rfq_id == rfq_id) == 0


def test_invite_and_uninvite(world, login_as):
    rfq_id = draft_id(world, invite=())
    client = login_as(world.user("buyer@acme"))
    polbud = link_of(world.acme, world.polbud)
    with as_system():
        polbud.status = LinkStatus.BLOCKED
        db.session.commit()
    blocked = client.post(f"/rfqs/{rfq_id}/suppliers", data={"link_id": str(polbud.id)})
    assert blocked.status_code == 422 and "not active" in blocked.text
    globex_link = link_of(world.globex, world.nordwind)
    assert client.post(f"/rfqs/{rfq_id}/suppliers",
                       data={"link_id": str(globex_link.id)}).status_code == 422
    ok = client.post(f"/rfqs/{rfq_id}/suppliers",
                     data={"link_id": str(link_of(world.acme, world.nordwind).id)})
    assert ok.status_code == 302 and len(load(rfq_id).invitations) == 1
    invitation = load(rfq_id).invitations[0].id
    assert client.post(f"/rfqs/{rfq_id}/suppliers/remove",
                       data={"invitation": str(invitation)}).status_code == 302
    assert load(rfq_id).invitations == []
    assert client.post(f"/rfqs/{rfq_id}/suppliers/remove",
                       data={"invitation": "99999"}).status_code == 404


def test_attach_and_download(world, login_as):
    from io import BytesIO

    rfq_id = draft_id(world)
    client = login_as(world.user("buyer@acme"))
    bad = client.post(f"/rfqs/{rfq_id}/files", data={"file": (BytesIO(b"MZ"), "run.exe")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "cannot be attached" in bad.text
    none = client.post(f"/rfqs/{rfq_id}/files", data={}, content_type="multipart/form-data")
    assert none.status_code == 422 and "Choose a file" in none.text
    assert count(RfqAttachment) == 0
    ok = client.post(f"/rfqs/{rfq_id}/files", data={"file": (BytesIO(b"%PDF-1.4"), "rysunek.pdf")},
                     content_type="multipart/form-data")
    assert ok.status_code == 302
    file_id = load(rfq_id).attachments[0].id
    got = client.get(f"/rfqs/{rfq_id}/files/{file_id}")
    assert got.status_code == 200 and got.data == b"%PDF-1.4"
    assert "attachment" in got.headers["Content-Disposition"]
    other = open_id(world)
    assert client.get(f"/rfqs/{other}/files/{file_id}").status_code == 404


# ---------------------------------------------------------------- publishing and the lifecycle


def test_publish_reads_the_deadline_in_the_organisations_time_zone(world, login_as):
    rfq_id = draft_id(world)
    client = login_as(world.user("buyer@acme"))
    past = client.post(f"/rfqs/{rfq_id}/publish", data={"deadline": "2026-12-05T12:30"})
    # 12:30 in Warsaw is 11:30 UTC: before NOW (12:00 UTC)
    assert past.status_code == 422 and "must be in the future" in past.text
    assert load(rfq_id).status == RfqStatus.DRAFT
    garbled = client.post(f"/rfqs/{rfq_id}/publish", data={"deadline": "tomorrow"})
    assert garbled.status_code == 422 and "Enter a date and time" in garbled.text
    ok = client.post(f"/rfqs/{rfq_id}/publish", data={"deadline": "2026-12-12T14:00"})
    assert ok.status_code == 302
    rfq = load(rfq_id)
    assert rfq.status == RfqStatus.OPEN
    assert rfq.deadline == datetime(2026, 12, 12, 13, 0, tzinfo=UTC)
    page = client.get(f"/rfqs/{rfq_id}")
    assert "Europe/Warsaw" in page.text and "14:00" in page.text and "7 days left" in page.text
    again = client.post(f"/rfqs/{rfq_id}/publish", data={"deadline": "2026-12-20T14:00"})
    assert again.status_code == 302
    assert "Only a draft RFQ can be published" in client.get(again.headers["Location"]).text


def test_publish_without_suppliers_is_refused_with_a_message(world, login_as):
    rfq_id = draft_id(world, invite=())
    page = login_as(world.user("buyer@acme")).post(f"/rfqs/{rfq_id}/publish",
                                                   data={"deadline": "2026-12-12T14:00"})
    assert page.status_code == 422 and "Invite at least one supplier" in page.text


def test_amend_and_cancel(world, login_as):
    rfq_id = open_id(world)
    client = login_as(world.user("buyer@acme"))
    empty = client.post(f"/rfqs/{rfq_id}/amend", data={"note": ""})
    assert empty.status_code == 422 and "Say what changed" in empty.text
    ok = client.post(f"/rfqs/{rfq_id}/amend", data={"note": "Nowy rysunek.",
                                                    "deadline": "2026-12-20T10:00"})
    assert ok.status_code == 302
    rfq = load(rfq_id)
    assert rfq.amendment == 1 and rfq.deadline == datetime(2026, 12, 20, 9, 0, tzinfo=UTC)
    assert client.post(f"/rfqs/{rfq_id}/cancel", data={"reason": ""}).status_code == 422
    assert client.post(f"/rfqs/{rfq_id}/cancel", data={"reason": "Budżet"}).status_code == 302
    assert load(rfq_id).status == RfqStatus.CANCELLED
    page = client.get(f"/rfqs/{rfq_id}")
    assert "Budżet" in page.text and 'data-testid="cancel-menu"' not in page.text
    refused = client.post(f"/rfqs/{rfq_id}/amend", data={"note": "x"})
    assert refused.status_code == 302
    assert "Only an open RFQ can be amended" in client.get(refused.headers["Location"]).text


def test_close_early_and_the_sealed_opening(world, login_as, monkeypatch):
    rfq_id = open_id(world)
    client = login_as(world.user("buyer@acme"))
    page = client.get(f"/rfqs/{rfq_id}")
    assert 'data-testid="sealed-note"' in page.text and 'data-testid="open-quotes"' not in page.text
    early = client.post(f"/rfqs/{rfq_id}/close")
    assert early.status_code == 302
    assert "Quotes are accepted until" in client.get(early.headers["Location"]).text
    refused = client.post(f"/rfqs/{rfq_id}/open")
    assert "stay sealed until the deadline" in client.get(refused.headers["Location"]).text
    assert load(rfq_id).opened_at is None
    monkeypatch.setattr(clock, "now", lambda: LATER + timedelta(minutes=5))
    after = client.get(f"/rfqs/{rfq_id}")
    assert "Deadline passed" in after.text and 'data-testid="open-quotes"' in after.text
    admin = login_as(world.user("admin@acme"))
    assert admin.post(f"/rfqs/{rfq_id}/open").status_code == 302
    rfq = load(rfq_id)
    assert rfq.status == RfqStatus.CLOSED and rfq.opened_by_id == world.user("admin@acme").id
    opened = client.get(f"/rfqs/{rfq_id}")
    assert "Sealed quotes opened by Anna Kowalska" in opened.text
    assert "opened the sealed quotes" in opened.text  # the timeline


def test_close_early_once_everyone_answered(world, login_as):
    rfq_id = open_id(world)
    with as_org(world.acme):
        set_invitations(load(rfq_id), "quoted", "declined")
        db.session.commit()
    client = login_as(world.user("buyer@acme"))
    assert "Close early" in client.get(f"/rfqs/{rfq_id}").text
    assert client.post(f"/rfqs/{rfq_id}/close").status_code == 302
    assert load(rfq_id).status == RfqStatus.CLOSED


def test_answer_a_question_publishes_it_anonymously(world, login_as):
    rfq_id = open_id(world)
    with as_org(world.acme):
        question = ask(world, load(rfq_id))
        db.session.commit()
        question_id = question.id
    client = login_as(world.user("buyer@acme"))
    page = client.get(f"/rfqs/{rfq_id}")
    assert 'data-testid="question"' in page.text and "Nordwind Supplies asked" in page.text
    prefix = f"q{question_id}-"
    empty = client.post(f"/rfqs/{rfq_id}/questions/{question_id}/answer",
                        data={prefix + "question_text": "Zamienniki?", prefix + "answer": ""})
    assert empty.status_code == 422 and "Write the answer." in empty.text
    ok = client.post(f"/rfqs/{rfq_id}/questions/{question_id}/answer",
                     data={prefix + "question_text": "Czy dopuszczacie zamienniki?",
                           prefix + "answer": "Tak."})
    assert ok.status_code == 302
    with as_system():
        published = db.session.scalars(select(RfqClarification)).one()
    assert published.question == "Czy dopuszczacie zamienniki?" and published.answer == "Tak."
    after = client.get(f"/rfqs/{rfq_id}")
    assert 'data-testid="clarifications"' in after.text and 'data-testid="question"' not in after.text
    assert client.post(f"/rfqs/{rfq_id}/questions/99999/answer").status_code == 404


def test_the_history_names_the_supplier_company_for_its_people(world, login_as):
    """The buyer cannot load a supplier's users: their events read as their company."""
    from portal.services.sourcing import quotes

    rfq_id = open_id(world)
    with as_org(world.nordwind):
        quotes.ask_question(load(rfq_id), world.user("sales@nordwind"), body="Czy można dostawę w 2 partiach?",
                            now=NOW)
        db.session.commit()
    page = login_as(world.user("buyer@acme")).get(f"/rfqs/{rfq_id}")
    history = page.text[page.text.index('id="history-title"'):]
    assert "Nordwind Supplies" in history and "asked a clarification question" in history
    assert "System" not in history


def test_compare_link_only_once_prices_are_visible(world, login_as, app):
    rfq_id = open_id(world, sealed=False)
    page = login_as(world.user("buyer@acme")).get(f"/rfqs/{rfq_id}")
    expected = "rfqs.compare" in app.view_functions
    assert ('data-testid="compare"' in page.text) == expected
    sealed = open_id(world)
    assert 'data-testid="compare"' not in login_as(world.user("buyer@acme")).get(f"/rfqs/{sealed}").text


# ---------------------------------------------------------------- statements per page


def test_list_and_detail_statements_do_not_grow_with_rows(world, login_as):
    from tests.kit import count_queries

    client = login_as(world.user("buyer@acme"))

    def statements(url) -> int:
        client.get(url)  # warm caches
        with count_queries() as seen:
            assert client.get(url).status_code == 200
        return len(seen)

    few_id = open_id(world)
    few_list, few_detail = statements("/rfqs/"), statements(f"/rfqs/{few_id}")
    with as_org(world.acme):
        buyer = world.user("buyer@acme")
        for i in range(6):
            rfq = rfqs.create_rfq(buyer, title=f"R{i}", now=NOW)
            for _ in range(3):
                rfqs.add_line(rfq, buyer, description="X", quantity=Decimal(1))
            rfqs.invite(rfq, buyer, link_of(world.acme, world.nordwind))
            rfqs.invite(rfq, buyer, link_of(world.acme, world.polbud))
        many = published_rfq(world)
        db.session.commit()
        many_id = many.id
    assert statements("/rfqs/") == few_list
    assert statements(f"/rfqs/{many_id}") <= few_detail


# ---------------------------------------------------------------- index plans of the list


RFQ_INDEXES = ("ix_rfqs_org_created", "ix_rfqs_org_status_created", "ix_rfqs_org_status_deadline")


def _rfq_statements(client, url) -> list:
    from sqlalchemy import event

    sent = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM rfqs" in statement:
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    assert response.status_code == 200, url
    return sent, response.text


def test_list_views_walk_their_indexes(world, login_as, app):
    import re
    from html import unescape

    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    statuses = ["draft", "open", "open", "closed", "awarded", "cancelled"]
    with as_system():
        for i in range(72):
            status = statuses[i % len(statuses)]
            for org in (world.acme, world.globex):
                db.session.add(Rfq(
                    organization_id=org.id, number=f"RFQ-2026-{i:05d}", title=f"Zapytanie {i}",
                    status=status, currency="PLN", created_by_id=world.user(f"buyer@{org.name.split()[0].lower()}").id,
                    created_at=NOW - timedelta(hours=i),
                    deadline=None if status == "draft" else NOW + timedelta(hours=i - 30)))
        db.session.commit()
    app.config["PAGE_SIZE"], before = 5, app.config["PAGE_SIZE"]
    client = login_as(world.user("buyer@acme"))
    checked = 0
    try:
        for view in ("all", "drafts", "open", "closing_soon", "awaiting_award", "awarded",
                     "cancelled"):
            url = f"/rfqs/?view={view}"
            sent, html = _rfq_statements(client, url)
            found = re.search(r'<a href="([^"]+)" rel="next"', html)
            pages = [url] + ([unescape(found.group(1))] if found else [])
            assert found, view
            for page_url in pages:
                for statement, parameters in _rfq_statements(client, page_url)[0]:
                    with db.engine.connect() as conn:
                        plan = " | ".join(row[3] for row in conn.exec_driver_sql(
                            f"EXPLAIN QUERY PLAN {statement}", parameters))
                    if "count(*)" not in statement:
                        assert any(name in plan for name in RFQ_INDEXES), f"{page_url}: {plan}"
                    assert "TEMP B-TREE" not in plan, f"{page_url}: {plan}"
                    assert "SCAN rfqs" not in plan.replace("SCAN rfqs USING", ""), f"{page_url}: {plan}"
                    checked += 1
    finally:
        app.config["PAGE_SIZE"] = before
    assert checked >= 14


def test_the_deadline_is_read_and_shown_in_each_buyers_own_time_zone(world, login_as):
    with as_system():
        world.globex.time_zone = "Europe/Sofia"
        db.session.commit()
    with as_org(world.globex):
        buyer = world.user("buyer@globex")
        rfq = rfqs.create_rfq(buyer, title="Pallets", now=NOW)
        rfqs.add_line(rfq, buyer, description="Euro pallet", quantity=Decimal(40))
        rfqs.invite(rfq, buyer, link_of(world.globex, world.nordwind))
        db.session.commit()
        rfq_id = rfq.id
    client = login_as(buyer)
    assert client.post(f"/rfqs/{rfq_id}/publish",
                       data={"deadline": "2026-12-12T14:00"}).status_code == 302
    assert load(rfq_id).deadline == datetime(2026, 12, 12, 12, 0, tzinfo=UTC)
    page = client.get(f"/rfqs/{rfq_id}")
    assert "Europe/Sofia" in page.text and "14:00" in page.text
