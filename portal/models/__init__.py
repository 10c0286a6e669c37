"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from portal.models.audit import AuditEvent
from portal.models.org import LinkStatus, Organization, OrgKind, SupplierLink
from portal.models.user import Invitation, LoginAttempt, PasswordResetToken, User, UserRole

__all__ = [
    "AuditEvent",
    "Invitation",
    "LinkStatus",
    "LoginAttempt",
    "OrgKind",
    "Organization",
    "PasswordResetToken",
    "SupplierLink",
    "User",
    "UserRole",
]
