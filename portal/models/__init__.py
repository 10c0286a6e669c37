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

from portal.models.approval import (  # noqa: E402
    ApprovalAssignment,
    ApprovalPolicy,
    ApprovalStep,
    ApprovalStepMember,
    ApprovalTask,
    DecisionToken,
    Delegation,
)
from portal.models.catalog import Category, CostCenter, Item  # noqa: E402
from portal.models.notification import Notification  # noqa: E402
from portal.models.requisition import (  # noqa: E402
    Attachment,
    Comment,
    DocumentCounter,
    Requisition,
    RequisitionLine,
)

__all__ += [
    "ApprovalAssignment",
    "ApprovalPolicy",
    "ApprovalStep",
    "ApprovalStepMember",
    "ApprovalTask",
    "Attachment",
    "Category",
    "Comment",
    "CostCenter",
    "DecisionToken",
    "Delegation",
    "DocumentCounter",
    "Item",
    "Notification",
    "Requisition",
    "RequisitionLine",
]

from portal.models.budget import Budget, BudgetEntry, BudgetRevision  # noqa: E402

__all__ += ["Budget", "BudgetEntry", "BudgetRevision"]

from portal.models.badge import BadgeVersion  # noqa: E402

__all__ += ["BadgeVersion"]

from portal.models.outbox import OutboxMessage, OutboxStatus  # noqa: E402

__all__ += ["OutboxMessage", "OutboxStatus"]

from portal.models.policy_version import ApprovalPolicyVersion  # noqa: E402

__all__ += ["ApprovalPolicyVersion"]

from portal.models.submission import SubmissionToken  # noqa: E402

__all__ += ["SubmissionToken"]

from portal.models.agreement import PriceAgreement  # noqa: E402

__all__ += ["PriceAgreement"]

from portal.models.rfq import (  # noqa: E402
    InvitationStatus,
    Quote,
    QuoteAttachment,
    QuoteLine,
    QuoteRevision,
    QuoteStatus,
    Rfq,
    RfqAttachment,
    RfqAward,
    RfqClarification,
    RfqInvitation,
    RfqLine,
    RfqQuestion,
    RfqStatus,
)

__all__ += [
    "InvitationStatus", "Quote", "QuoteAttachment", "QuoteLine", "QuoteRevision", "QuoteStatus",
    "Rfq", "RfqAttachment", "RfqAward", "RfqClarification", "RfqInvitation", "RfqLine",
    "RfqQuestion", "RfqStatus",
]

from portal.models.order import (  # noqa: E402
    GoodsReceipt,
    GoodsReceiptLine,
    OrderSource,
    OrderStatus,
    PurchaseOrder,
    PurchaseOrderDocument,
    PurchaseOrderLine,
)

__all__ += [
    "GoodsReceipt", "GoodsReceiptLine", "OrderSource", "OrderStatus", "PurchaseOrder",
    "PurchaseOrderDocument", "PurchaseOrderLine",
]

from portal.models.price_proposal import (  # noqa: E402
    LineDecision,
    PriceProposal,
    PriceProposalLine,
    ProposalStatus,
)

__all__ += ["LineDecision", "PriceProposal", "PriceProposalLine", "ProposalStatus"]

from portal.models.invoice import (  # noqa: E402
    Invoice,
    InvoiceDocument,
    InvoiceKind,
    InvoiceLine,
    InvoiceReminder,
    InvoiceStatus,
    MatchStatus,
    Payment,
)
from portal.models.invoice_aging import OpenCount, OpenDay, OpenParty  # noqa: E402
from portal.models.invoice_totals import AccountDay, OpenAmount  # noqa: E402
from portal.models.org import InvoicingMode  # noqa: E402

__all__ += [
    "Invoice", "InvoiceDocument", "InvoiceKind", "InvoiceLine", "InvoiceReminder", "InvoiceStatus",
    "InvoicingMode", "MatchStatus", "Payment",
]
__all__ += ["AccountDay", "OpenAmount", "OpenCount", "OpenDay", "OpenParty"]

from portal.models.integration import (  # noqa: E402
    ApiToken,
    DeliveryStatus,
    EndpointStatus,
    IdempotencyRecord,
    WebhookDelivery,
    WebhookEndpoint,
    _sync_indexes,
)

_sync_indexes()

__all__ += ["ApiToken", "DeliveryStatus", "EndpointStatus", "IdempotencyRecord", "WebhookDelivery",
            "WebhookEndpoint"]
