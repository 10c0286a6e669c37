"""The supplier's invoices: drafts from orders or consolidated, issue, credit notes, downloads."""

from portal.blueprints.supplier import bp  # noqa: F401
