"""The supplier's credit limit, seen from invoicing: what the buyer owes or has ordered.

The check runs when an order is issued, so it lives with the orders
(`portal.services.orders.credit`: orders may not import invoicing, which reads orders); this
module names the same functions for the invoicing side."""

from portal.services.orders.credit import (
    CreditLimitExceeded,
    CreditOverride,
    check_credit,
    exposure,
    record_override,
    uninvoiced_orders,
    unpaid_invoices,
)

__all__ = ["CreditLimitExceeded", "CreditOverride", "check_credit", "exposure", "record_override",
           "uninvoiced_orders", "unpaid_invoices"]
