"""The business clock: what "now" is for RFQ deadlines, sealed openings, late quotes, order
and receipt dates, and what "today" is where an organisation is.

Services take `now=None` and fall back to `clock.now()`; tests pass `now=` or replace `now`
here (monkeypatch) to stand before or after a deadline without waiting for one.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from portal.models.base import utcnow

DEFAULT_ZONE = "Europe/Warsaw"


def now() -> datetime:
    """The current moment, timezone-aware UTC."""
    return utcnow()


def today_for(org, at: datetime | None = None) -> date:
    """Today where the organisation is (its `time_zone`; Warsaw when it has none or an unknown
    one): a receipt dated "today" at 00:30 in Warsaw is still yesterday in UTC."""
    moment = at or now()
    try:
        zone = ZoneInfo(getattr(org, "time_zone", None) or DEFAULT_ZONE)
    except (KeyError, ValueError):
        zone = ZoneInfo(DEFAULT_ZONE)
    return moment.astimezone(zone).date()
