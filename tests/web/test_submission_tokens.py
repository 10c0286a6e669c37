"""A create form sent twice creates once (issue 8, point 24; portal/blueprints/once.py).

Each form is shown once (GET), its one-time token read from the page, and the same post sent
again (the browser's "resend", a double click) or several times at once: one row, and the
repeat answers with where the first one led and a message. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Comment, CostCenter, Requisition, RequisitionLine, SubmissionToken
from portal.tenancy import system
from tests.conftest import login
from tests.kit import HX, make_draft, make_shop

# The shop's people read Polish; the message is the same one in either language.
REPEATED = ("This form was already sent: it was saved once, and not again.",
            "Ten formularz został już wysłany: zapisano go raz i nie zapisano ponownie.")


def _says_repeated(page: str) -> bool:
    return any(text in page for text in REPEATED)


@pytest.fixture
def shop(world):
    return make_shop(world)


def _count(model, *where) -> int:
    db.session.expire_all()
    with system(db.session):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _token(html: str, action: str) -> str:
    """The submission token of the form on the page that posts to `action`."""
    for form in re.findall(r"<form\b.*?</form>", html, re.S):
        if f'action="{action}"' in form.split(">", 1)[0] or 'action="' not in form.split(">", 1)[0]:
            found = re.search(r'name="submission_token"[^>]*value="([^"]+)"', form)
            if found:
                return found.group(1)
    raise AssertionError(f"no submission token in a form posting to {action}")


def _header(shop, **overrides) -> dict:
    return {"title": "Krzesła do sali konferencyjnej", "justification": "Stare są zniszczone.",
            "needed_by": (date.today() + timedelta(days=14)).isoformat(),
            "cost_center_id": str(shop.cc_it.id), "category_id": "", "currency": "PLN",
            **overrides}


def _line(**overrides) -> dict:
    return {"item_id": "", "description": "Krzesło obrotowe", "quantity": "4", "unit": "pcs",
            "unit_price": "499.00", "vat_rate": "23", "suggested_supplier_id": "", **overrides}


def test_new_requisition_sent_twice_creates_one_draft(app, shop, login_as):
    client = login_as(shop.buyer)
    data = {**_header(shop), "submission_token": _token(client.get("/requisitions/new").text,
                                                        "/requisitions/new")}
    before = _count(Requisition)
    first = client.post("/requisitions/new", data=data)
    assert first.status_code == 302
    again = client.post("/requisitions/new", data=data)
    assert again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]  # the draft made the first time
    assert _count(Requisition) == before + 1
    assert _says_repeated(client.get(again.headers["Location"]).text)


def test_a_refused_form_keeps_its_token_and_the_corrected_one_creates(app, shop, login_as):
    client = login_as(shop.buyer)
    token = _token(client.get("/requisitions/new").text, "/requisitions/new")
    refused = client.post("/requisitions/new", data={**_header(shop, title=""),
                                                     "submission_token": token})
    assert refused.status_code == 422
    assert f'value="{token}"' in refused.text  # nothing was created: the same token goes back
    before = _count(Requisition)
    assert client.post("/requisitions/new", data={**_header(shop), "submission_token": token}
                       ).status_code == 302
    assert _count(Requisition) == before + 1


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_add_line_sent_twice_adds_one_line(app, shop, login_as, htmx):
    req_id = make_draft(app, shop.buyer, shop.cc_it, lines=())
    headers = {**HX, "HX-Current-URL": f"http://localhost/requisitions/{req_id}/edit"} if htmx else None
    client = login_as(shop.buyer)
    url = f"/requisitions/{req_id}/lines"
    data = {**_line(), "submission_token": _token(
        client.get(f"/requisitions/{req_id}/edit").text, url)}
    assert client.post(url, data=data, headers=headers).status_code in (200, 302)
    again = client.post(url, data=data, headers=headers)
    assert _count(RequisitionLine, RequisitionLine.requisition_id == req_id) == 1
    target = again.headers["HX-Redirect"] if htmx else again.headers["Location"]
    assert target.endswith(f"/requisitions/{req_id}/edit") or f"/requisitions/{req_id}/edit#" in target
    assert _says_repeated(client.get(target).text)


def test_comment_sent_twice_is_posted_once(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.buyer)
    url = f"/requisitions/{req_id}/comments"
    data = {"body": "Proszę o szybką decyzję.",
            "submission_token": _token(client.get(f"/requisitions/{req_id}").text, url)}
    for _ in range(3):
        assert client.post(url, data=data).status_code in (302, 303)
    assert _count(Comment) == 1


def test_duplicate_clicked_twice_makes_one_copy(app, shop, login_as):
    req_id = make_draft(app, shop.buyer, shop.cc_it)
    client = login_as(shop.buyer)
    url = f"/requisitions/{req_id}/duplicate"
    data = {"submission_token": _token(client.get(f"/requisitions/{req_id}").text, url)}
    first = client.post(url, data=data)
    again = client.post(url, data=data)
    assert again.headers["Location"] == first.headers["Location"]
    assert _count(Requisition) == 2


def test_cost_centre_sent_twice_is_added_once(app, world, login_as):
    client = login_as(world.user("admin@acme"))
    data = {"code": "HR", "name": "Kadry", "manager_id": "",
            "submission_token": _token(client.get("/cost-centers/new").text, "/cost-centers/new")}
    assert client.post("/cost-centers/new", data=data).status_code == 302
    assert client.post("/cost-centers/new", data=data).status_code == 303
    assert _count(CostCenter, CostCenter.code == "HR") == 1


def test_one_token_sent_by_five_requests_at_once_creates_one_draft(app, shop):
    db.session.commit()
    clients = []
    for _ in range(5):
        client = app.test_client()
        login(client, shop.buyer)
        clients.append(client)
    token = _token(clients[0].get("/requisitions/new").text, "/requisitions/new")
    data = {**_header(shop), "submission_token": token}
    before = _count(Requisition)
    db.session.commit()
    start = threading.Barrier(len(clients))
    answers, failures = [], []

    def post(client):
        try:
            start.wait()
            answers.append(client.post("/requisitions/new", data=data).status_code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert sorted(answers) == [302] + [303] * 4, answers
    assert _count(Requisition) == before + 1
    assert _count(SubmissionToken, SubmissionToken.token == token) == 1


def test_a_token_is_one_user_s_own(app, shop, login_as):
    """Another user sending the same token (a shared link, a copied page) is not a repeat."""
    buyer, colleague = login_as(shop.buyer), login_as(shop.buyer2)
    token = _token(buyer.get("/requisitions/new").text, "/requisitions/new")
    before = _count(Requisition)
    for client in (buyer, colleague):
        data = {**_header(shop), "submission_token": token}
        assert client.post("/requisitions/new", data=data).status_code == 302
    assert _count(Requisition) == before + 2
