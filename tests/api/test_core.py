"""The API's common behaviour: tokens, problems, the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

from openapi_spec_validator import validate

from portal.extensions import db
from portal.models.base import utcnow
from tests.api.conftest import ApiClient, make_token


def test_the_openapi_document_validates(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_me_names_the_tokens_organisation_user_and_scopes(api):
    me = api("buyer@acme.example", scopes=["invoices:read"]).get("/me", status=200)
    assert me["user"] == "buyer@acme.example"
    assert me["organization"]["name"].startswith("Acme")
    assert me["scopes"] == ["invoices:read"]


def test_a_request_without_a_token_is_a_401_problem(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_and_expired_tokens_are_refused(app, world):
    from portal.services.integration import tokens
    from tests.factories import acting_for

    user = world.users["buyer@acme.example"]
    revoked, raw = make_token(user)
    with acting_for(user.organization):
        admin = world.users["admin@acme.example"]
        tokens.revoke_token(db.session.merge(admin), db.session.get(type(revoked), revoked.id))
        db.session.commit()
    problem = ApiClient(app, raw).get("/me", status=401)
    assert "revoked" in problem["detail"]

    soon, raw = make_token(user, expires_at=utcnow() + timedelta(seconds=1))
    import time_machine

    with time_machine.travel(utcnow() + timedelta(minutes=5)):
        problem = ApiClient(app, raw).get("/me", status=401)
    assert "expired" in problem["detail"]
    assert ApiClient(app, "pt_nonsense").get("/me", status=401)["detail"] == "The API token is not valid."


def test_an_unknown_path_is_a_404_problem(api):
    api("buyer@acme.example").get("/no-such-thing", status=404)
