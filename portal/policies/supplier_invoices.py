"""Rules of invoices on the supplier's side: drafting, editing drafts, issuing, credit notes,
reading its own invoices and statements."""

from __future__ import annotations
