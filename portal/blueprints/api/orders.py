"""Purchase orders and goods receipts (being built: see /work/coord/CONTRACT.md)."""

from __future__ import annotations

from portal.blueprints.api.core import blueprint

bp = blueprint("orders", "Purchase orders and goods receipts")
