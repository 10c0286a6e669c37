"""Template filters of the requisition pages. Unit prices and quantities are `portal.i18n`'s
(`|unit_price`, `|qty`, registered with the other formatting filters in `create_app`)."""

from __future__ import annotations

from decimal import Decimal

from portal import i18n
from portal.blueprints.requisitions import bp


@bp.app_template_filter("vat_rate")
def vat_rate(value: Decimal | None) -> str:
    """`23 %`, `5,5 %` in Polish, `5.5 %` in English."""
    return f"{i18n.number(value, max_places=2)} %" if value is not None else ""
