"""No stored text carries a formatted number (issue 8, point 7): what the portal writes for
later (routing reasons, budget notes, notifications, audit summaries) keeps amounts and dates
typed, and each reader sees them in their own locale."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import ApprovalTask, AuditEvent, BudgetEntry, Notification
from portal.services.demo import seed_demo
from portal.tenancy import system

# "1,234.50", "1 234,50", "60,000", "PLN1,234.50", "12,00 zł", "€5": a number written for a
# reader. (The canonical "1234.50" of a Decimal is data, not formatting.)
FORMATTED = re.compile(
    r"\d{1,3}(?:[,\u00a0\u202f ]\d{3})+(?:[.,]\d+)?|\d[.,]\d\d(?:\s|\u00a0)?(?:zł|€|PLN|EUR)"
    r"|(?:PLN|EUR|€)\s?\d")
# What people typed (a title, an item's name, a step's name) is theirs, numbers and all.
USER_TEXT = {"title", "name", "sku", "description", "comment", "step", "budget", "delegate",
             "file", "email", "to", "reason", "number", "code"}


def _strings(value, path="") -> list[tuple[str, str]]:
    """Every string inside a stored JSON value, with where it is."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [found for key, item in value.items() if key not in USER_TEXT
                for found in _strings(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in _strings(item, f"{path}[{i}]")]
    return []


@pytest.fixture
def demo(app, world):
    with system(db.session):
        seed_demo()
        db.session.commit()


def test_the_demo_world_stores_no_formatted_number(demo):
    stored = []
    with system(db.session):
        for task in db.session.scalars(select(ApprovalTask)):
            stored += [(f"task {task.id} reason", task.reason)]
            stored += [(f"task {task.id} params{p}", s) for p, s in _strings(task.reason_params)]
        for note in db.session.scalars(select(Notification)):
            stored += [(f"notification {note.id}{p}", s) for p, s in _strings(note.message)]
        for entry in db.session.scalars(select(BudgetEntry)):
            stored += [(f"budget entry {entry.id} note", entry.note)]
            stored += [(f"budget entry {entry.id}{p}", s) for p, s in _strings(entry.note_params)]
        for event in db.session.scalars(select(AuditEvent)):
            stored += [(f"audit {event.action}{p}", s) for p, s in _strings(event.summary)]
    assert len(stored) > 100  # the demo's trails are there to look at
    formatted = [(where, text) for where, text in stored if FORMATTED.search(text or "")]
    assert formatted == [], json.dumps(formatted[:10], ensure_ascii=False)
