"""Audit events are a fixed set (portal.domain.audit_events), each with a label in every
language: no raw event name ("approval.rejectd") reaches a page."""

from __future__ import annotations

import ast
import pathlib

import pytest
from sqlalchemy import delete

from portal.domain.audit_events import EVENT_KINDS, EVENT_OBJECTS, OBJECT_TYPES, UnknownEvent
from portal.extensions import db
from portal.labels import EVENT_LABELS, FIELD_LABELS, OBJECT_TYPE_LABELS
from portal.models import AuditEvent
from portal.services import audit
from tests.conftest import as_system

PORTAL = pathlib.Path(__file__).resolve().parents[2] / "portal"


def test_every_event_kind_has_a_label_and_every_label_an_event():
    assert set(EVENT_LABELS) == set(EVENT_KINDS)
    assert set(OBJECT_TYPE_LABELS) == set(OBJECT_TYPES)
    assert set(EVENT_OBJECTS.values()) <= set(OBJECT_TYPES)


def test_an_event_outside_the_set_is_refused(world):
    with pytest.raises(UnknownEvent, match="approval.rejectd"):
        audit.record(actor=None, action="approval.rejectd", obj=world.acme)


def _recorded_actions() -> set[str]:
    """Every action a service passes to audit.record as a literal (or a module constant)."""
    found = set()
    for path in PORTAL.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {t.id: node.value.value for node in ast.walk(tree)
                     if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                     for t in node.targets if isinstance(t, ast.Name)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "record":
                for kw in node.keywords:
                    if kw.arg == "action" and isinstance(kw.value, ast.Constant):
                        found.add(kw.value.value)
                    elif kw.arg == "action" and isinstance(kw.value, ast.Name) \
                            and kw.value.id in constants:
                        found.add(constants[kw.value.id])
    return found


def test_every_action_the_code_records_is_in_the_set():
    recorded = _recorded_actions()
    assert recorded, "the scan found no audit.record calls"
    assert recorded <= EVENT_KINDS, sorted(recorded - EVENT_KINDS)


@pytest.mark.parametrize("locale", ["en", "pl"])
def test_every_event_kind_renders_with_its_label_in_both_languages(world, login_as, locale):
    admin = world.user("admin@acme")
    with as_system():
        db.session.execute(delete(AuditEvent).where(AuditEvent.organization_id == world.acme.id))
        for action in sorted(EVENT_KINDS):
            db.session.add(AuditEvent(organization_id=world.acme.id, actor_id=admin.id,
                                      action=action, object_type=EVENT_OBJECTS[action],
                                      object_id=999_999, summary={}))
        admin.locale = locale
        db.session.commit()
    client = login_as(admin)
    shown = ""
    query = "/admin/audit"
    while query:  # every page of the log
        page = client.get(query).text
        shown += page
        older = page.split('rel="next"')[0].rsplit('href="', 1)[-1].split('"')[0] \
            if 'rel="next"' in page else None
        query = older.replace("&amp;", "&") if older else None
    assert shown.count('data-testid="audit-row"') == len(EVENT_KINDS)
    for action in EVENT_KINDS:
        assert f">{action}<" not in shown, action
        assert f">{EVENT_LABELS[action]}<" in shown or locale == "pl", action
    for type_name in ("ApprovalPolicy", "SupplierLink", "CostCenter", "Item", "Organization"):
        assert f"{type_name} #" not in shown, type_name  # a type by its label, not its class
    if locale == "pl":
        from flask_babel import force_locale

        with force_locale("pl"):
            polish = {action: str(label) for action, label in EVENT_LABELS.items()}
            fields = {name: str(label) for name, label in FIELD_LABELS.items()}
        with force_locale("en"):
            english = {action: str(label) for action, label in EVENT_LABELS.items()}
            english_fields = {name: str(label) for name, label in FIELD_LABELS.items()}
        untranslated = sorted(a for a in EVENT_KINDS if polish[a] == english[a])
        assert not untranslated, untranslated
        assert not sorted(n for n in fields if fields[n] == english_fields[n])
        for action in EVENT_KINDS:
            assert f">{polish[action]}<" in shown, action


def test_changed_values_read_the_readers_way(app):
    from flask_babel import force_locale

    from portal.labels import change_value, field_label

    with app.test_request_context(), force_locale("en"):
        assert change_value("approver_kind", "group") == "A group of people"
        assert change_value("roles", ["approver", "admin"]) == "Approver, Admin"
        assert change_value("decide_once", True) == "yes"
        assert change_value("escalation_user", None) == "—"
        assert change_value("members", ["Ewa", "Zofia"]) == "Ewa, Zofia"
        assert change_value("approval_limit", "10000.00") == "10,000.00"
        assert field_label("min_amount") == "Amount at or above"
    with app.test_request_context(), force_locale("pl"):
        assert change_value("approval_limit", "10000.00") == "10\xa0000,00"
        assert "PLN" not in change_value("min_amount", "15000.00", "PLN")
