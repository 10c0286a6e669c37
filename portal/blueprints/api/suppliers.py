"""Supplier links and customers (being built: see /work/coord/CONTRACT.md)."""

from __future__ import annotations

from portal.blueprints.api.core import blueprint

bp = blueprint("suppliers", "Supplier links and customers")
