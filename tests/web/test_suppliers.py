"""The buyer's supplier pages: list, invite, detail, terms, block and unblock, over HTTP."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain.terms import PaymentTerms
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Invitation,
    InvoicingMode,
    LinkStatus,
    Organization,
    OrgKind,
    SupplierLink,
)
from portal.models.base import utcnow
from portal.services import mail, orgs, suppliers, users
from tests.conftest import as_system, csrf_token_from

PASSWORD = "a long enough pass phrase"


def link_of(buyer, supplier) -> SupplierLink:
    db.session.expire_all()
    return suppliers.find_link_between(buyer.id, supplier.id)


def rows(html: str) -> list[str]:
    return re.findall(r'data-testid="supplier-row" data-link-id="(\d+)"', html)


def count(model, *where) -> int:
    with as_system():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def invite_form(**overrides) -> dict:
    data = {
        "company_name": "Stalex",
        "email": "office@stalex.example",
        "full_name": "Stefan Nowicki",
        "terms_kind": "net",
        "terms_days": "21",
        "currency": "EUR",
        "credit_limit": "75 000,50",
    }
    data.update(overrides)
    return data


# --- the list ----------------------------------------------------------------------------------


def test_acme_lists_its_two_suppliers_with_terms(login_as, world):
    response = login_as(world.user("admin@acme")).get("/suppliers/")
    assert response.status_code == 200
    html = response.text
    acme_nordwind, acme_polbud = link_of(world.acme, world.nordwind), link_of(world.acme, world.polbud)
    assert rows(html) == [str(acme_nordwind.id), str(acme_polbud.id)]
    assert "Nordwind Supplies GmbH" in html and "Polbud S.A." in html
    assert "527-039-18-00" in html  # Polbud's NIP through |taxid
    assert "DE298765435" in html
    assert "500\xa0000,00\xa0zł" in html  # Acme's admin reads Polish: |money by locale
    assert 'data-status="active"' in html


def test_globex_sees_nordwind_and_never_polbud(login_as, world):
    html = login_as(world.user("admin@globex")).get("/suppliers/").text
    assert rows(html) == [str(link_of(world.globex, world.nordwind).id)]
    assert "Nordwind Supplies" in html
    assert "Polbud" not in html
    assert "net 60 days" in html
    assert "150,000.00\xa0EUR" in html


def test_filter_by_status_and_search(login_as, world):
    client = login_as(world.user("buyer@acme"))
    polbud = link_of(world.acme, world.polbud)
    assert rows(client.get("/suppliers/?q=polb").text) == [str(polbud.id)]
    assert rows(client.get("/suppliers/?q=Nord&status=active").text) == [
        str(link_of(world.acme, world.nordwind).id)
    ]
    empty = client.get("/suppliers/?status=blocked")
    assert rows(empty.text) == []
    assert 'data-testid="suppliers-empty"' in empty.text
    # Filtering via htmx answers the table fragment only.
    fragment = client.get("/suppliers/?q=polb", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert rows(fragment.text) == [str(polbud.id)]


def test_empty_state_invites_the_first_supplier(login_as, world):
    with as_system():
        org = orgs.create_organization(
            kind=OrgKind.BUYER, name="Newco", legal_name="Newco Sp. z o.o.", tax_id="5261040828",
            country="PL", currency="PLN", locale="en",
        )
        admin = users.create_user(org, email="admin@newco.example", full_name="New Admin",
                                  roles=["admin"], password=PASSWORD, locale="en")
        db.session.commit()
    html = login_as(admin).get("/suppliers/").text
    assert 'data-testid="suppliers-empty"' in html
    assert "No suppliers yet" in html
    assert 'href="/suppliers/invite"' in html


def test_buyers_and_approvers_view_but_do_not_manage(login_as, world):
    for email in ("buyer@acme", "approver@acme", "buyer@globex"):
        client = login_as(world.user(email))
        html = client.get("/suppliers/").text
        assert rows(html), email
        assert 'data-testid="invite-supplier"' not in html
        assert 'data-testid="supplier-invitations"' not in html
        assert client.get("/suppliers/invite").status_code == 403
        assert client.get("/suppliers/invitations").status_code == 403


def test_supplier_users_get_403_on_buyer_pages(login_as, world):
    client = login_as(world.user("sales@polbud"))
    link_id = link_of(world.acme, world.polbud).id
    assert client.get("/suppliers/").status_code == 403
    assert client.get(f"/suppliers/{link_id}").status_code == 403
    assert client.post(f"/suppliers/{link_id}/unblock").status_code == 403
    assert client.get("/suppliers/invite").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    response = client.get("/suppliers/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- inviting ----------------------------------------------------------------------------------


def test_admin_invites_a_supplier_and_the_link_is_emailed(app, login_as, world):
    client = login_as(world.user("admin@globex"))
    assert client.get("/suppliers/invite").status_code == 200
    response = client.post("/suppliers/invite", data=invite_form())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/suppliers/")

    with as_system():
        invitation = db.session.scalars(select(Invitation)).one()
    assert invitation.kind == "supplier"
    assert invitation.organization_id == world.globex.id
    assert (invitation.company_name, invitation.email, invitation.full_name) == (
        "Stalex", "office@stalex.example", "Stefan Nowicki",
    )
    assert (invitation.payment_terms, invitation.currency) == (PaymentTerms.net(21), "EUR")
    assert invitation.credit_limit == Decimal("75000.50")
    [message] = mail.outbox
    assert message["To"] == "office@stalex.example"
    assert "Globex Trading" in message["Subject"]
    body = message.get_content()
    token = re.search(r"/supplier/join/([\w-]+)", body).group(1)
    assert body.count(app.config["BASE_URL"].rstrip("/") + "/supplier/join/" + token) == 1
    assert "net 21 days" in body
    assert count(AuditEvent, AuditEvent.action == "supplier.invited") == 1

    html = client.get("/suppliers/").text
    assert 'data-testid="supplier-invitations"' in html
    assert "office@stalex.example" in html
    assert "Stalex" in html


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("buyer@acme.example", "buying company"),
        ("sales@nordwind.example", "already your supplier"),
    ],
)
def test_invite_refusals_rerender_with_422_and_save_nothing(login_as, world, email, message):
    client = login_as(world.user("admin@globex"))
    response = client.post("/suppliers/invite", data=invite_form(email=email))
    assert response.status_code == 422
    assert message in response.text
    assert count(Invitation) == 0
    assert mail.outbox == []


def test_a_second_pending_invitation_is_refused(login_as, world):
    client = login_as(world.user("admin@globex"))
    assert client.post("/suppliers/invite", data=invite_form()).status_code == 302
    response = client.post("/suppliers/invite", data=invite_form(company_name="Stalex again"))
    assert response.status_code == 422
    assert "already pending" in response.text
    assert count(Invitation) == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"terms_days": "366"},
        {"terms_days": "-1"},
        {"terms_days": ""},
        {"terms_days": "1e2"},
        {"terms_kind": "weekly"},
        {"terms_kind": "discount", "discount_percent": "2", "discount_days": "40"},
        {"terms_kind": "discount", "discount_percent": "", "discount_days": "10"},
        {"terms_kind": "instalments", "instalments": "50/30, 40/60"},
        {"terms_kind": "instalments", "instalments": "half now"},
        {"currency": "XXX"},
        {"credit_limit": "999999999999999"},
        {"credit_limit": "-5"},
        {"credit_limit": "lots"},
        {"credit_limit": "NaN"},
        {"credit_limit": "10.123"},
        {"email": "not-an-email"},
        {"company_name": ""},
    ],
)
def test_invalid_invitations_are_refused_with_422(login_as, world, overrides):
    response = login_as(world.user("admin@globex")).post(
        "/suppliers/invite", data=invite_form(**overrides)
    )
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    assert count(Invitation) == 0


def test_credit_limit_is_optional(login_as, world):
    response = login_as(world.user("admin@globex")).post(
        "/suppliers/invite", data=invite_form(credit_limit="")
    )
    assert response.status_code == 302
    with as_system():
        assert db.session.scalars(select(Invitation)).one().credit_limit is None


def test_revoke_and_resend_from_the_list(login_as, world):
    client = login_as(world.user("admin@globex"))
    client.post("/suppliers/invite", data=invite_form())
    with as_system():
        invitation_id = db.session.scalars(select(Invitation.id)).one()
    old_token = re.search(r"/supplier/join/([\w-]+)", mail.outbox[0].get_content()).group(1)

    response = client.post(f"/suppliers/invitations/{invitation_id}/resend",
                           data={"next": "/suppliers/"})
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    new_token = re.search(r"/supplier/join/([\w-]+)", mail.outbox[1].get_content()).group(1)
    assert new_token != old_token
    assert client.get(f"/supplier/join/{old_token}").status_code == 410

    assert client.post(f"/suppliers/invitations/{invitation_id}/revoke").status_code == 302
    db.session.expire_all()
    with as_system():
        assert db.session.scalars(select(Invitation)).one().revoked_at is not None
    assert client.get(f"/supplier/join/{new_token}").status_code == 410
    assert "office@stalex.example" not in client.get("/suppliers/").text
    # Revoking again from a stale page explains instead of failing.
    again = client.post(f"/suppliers/invitations/{invitation_id}/revoke",
                        headers={"Referer": "http://localhost/suppliers/"})
    assert again.status_code == 302
    assert "This invitation was revoked." in client.get("/suppliers/").text


def test_invitation_actions_need_the_admin_and_the_own_company(login_as, world):
    login_as(world.user("admin@globex")).post("/suppliers/invite", data=invite_form())
    with as_system():
        invitation_id = db.session.scalars(select(Invitation.id)).one()
    buyer = login_as(world.user("buyer@globex"))
    assert buyer.post(f"/suppliers/invitations/{invitation_id}/revoke").status_code == 403
    assert buyer.post(f"/suppliers/invitations/{invitation_id}/resend").status_code == 403
    other = login_as(world.user("admin@acme"))
    assert other.post(f"/suppliers/invitations/{invitation_id}/revoke").status_code == 404
    assert other.post(f"/suppliers/invitations/{invitation_id}/resend").status_code == 404
    with as_system():
        invitation = db.session.scalars(select(Invitation)).one()
        assert invitation.revoked_at is None
    assert len(mail.outbox) == 1


def test_expired_invitations_are_marked_and_can_be_resent(login_as, world):
    client = login_as(world.user("admin@globex"))
    client.post("/suppliers/invite", data=invite_form())
    with as_system():
        invitation = db.session.scalars(select(Invitation)).one()
        invitation.expires_at = utcnow() - timedelta(days=1)
        db.session.commit()
    html = client.get("/suppliers/").text
    assert "Expired" in html
    assert client.post(f"/suppliers/invitations/{invitation.id}/resend").status_code == 302
    db.session.expire_all()
    with as_system():
        assert db.session.scalars(select(Invitation)).one().expires_at > utcnow()


# --- detail, terms, block and unblock --------------------------------------------------------


def test_detail_shows_company_terms_and_history(login_as, world):
    link = link_of(world.acme, world.polbud)
    html = login_as(world.user("admin@acme")).get(f"/suppliers/{link.id}").text
    assert "Polbud S.A." in html
    assert "527-039-18-00" in html
    assert "al. Jerozolimskie 100" in html and "00-807 Warszawa" in html
    assert 'data-status="active"' in html
    assert 'data-testid="supplier-history"' in html
    assert 'data-testid="block-supplier"' in html
    assert 'data-testid="terms-edit"' in html


def test_non_admins_see_the_detail_without_buttons(login_as, world):
    link = link_of(world.acme, world.polbud)
    html = login_as(world.user("buyer@acme")).get(f"/suppliers/{link.id}").text
    assert "Polbud S.A." in html
    assert 'data-testid="block-supplier"' not in html
    assert 'data-testid="unblock-supplier"' not in html
    assert 'data-testid="terms-edit"' not in html


def test_another_companys_link_is_404(login_as, world):
    acme_polbud = link_of(world.acme, world.polbud).id
    client = login_as(world.user("admin@globex"))
    assert client.get(f"/suppliers/{acme_polbud}").status_code == 404
    for verb in ("block", "unblock", "terms"):
        response = client.post(f"/suppliers/{acme_polbud}/{verb}", data={"comment": "x"})
        assert response.status_code == 404, verb
    assert link_of(world.acme, world.polbud).status == LinkStatus.ACTIVE
    assert client.get("/suppliers/999999").status_code == 404


def test_crafted_posts_by_non_admins_are_403(login_as, world):
    link_id = link_of(world.acme, world.polbud).id
    for email in ("buyer@acme", "approver@acme", "cfo@acme"):
        client = login_as(world.user(email))
        assert client.post(f"/suppliers/{link_id}/block", data={"comment": "x"}).status_code == 403
        assert client.post(f"/suppliers/{link_id}/unblock").status_code == 403
        terms = {"terms_kind": "net", "terms_days": "1", "currency": "PLN", "credit_limit": ""}
        assert client.post(f"/suppliers/{link_id}/terms", data=terms).status_code == 403
        assert client.post("/suppliers/invite", data=invite_form()).status_code == 403
    link = link_of(world.acme, world.polbud)
    assert (link.status, link.payment_terms) == (LinkStatus.ACTIVE, PaymentTerms.net(45))
    assert count(Invitation) == 0


def test_block_needs_a_reason(login_as, world):
    link_id = link_of(world.globex, world.nordwind).id
    response = login_as(world.user("admin@globex")).post(f"/suppliers/{link_id}/block",
                                                         data={"comment": "  "})
    assert response.status_code == 422
    assert "Give a reason" in response.text
    assert link_of(world.globex, world.nordwind).status == LinkStatus.ACTIVE


def test_block_and_unblock_with_audit(login_as, world):
    link_id = link_of(world.globex, world.nordwind).id
    client = login_as(world.user("admin@globex"))
    response = client.post(f"/suppliers/{link_id}/block", data={"comment": "Late deliveries"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/suppliers/{link_id}")
    assert link_of(world.globex, world.nordwind).status == LinkStatus.BLOCKED
    page = client.get(f"/suppliers/{link_id}").text
    assert "is blocked" in page
    assert 'data-status="blocked"' in page
    assert 'data-testid="unblock-supplier"' in page
    assert 'data-testid="block-supplier"' not in page
    assert "Late deliveries" in page  # the reason on the timeline

    # Blocking a blocked supplier (a stale page, a crafted POST) says why.
    again = client.post(f"/suppliers/{link_id}/block", data={"comment": "again"},
                        headers={"Referer": f"http://localhost/suppliers/{link_id}"})
    assert again.status_code == 302
    assert "Only an active supplier can be blocked" in client.get(f"/suppliers/{link_id}").text

    assert client.post(f"/suppliers/{link_id}/unblock", data={"comment": ""}).status_code == 302
    assert link_of(world.globex, world.nordwind).status == LinkStatus.ACTIVE
    with as_system():
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "SupplierLink", AuditEvent.object_id == link_id)
            .order_by(AuditEvent.id)
        ).all()
        blocked = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "supplier.blocked")
        ).one()
    assert actions[-2:] == ["supplier.blocked", "supplier.unblocked"]
    assert blocked.comment == "Late deliveries"
    assert blocked.actor_id == world.user("admin@globex").id


def test_block_over_htmx_swaps_the_detail_and_signals_success(login_as, world):
    link_id = link_of(world.globex, world.nordwind).id
    client = login_as(world.user("admin@globex"))
    response = client.post(f"/suppliers/{link_id}/block", data={"comment": "Audit"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<div id="detail">')
    assert "flash" in response.headers["HX-Trigger"]
    invalid = client.post(f"/suppliers/{link_id}/unblock", data={"comment": "x" * 2001},
                          headers={"HX-Request": "true"})
    assert invalid.status_code == 422
    assert '<div id="detail">' in invalid.text
    refused = client.post(f"/suppliers/{link_id}/block", data={"comment": "again"},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 409
    assert refused.headers["HX-Retarget"] == "#flash"


def test_edit_terms(login_as, world):
    link_id = link_of(world.globex, world.nordwind).id
    client = login_as(world.user("admin@globex"))
    response = client.post(f"/suppliers/{link_id}/terms", data={
        "terms_kind": "net", "terms_days": "90", "currency": "PLN", "credit_limit": "12345.60",
    })
    assert response.status_code == 302
    link = link_of(world.globex, world.nordwind)
    assert (link.payment_terms, link.currency, link.credit_limit) == (
        PaymentTerms.net(90), "PLN", Decimal("12345.60"),
    )
    assert count(AuditEvent, AuditEvent.action == "supplier.terms_changed") == 1

    invalid = client.post(f"/suppliers/{link_id}/terms", data={
        "terms_kind": "net", "terms_days": "400", "currency": "PLN", "credit_limit": "",
    })
    assert invalid.status_code == 422
    assert "Enter at most 365 days." in invalid.text
    assert link_of(world.globex, world.nordwind).payment_terms == PaymentTerms.net(90)


@pytest.mark.parametrize(
    ("form", "terms", "label"),
    [
        ({"terms_kind": "eom", "terms_days": "30"}, PaymentTerms.end_of_month(30),
         "end of month + 30 days"),
        ({"terms_kind": "discount", "terms_days": "30", "discount_percent": "2,5",
          "discount_days": "10"},
         PaymentTerms.early_discount(Decimal("2.5"), 10, 30),
         "2.50% discount within 10 days, net 30 days"),  # a Decimal reads with two places
        ({"terms_kind": "instalments", "instalments": "30/14, 70/45", "terms_days": ""},
         PaymentTerms.in_instalments([(Decimal(30), 14), (Decimal(70), 45)]),
         "in instalments: 30% after 14 days, 70% after 45 days"),
    ],
)
def test_edit_terms_of_every_kind_and_show_their_label(login_as, world, form, terms, label):
    link_id = link_of(world.globex, world.nordwind).id
    client = login_as(world.user("admin@globex"))
    response = client.post(f"/suppliers/{link_id}/terms",
                           data={**form, "currency": "EUR", "credit_limit": ""})
    assert response.status_code == 302
    assert link_of(world.globex, world.nordwind).payment_terms == terms
    page = client.get(f"/suppliers/{link_id}").text
    assert label in page
    # The edit form shows the saved terms again.
    assert f'<option selected value="{terms.kind.value}">' in page


def test_edit_invoicing_mode_and_price_tolerance(login_as, world):
    link_id = link_of(world.globex, world.nordwind).id
    client = login_as(world.user("admin@globex"))
    page = client.get(f"/suppliers/{link_id}").text
    assert 'name="invoicing"' in page and 'name="price_tolerance"' in page
    assert "One invoice per order" in page
    terms = {"terms_kind": "net", "terms_days": "30", "currency": "EUR", "credit_limit": ""}
    response = client.post(f"/suppliers/{link_id}/terms",
                           data={**terms, "invoicing": "monthly", "price_tolerance": "0,5"})
    assert response.status_code == 302
    link = link_of(world.globex, world.nordwind)
    assert (link.invoicing, link.price_tolerance) == (InvoicingMode.MONTHLY, Decimal("0.50"))
    page = client.get(f"/suppliers/{link_id}").text
    assert 'data-testid="link-invoicing"' in page and "One invoice a month" in page
    assert 'data-testid="link-price-tolerance"' in page
    assert '<option selected value="monthly">' in page
    # The history names the changed fields.
    assert "Invoicing" in page and "Price tolerance" in page
    # Bad values: a form error, nothing saved.
    for bad in ({"price_tolerance": "101"}, {"price_tolerance": "-1"}, {"price_tolerance": "x"},
                {"price_tolerance": "0,555"}, {"invoicing": "weekly"}):
        refused = client.post(f"/suppliers/{link_id}/terms", data={**terms, **bad})
        assert refused.status_code == 422, bad
    # An emptied tolerance is 0 (exactly the order price); a post without the fields keeps them.
    assert client.post(f"/suppliers/{link_id}/terms",
                       data={**terms, "invoicing": "monthly", "price_tolerance": ""}).status_code == 302
    assert link_of(world.globex, world.nordwind).price_tolerance == Decimal("0")
    assert client.post(f"/suppliers/{link_id}/terms", data=terms).status_code == 302
    assert link_of(world.globex, world.nordwind).invoicing == InvoicingMode.MONTHLY


def test_terms_preview_computes_due_dates_for_a_sample_invoice(login_as, world):
    client = login_as(world.user("admin@globex"))
    response = client.get("/suppliers/terms/preview", query_string={
        "terms_kind": "instalments", "instalments": "33.33/30, 33.33/60, 33.34/90",
        "sample_date": "2028-01-31", "currency": "EUR",
    }, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.text
    assert "<html" not in html
    assert "in instalments: 33.33% after 30 days" in html
    assert "1 Mar 2028" in html and "31 Mar 2028" in html and "30 Apr 2028" in html
    assert "333.30\xa0EUR" in html and "333.40\xa0EUR" in html

    discount = client.get("/suppliers/terms/preview", query_string={
        "terms_kind": "discount", "terms_days": "30", "discount_percent": "2",
        "discount_days": "10", "sample_date": "2028-02-20", "currency": "EUR",
    }).text
    assert "21 Mar 2028" in discount  # due
    assert "980.00\xa0EUR" in discount and "1 Mar 2028" in discount and "20.00\xa0EUR" in discount

    wrong = client.get("/suppliers/terms/preview", query_string={
        "terms_kind": "instalments", "instalments": "50/30, 40/60", "currency": "EUR"}).text
    assert "The instalments must add up to 100%." in wrong


def test_terms_preview_is_for_supplier_managers_only(login_as, world):
    assert login_as(world.user("buyer@acme")).get("/suppliers/terms/preview").status_code == 403


def test_csrf_is_required_for_blocking(app, login_as, world):
    link_id = link_of(world.globex, world.nordwind).id
    client = login_as(world.user("admin@globex"))
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post(f"/suppliers/{link_id}/block", data={"comment": "x"})
        assert refused.status_code == 400
        token = csrf_token_from(client.get(f"/suppliers/{link_id}").text)
        accepted = client.post(f"/suppliers/{link_id}/block",
                               data={"comment": "x", "csrf_token": token})
        assert accepted.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert link_of(world.globex, world.nordwind).status == LinkStatus.BLOCKED


def test_the_supplier_organisation_is_untouched_by_the_buyers_pages(login_as, world):
    """Blocking changes the link, never the supplier's own organisation."""
    link_id = link_of(world.globex, world.nordwind).id
    login_as(world.user("admin@globex")).post(f"/suppliers/{link_id}/block",
                                             data={"comment": "x"})
    with as_system():
        nordwind = db.session.scalars(
            select(Organization).where(Organization.id == world.nordwind.id)
        ).one()
    assert nordwind.name == "Nordwind Supplies"
    assert link_of(world.acme, world.nordwind).status == LinkStatus.ACTIVE
