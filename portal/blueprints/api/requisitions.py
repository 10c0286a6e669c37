"""Requisitions (being built: see /work/coord/CONTRACT.md)."""

from __future__ import annotations

from portal.blueprints.api.core import blueprint

bp = blueprint("requisitions", "Requisitions")
