"""`GET /api/v1/me`: who the token is (organisation, the user it acts as, its scopes)."""

from __future__ import annotations

from marshmallow import Schema, fields

from portal.blueprints.api.core import actor, blueprint, token
from portal.blueprints.api.schemas import Party
from portal.services import clock

bp = blueprint("me", "The calling token: its organisation, user and scopes")


class MeSchema(Schema):
    organization = fields.Nested(Party)
    organization_kind = fields.String(metadata={"description": "buyer or supplier"})
    time_zone = fields.String(metadata={
        "description": "the organisation's time zone (IANA): dates such as paid_on and received_on "
                       "are its days, and a date later than its today is refused"})
    user = fields.Email(metadata={"description": "the user the token acts as"})
    roles = fields.List(fields.String())
    token = fields.String(metadata={"description": "the token's name"})
    scopes = fields.List(fields.String())
    expires_at = fields.AwareDateTime(allow_none=True)


@bp.route("/me", methods=["GET"])
@bp.response(200, MeSchema)
def me():
    user, used = actor(), token()
    org = user.organization
    return {"organization": org, "organization_kind": str(org.kind),
            "time_zone": org.time_zone or clock.DEFAULT_ZONE, "user": user.email,
            "roles": sorted(str(r) for r in user.roles), "token": used.name, "scopes": used.scopes,
            "expires_at": used.expires_at}
