"""The demo world's integration settings (portal/services/demo_integration.py): the three
documented API tokens work with their fixed secrets, Acme's webhook endpoint is failing with
deliveries in every state, and seeding again adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.models.integration import ApiToken, WebhookDelivery, WebhookEndpoint
from portal.services.demo import seed_demo
from portal.services.demo_integration import DEMO_ENDPOINT_URL, DEMO_TOKENS, seed_integration
from portal.services.integration import tokens
from portal.tenancy import system


def _counts() -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (ApiToken, WebhookEndpoint, WebhookDelivery))


def test_demo_tokens_endpoint_and_deliveries(app, world, client):
    with system(db.session):
        built = seed_demo()
        db.session.commit()
        for key, name, email, secret in DEMO_TOKENS:
            token = tokens.find(db.session, secret)
            assert token is not None, name
            assert token.name == name and token.user.email == email
            assert token.organization_id == built["orgs"][key].id
            assert set(token.scopes) == set(tokens.api_scopes.ALL_SCOPES) and token.is_live()
        [endpoint] = db.session.scalars(select(WebhookEndpoint).where(
            WebhookEndpoint.url == DEMO_ENDPOINT_URL)).all()
        assert endpoint.organization_id == built["orgs"]["acme"].id
        assert endpoint.status == "failing" and endpoint.failing_since is not None
        states = {d.status for d in db.session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id))}
        assert states == {"delivered", "failed", "pending"}
        before = _counts()
        seed_integration(built)
        db.session.commit()
        assert _counts() == before

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {DEMO_TOKENS[1][3]}"})
    assert me.status_code == 200 and me.json["user"] == "sales@nordwind.example"


def test_the_base_world_has_no_tokens(world):
    with system(db.session):
        assert _counts() == (0, 0, 0)
