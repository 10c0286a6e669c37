"""The buyer's invoice pages: list, detail, approve, dispute, payments, downloads."""

from portal.blueprints.invoices import bp  # noqa: F401
