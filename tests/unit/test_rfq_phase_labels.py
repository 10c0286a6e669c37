"""The RFQ phases read the same everywhere the buyer sees them: one table of words and badge
colours (portal.labels.RFQ_PHASE_LABELS / RFQ_PHASE_KINDS) for the list, the pages and the CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from portal import labels
from portal.domain import rfq as rules
from portal.models.rfq import RfqStatus

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_every_phase_has_one_word_and_one_colour(app):
    phases = {rules.phase(SimpleNamespace(status=s, deadline=NOW + timedelta(days=d)), NOW)
              for s in RfqStatus for d in (-1, 1)}
    assert phases == {*(s.value for s in RfqStatus), "deadline_passed"}
    assert set(labels.RFQ_PHASE_LABELS) == set(labels.RFQ_PHASE_KINDS) == phases
    with app.test_request_context():
        assert labels.rfq_phase_label("deadline_passed") == "Deadline passed"
        assert labels.rfq_phase_kind("awarded") == "ok"
        assert app.jinja_env.globals["rfq_phase_label"] is labels.rfq_phase_label
        rendered = app.jinja_env.from_string(
            '{% from "rfqs/_macros.html" import status_badge %}{{ status_badge("open") }}').render()
        assert 'badge-info' in rendered and "Open for quotes" in rendered
