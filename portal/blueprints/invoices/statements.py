"""The buyer's aging report and statements of account per supplier."""

from portal.blueprints.invoices import bp  # noqa: F401
