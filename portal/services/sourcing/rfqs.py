"""The buyer's RFQs: drafting (from approved requisition lines or typed lines), inviting active
suppliers, files, publishing with a response deadline, amendments, cancel, close, the sealed
opening and clarifications. The reads (lists, detail helpers) are in `rfq_queries`.

Every function takes the actor explicitly, checks the policy (`portal/policies/rfqs.py`),
applies the domain's rules (`portal.domain.rfq`), writes the audit trail, tells the invited
suppliers through `notify_organization`, and flushes; the caller commits. Time comes from the
sourcing clock: `now=None` means `clock.now()`.
"""

from __future__ import annotations

from portal.services.sourcing.rfq_drafting import (  # noqa: F401
    DEFAULT_TIME_ZONE,
    MAX_ATTACHMENTS,
    SUPPLIER_RFQ,
    FieldProblem,
    add_attachment,
    add_line,
    create_rfq,
    invite,
    remove_line,
    rfq_buyer_name,
    source_requisitions,
    uninvite,
    update_rfq,
)
from portal.services.sourcing.rfq_lifecycle import (  # noqa: F401
    amend,
    answer_question,
    cancel,
    close,
    expire_deadlines,
    open_quotes,
    publish,
    publish_clarification,
)
from portal.services.sourcing.rfq_queries import (  # noqa: F401
    VIEWS,
    get_for_buyer,
    rfq_page,
)
