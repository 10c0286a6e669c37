"""Requisition pages: create a draft, the detail page, edit the header, submit, cancel,
duplicate, attachments and comments; who may see and do what (403), and another company's
ids (404)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.domain.approval import TaskStatus
from portal.domain.requisition import RequisitionStatus
from portal.extensions import db
from portal.models import (
    ApprovalAssignment,
    ApprovalTask,
    Attachment,
    AuditEvent,
    Comment,
    Requisition,
    RequisitionLine,
)
from portal.services import approvals
from portal.services.requisitions import MAX_ATTACHMENT_BYTES
from tests.conftest import as_system
from tests.kit import (
    HX,
    acting,
    approver_policy,
    assert_fragment,
    count,
    get_req,
    make_draft,
    make_shop,
    text_of,
)


@pytest.fixture
def english(world):
    """Acme's people read Polish; the tests that ask for this check the English texts."""
    with as_system():
        for user in world.users.values():
            user.locale = "en"
        db.session.commit()


@pytest.fixture
def shop(world):
    return make_shop(world)


def _header(shop, **overrides):
    data = {
        "title": "Krzesła do sali konferencyjnej",
        "justification": "Stare krzesła są zniszczone.",
        "needed_by": (date.today() + timedelta(days=14)).isoformat(),
        "cost_center_id": str(shop.cc_it.id),
        "category_id": "",
        "currency": "PLN",
    }
    data.update(overrides)
    return data


# ---------------------------------------------------------------- create


def test_new_page_offers_only_active_cost_centres(shop, login_as):
    response = login_as(shop.buyer).get("/requisitions/new")
    assert response.status_code == 200
    # only the cost-centre select: other selects (categories) have ids of their own
    select = re.search(r'<select[^>]*name="cost_center_id".*?</select>', response.text, re.S).group(0)
    assert f'value="{shop.cc_it.id}"' in select
    assert f'value="{shop.cc_closed.id}"' not in select
    assert f'value="{shop.globex_cc.id}"' not in select
    assert 'maxlength="5000"' in response.text  # the justification textarea


def test_create_draft_redirects_to_the_line_editor(shop, login_as, english):
    client = login_as(shop.buyer)
    before = count(Requisition)
    response = client.post("/requisitions/new", data=_header(shop, category_id=str(shop.cat_it.id)))
    assert response.status_code == 302
    assert count(Requisition) == before + 1
    with as_system():
        req = db.session.scalars(select(Requisition).order_by(Requisition.id.desc())).first()
        assert req.status == RequisitionStatus.DRAFT
        assert req.requester_id == shop.buyer.id
        assert req.cost_center_id == shop.cc_it.id
        assert req.category_id == shop.cat_it.id
        assert req.number.startswith(f"REQ-{date.today().year}-")
        assert req.gross_total == 0
    assert response.headers["Location"].endswith(f"/requisitions/{req.id}/edit")
    page = client.get(response.headers["Location"])
    assert "Draft" in page.text and req.number in page.text
    assert "is saved" in page.text  # the flash


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cost_center_id": ""}, "Choose a cost centre."),
        ({"title": "   "}, "Enter a title."),
        ({"needed_by": (date.today() - timedelta(days=1)).isoformat()},
         "The needed-by date cannot be in the past."),
        ({"justification": "x" * 100_000}, "The justification may be at most 5000 characters."),
        ({"needed_by": "2026-13-45"}, "Enter a date such as 2026-12-31."),
    ],
)
def test_create_refuses_bad_input_and_saves_nothing(shop, login_as, overrides, message, english):
    before = count(Requisition)
    response = login_as(shop.buyer).post("/requisitions/new", data=_header(shop, **overrides))
    assert response.status_code == 422
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert count(Requisition) == before


def test_create_refuses_an_inactive_or_foreign_cost_centre(shop, login_as, english):
    client = login_as(shop.buyer)
    before = count(Requisition)
    response = client.post("/requisitions/new",
                           data=_header(shop, cost_center_id=shop.cc_closed.id))
    assert response.status_code == 422
    assert "no longer active" in response.text
    response = client.post("/requisitions/new",
                           data=_header(shop, cost_center_id=shop.globex_cc.id))
    assert response.status_code == 422
    assert "Choose a cost centre." in response.text
    assert count(Requisition) == before


def test_only_buyers_create(shop, login_as):
    assert login_as(shop.approver).get("/requisitions/new").status_code == 403
    assert login_as(shop.approver).post("/requisitions/new", data=_header(shop)).status_code == 403


# ---------------------------------------------------------------- detail and access


def test_detail_shows_lines_totals_and_timeline(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it, justification="Dwóch nowych programistów.",
                        lines=(("Laptop", "2", "4000", "23"), ("Mysz", "2", "99.99", "23")))
    response = login_as(shop.buyer).get(f"/requisitions/{req_id}")
    assert response.status_code == 200
    text = text_of(response.text)
    req = get_req(req_id)
    assert req.number in text and "Laptop" in text and "Mysz" in text
    assert "8 199,98 zł" in text  # net
    assert "1 886,00 zł" in text  # VAT 1840.00 + 46.00
    assert "10 085,98 zł" in text  # gross
    assert "Dwóch nowych programistów." in text
    assert "utworzono zapotrzebowanie" in text  # the timeline, in the buyer's Polish
    assert 'data-testid="edit"' in response.text and 'data-testid="submit"' in response.text
    assert 'data-testid="edit-line"' not in response.text  # lines are edited on the edit page


def test_another_companys_requisition_is_not_found(app, shop, world, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    for email in ("buyer@globex", "admin@globex", "approver@globex"):
        client = login_as(world.user(email))
        assert client.get(f"/requisitions/{req_id}").status_code == 404, email
        assert client.get(f"/requisitions/{req_id}/edit").status_code == 404, email
        assert client.post(f"/requisitions/{req_id}/submit").status_code == 404, email
        assert client.post(f"/requisitions/{req_id}/cancel").status_code == 404, email
        comment = client.post(f"/requisitions/{req_id}/comments", data={"body": "x"})
        assert comment.status_code == 404
    assert get_req(req_id).status == RequisitionStatus.DRAFT


def test_a_colleague_without_approver_role_is_refused(app, shop, login_as):
    """buyer2 works for the same company, so the requisition exists for her: 403, not 404."""
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.buyer2)
    assert client.get(f"/requisitions/{req_id}").status_code == 403
    assert client.get(f"/requisitions/{req_id}/edit").status_code == 403
    assert client.post(f"/requisitions/{req_id}/submit").status_code == 403
    assert client.post(f"/requisitions/{req_id}/comments", data={"body": "x"}).status_code == 403
    assert client.post(f"/requisitions/{req_id}/cancel").status_code == 403
    assert get_req(req_id).status == RequisitionStatus.DRAFT


def test_approvers_and_admins_see_but_do_not_edit(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    for user in (shop.approver, shop.admin):
        client = login_as(user)
        page = client.get(f"/requisitions/{req_id}")
        assert page.status_code == 200
        assert 'data-testid="edit"' not in page.text
        assert 'data-testid="submit"' not in page.text
        assert client.get(f"/requisitions/{req_id}/edit").status_code == 403


def test_supplier_users_cannot_reach_requisitions(app, shop, world, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(world.user("sales@polbud"))
    assert client.get("/requisitions/").status_code == 403
    assert client.get(f"/requisitions/{req_id}").status_code == 404


def test_pages_need_sign_in(app, shop, client):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    for url in ("/requisitions/", f"/requisitions/{req_id}", "/requisitions/new"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# ---------------------------------------------------------------- edit the header


def test_edit_header_saves_the_draft(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.buyer)
    response = client.post(f"/requisitions/{req_id}/edit",
                           data=_header(shop, title="Nowy tytuł", cost_center_id=shop.cc_adm.id,
                                        currency="EUR"))
    assert response.status_code == 302
    req = get_req(req_id)
    assert (req.title, req.cost_center_id, req.currency) == ("Nowy tytuł", shop.cc_adm.id, "EUR")


def test_edit_header_refuses_bad_input(app, shop, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it, title="Stary tytuł")
    response = login_as(shop.buyer).post(
        f"/requisitions/{req_id}/edit", data=_header(shop, title="", justification="y" * 6000)
    )
    assert response.status_code == 422
    assert "Enter a title." in response.text
    assert "at most 5000 characters" in response.text
    assert get_req(req_id).title == "Stary tytuł"


def test_a_submitted_requisition_is_no_longer_editable(app, shop, login_as, english):
    approver_policy(app, shop)
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.buyer)
    assert client.post(f"/requisitions/{req_id}/submit").status_code == 302
    response = client.get(f"/requisitions/{req_id}/edit")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/requisitions/{req_id}")
    page = client.get(response.headers["Location"])
    assert "Only a draft can be changed" in page.text
    response = client.post(f"/requisitions/{req_id}/edit", data=_header(shop, title="Zmiana"))
    assert response.status_code == 302
    assert get_req(req_id).title != "Zmiana"


# ---------------------------------------------------------------- submit


def test_submit_routes_to_the_policys_approver(app, shop, login_as, english):
    approver_policy(app, shop)
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.buyer)
    response = client.post(f"/requisitions/{req_id}/submit")
    assert response.status_code == 302
    assert get_req(req_id).status == RequisitionStatus.PENDING
    with as_system():
        tasks = db.session.scalars(
            select(ApprovalTask).where(ApprovalTask.requisition_id == req_id)
        ).all()
        assert [(t.name, t.status) for t in tasks] == [("Kierownik", TaskStatus.PENDING)]
        assignees = db.session.scalars(
            select(ApprovalAssignment.user_id).where(ApprovalAssignment.task_id == tasks[0].id)
        ).all()
        assert assignees == [shop.approver.id]
    page = client.get(f"/requisitions/{req_id}")
    text = text_of(page.text)
    assert "is submitted" in text
    assert "Kierownik" in text and shop.approver.full_name in text
    assert "applies to every requisition" in text  # the why
    assert "submitted for approval" in text  # timeline
    assert 'data-testid="decide-panel"' not in page.text  # the requester never decides
    # The approver sees the decision panel on the same page.
    approver_page = login_as(shop.approver).get(f"/requisitions/{req_id}")
    assert 'data-testid="decide-panel"' in approver_page.text
    assert f"/approvals/tasks/{tasks[0].id}/decide" in approver_page.text


def test_submit_without_lines_is_refused_with_a_message(app, shop, login_as, english):
    approver_policy(app, shop)
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=())
    client = login_as(shop.buyer)
    response = client.post(f"/requisitions/{req_id}/submit",
                           headers={"Referer": f"http://localhost/requisitions/{req_id}"})
    assert response.status_code == 302
    assert "Add at least one line" in client.get(response.headers["Location"]).text
    assert get_req(req_id).status == RequisitionStatus.DRAFT
    assert count(ApprovalTask, ApprovalTask.requisition_id == req_id) == 0


def test_submit_by_someone_else_is_refused(app, shop, login_as):
    approver_policy(app, shop)
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    assert login_as(shop.approver).post(f"/requisitions/{req_id}/submit").status_code == 403
    assert get_req(req_id).status == RequisitionStatus.DRAFT


def test_approval_progress_names_the_delegate(app, shop, login_as, english):
    approver_policy(app, shop)
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    with acting(app, shop.org):
        req = db.session.scalars(select(Requisition).where(Requisition.id == req_id)).one()
        approvals.submit(req, shop.buyer)
        approvals.create_delegation(shop.approver, shop.cfo, date.today(), date.today())
        task = approvals.tasks_of(req)[0]
        approvals.decide(task, shop.cfo, "approve", "W imieniu Damiana: zgoda.")
        db.session.commit()
    text = text_of(login_as(shop.buyer).get(f"/requisitions/{req_id}").text)
    assert f"{shop.cfo.full_name} for {shop.approver.full_name}" in text
    assert "W imieniu Damiana: zgoda." in text
    assert "Approved" in text


def test_a_returned_requisition_shows_the_earlier_round(app, shop, login_as, english):
    approver_policy(app, shop)
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    with acting(app, shop.org):
        req = db.session.scalars(select(Requisition).where(Requisition.id == req_id)).one()
        approvals.submit(req, shop.buyer)
        approvals.decide(approvals.tasks_of(req)[0], shop.approver, "return", "Dodaj ofertę.")
        approvals.submit(req, shop.buyer)
        db.session.commit()
    page = login_as(shop.buyer).get(f"/requisitions/{req_id}")
    assert "<details class=\"round\">" in page.text
    assert "Earlier round 1" in page.text
    assert "Dodaj ofertę." in page.text
    assert "returned the requisition for changes" in page.text


def test_a_returned_draft_tells_the_requester_why(app, shop, login_as, english):
    approver_policy(app, shop)
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.buyer)
    assert 'data-testid="returned"' not in client.get(f"/requisitions/{req_id}/edit").text
    with acting(app, shop.org):
        req = db.session.scalars(select(Requisition).where(Requisition.id == req_id)).one()
        approvals.submit(req, shop.buyer)
        approvals.decide(approvals.tasks_of(req)[0], shop.approver, "return", "Brak oferty.")
        db.session.commit()
    page = client.get(f"/requisitions/{req_id}/edit")
    assert page.status_code == 200
    text = text_of(page.text)
    assert 'data-testid="returned"' in page.text
    assert f"Returned for changes by {shop.approver.full_name}" in text and "Brak oferty." in text


# ---------------------------------------------------------------- cancel and duplicate


def test_requester_cancels_a_draft_with_a_reason(app, shop, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.buyer)
    response = client.post(f"/requisitions/{req_id}/cancel", data={"comment": "Już niepotrzebne."})
    assert response.status_code == 302
    assert get_req(req_id).status == RequisitionStatus.CANCELLED
    page = client.get(f"/requisitions/{req_id}")
    text = text_of(page.text)
    assert "is cancelled" in text
    assert "cancelled the requisition" in text and "Już niepotrzebne." in text
    assert 'data-testid="cancel"' not in page.text
    assert 'data-testid="duplicate"' in page.text


def test_cancelling_twice_says_why(app, shop, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.buyer)
    client.post(f"/requisitions/{req_id}/cancel")
    response = client.post(f"/requisitions/{req_id}/cancel",
                           headers={"Referer": f"http://localhost/requisitions/{req_id}"})
    assert response.status_code == 302
    assert "cannot be changed this way" in client.get(response.headers["Location"]).text
    assert count(AuditEvent, AuditEvent.action == "requisition.cancelled",
                 AuditEvent.object_id == req_id) == 1


def test_a_refusal_is_shown_in_the_viewers_language(app, shop, login_as):
    """The service raises a message id; the error handler renders it for the (Polish) viewer."""
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.buyer)
    client.post(f"/requisitions/{req_id}/cancel")
    response = client.post(f"/requisitions/{req_id}/cancel",
                           headers={"Referer": f"http://localhost/requisitions/{req_id}"})
    text = text_of(client.get(response.headers["Location"]).text)
    assert "Zapotrzebowania o statusie „anulowane” nie można zmienić w ten sposób" in text


def test_only_an_admin_cancels_an_approved_requisition(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    with acting(app, shop.org):  # no policy step applies: approved on submit
        req = db.session.scalars(select(Requisition).where(Requisition.id == req_id)).one()
        approvals.submit(req, shop.buyer)
        db.session.commit()
    assert get_req(req_id).status == RequisitionStatus.APPROVED
    buyer_page = login_as(shop.buyer).get(f"/requisitions/{req_id}")
    assert 'data-testid="cancel"' not in buyer_page.text
    assert login_as(shop.buyer).post(f"/requisitions/{req_id}/cancel").status_code == 403
    admin = login_as(shop.admin)
    assert 'data-testid="cancel"' in admin.get(f"/requisitions/{req_id}").text
    response = admin.post(f"/requisitions/{req_id}/cancel", data={"comment": "Budżet"})
    assert response.status_code == 302
    assert get_req(req_id).status == RequisitionStatus.CANCELLED


def test_duplicate_makes_a_new_draft_with_the_same_lines(app, shop, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it, title="Tonery",
                        lines=(("Toner HP", "3", "389.00", "23"), ("Papier", "10", "18.9", "8")))
    client = login_as(shop.buyer)
    client.post(f"/requisitions/{req_id}/cancel")
    response = client.post(f"/requisitions/{req_id}/duplicate")
    assert response.status_code == 302
    with as_system():
        copy = db.session.scalars(select(Requisition).order_by(Requisition.id.desc())).first()
        lines = [(li.description, li.quantity, li.vat_rate) for li in copy.lines]
        assert copy.id != req_id and copy.status == RequisitionStatus.DRAFT
        assert copy.title == "Tonery"
        assert lines == [("Toner HP", 3, 23), ("Papier", 10, 8)]
        assert copy.gross_total == get_req(req_id).gross_total
    assert response.headers["Location"].endswith(f"/requisitions/{copy.id}/edit")
    assert "copied from" in client.get(response.headers["Location"]).text


def test_an_approver_without_buyer_role_cannot_duplicate(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    before = count(Requisition)
    client = login_as(shop.approver)
    assert 'data-testid="duplicate"' not in client.get(f"/requisitions/{req_id}").text
    assert client.post(f"/requisitions/{req_id}/duplicate").status_code == 403
    assert count(Requisition) == before


# ---------------------------------------------------------------- attachments


def _upload(client, req_id, name, data, headers=None):
    """POST a file. The body is encoded here, in memory: the test client would spool a large
    one to a temporary file it never closes (a ResourceWarning under filterwarnings=error)."""
    from io import BytesIO

    from werkzeug.datastructures import FileStorage
    from werkzeug.test import stream_encode_multipart

    stream, _length, boundary = stream_encode_multipart(
        {"file": FileStorage(BytesIO(data), filename=name)}, use_tempfile=False
    )
    return client.post(
        f"/requisitions/{req_id}/attachments", data=stream.getvalue(),
        content_type=f"multipart/form-data; boundary={boundary}", headers=headers or {},
    )


def test_attach_and_download_a_file(app, shop, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.buyer)
    pdf = b"%PDF-1.4 offer"
    response = _upload(client, req_id, "Oferta Polbud.pdf", pdf)
    assert response.status_code == 302
    with as_system():
        attachment = db.session.scalars(
            select(Attachment).where(Attachment.requisition_id == req_id)
        ).one()
    page = client.get(f"/requisitions/{req_id}")
    assert "Oferta Polbud.pdf" in page.text and "attached a file" in page.text
    download = client.get(f"/requisitions/{req_id}/attachments/{attachment.id}")
    assert download.status_code == 200
    assert download.data == pdf
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "Oferta" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    # An approver of the company may read it too.
    assert login_as(shop.approver).get(
        f"/requisitions/{req_id}/attachments/{attachment.id}").status_code == 200


def test_attach_with_htmx_returns_the_attachments_block(app, shop, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    response = _upload(login_as(shop.buyer), req_id, "spec.txt", b"Specyfikacja", headers=HX)
    assert response.status_code == 200
    assert_fragment(response)
    assert 'id="attachments"' in response.text and "spec.txt" in response.text
    assert "is attached" in response.headers["HX-Trigger"]


@pytest.mark.parametrize(
    ("name", "size", "message"),
    [
        ("virus.exe", 100, "Files of this type cannot be attached"),
        ("page.html", 100, "Files of this type cannot be attached"),
        ("huge.pdf", MAX_ATTACHMENT_BYTES + 1, "larger than 10 MB"),
        ("empty.pdf", 0, "The file is empty."),
    ],
)
def test_attach_refuses_forbidden_types_and_sizes(app, shop, login_as, name, size, message, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    before = count(Attachment)
    response = _upload(login_as(shop.buyer), req_id, name, b"a" * size)
    assert response.status_code == 422
    assert message in response.text
    assert count(Attachment) == before


def test_attach_without_a_file_says_so(app, shop, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    response = login_as(shop.buyer).post(f"/requisitions/{req_id}/attachments", data={},
                                         content_type="multipart/form-data", headers=HX)
    assert response.status_code == 422
    assert "Choose a file to attach." in response.text
    assert_fragment(response)


def test_only_the_requester_attaches(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.approver)
    assert 'data-testid="upload-form"' not in client.get(f"/requisitions/{req_id}").text
    assert _upload(client, req_id, "a.pdf", b"%PDF").status_code == 403
    assert count(Attachment) == 0


def test_an_attachment_of_another_requisition_is_not_found(app, shop, world, login_as):
    first = make_draft(app, shop.buyer, shop.cc_it)
    second = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.buyer)
    _upload(client, first, "a.pdf", b"%PDF-first")
    with as_system():
        attachment_id = db.session.scalar(
            select(Attachment.id).where(Attachment.requisition_id == first)
        )
    assert client.get(f"/requisitions/{second}/attachments/{attachment_id}").status_code == 404
    assert login_as(world.user("buyer@globex")).get(
        f"/requisitions/{first}/attachments/{attachment_id}").status_code == 404


# ---------------------------------------------------------------- comments


def test_comment_without_javascript(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.approver)
    response = client.post(f"/requisitions/{req_id}/comments", data={"body": "Czy to pilne?"})
    assert response.status_code == 302
    assert "#comment-" in response.headers["Location"]
    page = client.get(f"/requisitions/{req_id}")
    assert "Czy to pilne?" in page.text and shop.approver.full_name in page.text


def test_comment_with_htmx_appends_it_and_resets_the_form(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    response = login_as(shop.buyer).post(f"/requisitions/{req_id}/comments",
                                         data={"body": "Tak, do piątku."}, headers=HX)
    assert response.status_code == 200
    assert_fragment(response)
    assert response.text.lstrip().startswith('<li class="comment"')
    assert "Tak, do piątku." in response.text
    assert 'id="comment-form"' in response.text and 'hx-swap-oob="true"' in response.text
    assert count(Comment, Comment.requisition_id == req_id) == 1


def test_an_empty_comment_is_refused(app, shop, login_as, english):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.buyer)
    response = client.post(f"/requisitions/{req_id}/comments", data={"body": "  "}, headers=HX)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#comment-form"
    assert "Write a comment first." in response.text
    response = client.post(f"/requisitions/{req_id}/comments", data={"body": ""})
    assert response.status_code == 422 and "<html" in response.text
    assert count(Comment) == 0


def test_line_count_is_unchanged_by_page_views(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    before = count(RequisitionLine)
    client = login_as(shop.buyer)
    for url in (f"/requisitions/{req_id}", f"/requisitions/{req_id}/edit"):
        assert client.get(url).status_code == 200
    assert count(RequisitionLine) == before
