"""The business clock: what "now" is for RFQ deadlines, sealed openings, late quotes, order
and receipt dates.

Services take `now=None` and fall back to `clock.now()`; tests pass `now=` or replace `now`
here (monkeypatch) to stand before or after a deadline without waiting for one.
"""

from __future__ import annotations

from datetime import datetime

from portal.models.base import utcnow


def now() -> datetime:
    """The current moment, timezone-aware UTC."""
    return utcnow()
