"""Rules of the integration settings: API tokens and webhook endpoints.

Both are the organisation admin's (buyer admin or supplier admin): a token acts for the whole
organisation's data within its scopes, and a webhook sends its documents' events out."""

from __future__ import annotations

from portal.policies.core import org_admin, rule


@rule("integration.manage")
def _integration_manage(user, obj) -> bool:
    return org_admin(user)
