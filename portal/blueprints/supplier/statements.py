"""The supplier's aging report and statements of account per customer."""

from portal.blueprints.supplier import bp  # noqa: F401
