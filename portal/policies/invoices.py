"""Rules of invoices on the buyer's side: reading received invoices, approving them for payment
(a mismatched one only by an admin with a reason), disputing, recording payments, statements."""

from __future__ import annotations
