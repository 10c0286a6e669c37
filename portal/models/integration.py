"""Integration with the companies' own systems: API tokens, idempotent POSTs, webhooks.

- `ApiToken`: a named, scoped credential an organisation admin issues; it acts as one user of
  that organisation (its roles, through the same policies as the pages), further limited to the
  token's scopes. Only the SHA-256 of the secret is stored; the secret is shown once.
- `IdempotencyRecord`: the stored answer to a POST sent with an `Idempotency-Key`, written in
  the same transaction as the action, so a retry replays the answer instead of acting twice.
- `WebhookEndpoint`: a URL an admin registers for some events; `WebhookDelivery`: one event
  sent (or being sent) to one endpoint, with its attempts and the last answer. Deliveries go
  through the outbox (kind "webhook"), so a rolled-back action sends nothing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import Timestamped, utcnow
from portal.models.org import enum_column
from portal.models.types import UTCDateTime
from portal.tenancy import TenantOwned


class ApiToken(Timestamped, TenantOwned, db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    # The token's public start ("pt_3k9x…"), shown in lists so a token can be recognised.
    prefix: Mapped[str] = mapped_column(String(16))
    # SHA-256 (hex) of the whole token: tokens are long random strings, so a fast hash is
    # safe, and every API request looks its token up by this one unique index.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list] = mapped_column(JSON, default=list)  # ["invoices:read", "orders:write"]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # the user the token acts as
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    # Inner: user_id is required. (An outer join of users-joined-to-organizations made SQLite
    # build that whole join for every API request: 7 ms with 7 000 users.)
    user = relationship("User", foreign_keys=[user_id], lazy="joined", innerjoin=True)
    created_by = relationship("User", foreign_keys=[created_by_id])
    revoked_by = relationship("User", foreign_keys=[revoked_by_id])

    __table_args__ = (Index("ix_api_tokens_org_created", "organization_id", "created_at", "id"),)

    def is_live(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class IdempotencyRecord(TenantOwned, db.Model):
    __tablename__ = "api_idempotency_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"))
    key: Mapped[str] = mapped_column(String(255))
    # What the key was first used for: the same key on another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer, default=0)
    response_body: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("token_id", "key"),)


class EndpointStatus(StrEnum):
    ACTIVE = "active"
    FAILING = "failing"  # the last delivery gave up after every retry; deliveries still go out
    DISABLED = "disabled"  # switched off by an admin: nothing is sent


class WebhookEndpoint(Timestamped, TenantOwned, db.Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list] = mapped_column(JSON, default=list)  # ["invoice.issued", ...]
    # The HMAC-SHA256 key; kept in the clear because every delivery is signed with it.
    secret: Mapped[str] = mapped_column(String(80))
    status: Mapped[EndpointStatus] = mapped_column(enum_column(EndpointStatus), default=EndpointStatus.ACTIVE)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    __table_args__ = (Index("ix_webhook_endpoints_org_status", "organization_id", "status", "id"),)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # gave up after every retry (or the endpoint was refused: SSRF guard)


class WebhookDelivery(TenantOwned, db.Model):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event: Mapped[str] = mapped_column(String(60))
    event_id: Mapped[str] = mapped_column(String(40))  # the receiver's de-duplication key
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    endpoint = relationship("WebhookEndpoint")

    __table_args__ = (Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at", "id"),)


# ---------------------------------------------------------------- the API's sync order
# Every API list walks its rows by (updated_at, id) after an optional `updated_since`: one index
# per list and side, so page 1 and page 10 000 cost the same at a million rows.
def _sync_indexes() -> None:
    from portal.models.agreement import PriceAgreement
    from portal.models.budget import Budget
    from portal.models.catalog import Item
    from portal.models.invoice import Invoice
    from portal.models.order import PurchaseOrder
    from portal.models.org import SupplierLink
    from portal.models.requisition import Requisition
    from portal.models.rfq import Quote, Rfq, RfqInvitation

    for model in (Requisition, Rfq, RfqInvitation, Quote, PurchaseOrder, Invoice, Budget, Item,
                  PriceAgreement, SupplierLink):
        table = model.__tablename__
        known = {index.name for index in model.__table__.indexes}
        if model is Requisition:  # a buyer without view_all lists only its own
            Index("ix_requisitions_org_requester_updated", model.organization_id, model.requester_id,
                  model.updated_at, model.id)
        if model is Invoice:  # its lists always pin the kind (invoices, credit notes)
            Index("ix_invoices_org_kind_updated", model.organization_id, model.kind, model.updated_at, model.id)
            Index("ix_invoices_supplier_kind_updated", model.supplier_id, model.kind, model.updated_at, model.id)
            continue
        if f"ix_{table}_org_updated" not in known:
            Index(f"ix_{table}_org_updated", model.organization_id, model.updated_at, model.id)
        if hasattr(model, "supplier_id") and model is not Rfq and f"ix_{table}_supplier_updated" not in known:
            Index(f"ix_{table}_supplier_updated", model.supplier_id, model.updated_at, model.id)
