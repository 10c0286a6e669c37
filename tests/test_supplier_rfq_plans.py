"""The supplier's RFQ list (/supplier/rfqs) and its "to answer" count read one supplier's
invitations from the invitation indexes, with the RFQ's status and deadline copied on each
invitation: never a walk driven by the RFQs, never a sort in a temporary B-tree. SQLite's
EXPLAIN QUERY PLAN of the statements the pages really send; deterministic, no timing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from portal.extensions import db
from portal.models import Rfq, RfqInvitation
from portal.models.rfq import InvitationStatus, RfqStatus
from portal.services import clock
from tests.conftest import as_system
from tests.listdata import captured_selects, next_page, plan

TO_ANSWER = "ix_rfq_invitations_supplier_status_rfq_deadline"
BY_RFQ_STATUS = "ix_rfq_invitations_supplier_rfq_status_created"
NEWEST = "ix_rfq_invitations_supplier_created"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
# (RFQ status, invitation status, deadline from NOW) in turn: open ones to answer, answered,
# missed, decided and cancelled ones.
KINDS = [
    (RfqStatus.OPEN, InvitationStatus.INVITED, timedelta(days=3)),
    (RfqStatus.OPEN, InvitationStatus.QUOTED, timedelta(days=2)),
    (RfqStatus.OPEN, InvitationStatus.INVITED, -timedelta(hours=2)),
    (RfqStatus.CLOSED, InvitationStatus.DECLINED, -timedelta(days=2)),
    (RfqStatus.CLOSED, InvitationStatus.INVITED, -timedelta(days=3)),
    (RfqStatus.AWARDED, InvitationStatus.AWARDED, -timedelta(days=9)),
    (RfqStatus.AWARDED, InvitationStatus.LOST, -timedelta(days=9)),
    (RfqStatus.CANCELLED, InvitationStatus.INVITED, timedelta(days=1)),
    (RfqStatus.DRAFT, InvitationStatus.INVITED, None),
]


def _bulk_rfqs(world, count: int) -> None:
    """`count` RFQs of Acme to Nordwind (and Polbud), in every state, one an hour."""
    from tests.services.sourcing_fixtures import link_of

    acme, buyer = world.acme, world.user("buyer@acme")
    base = NOW - timedelta(days=60)
    with as_system():
        links = [link_of(acme, world.nordwind), link_of(acme, world.polbud)]
        rows = []
        for i in range(count):
            status, _, ahead = KINDS[i % len(KINDS)]
            rows.append({
                "organization_id": acme.id, "number": f"RFQ-BULK-{i:05d}", "title": f"Zapytanie {i}",
                "status": status, "currency": "PLN", "created_by_id": buyer.id,
                "deadline": None if ahead is None else NOW + ahead + timedelta(seconds=i),
                "created_at": base + timedelta(hours=i), "updated_at": base + timedelta(hours=i)})
        ids = list(db.session.scalars(insert(Rfq).returning(Rfq.id), rows))
        db.session.execute(insert(RfqInvitation), [{
            "organization_id": acme.id, "supplier_id": link.supplier_id, "link_id": link.id,
            "rfq_id": rfq_id, "status": KINDS[i % len(KINDS)][1], "rfq_status": row["status"],
            "rfq_deadline": row["deadline"], "created_at": row["created_at"],
        } for i, (rfq_id, row) in enumerate(zip(ids, rows, strict=True)) for link in links])
        db.session.commit()


@pytest.fixture
def rfq_lists(world, app, monkeypatch):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's")
    monkeypatch.setattr(clock, "now", lambda: NOW)
    _bulk_rfqs(world, 9 * 60)
    return world


def _steps(statement: str, parameters) -> str:
    return " | ".join(plan(statement, parameters))


def _is_to_answer(statement: str) -> bool:
    """The "to answer" rows or count (the tab's own, its badge on every tab, the dashboard's)."""
    return "rfq_invitations.rfq_deadline > ?" in statement and "NOT (" not in statement


@pytest.mark.usefixtures("uncached_lists")
def test_every_tab_reads_the_invitation_indexes_and_never_sorts(rfq_lists, login_as):
    client = login_as(rfq_lists.user("sales@nordwind"))
    # The closed tab is most of a supplier's history: newest first, filtered as it walks; its
    # bounded count may walk the supplier's invitations in any order.
    expected = {"to_answer": (TO_ANSWER,), "answered": (BY_RFQ_STATUS,),
                "closed": (NEWEST, "ix_rfq_invitations_supplier_id")}
    checked = set()
    for tab, indexes in expected.items():
        url = f"/supplier/rfqs?tab={tab}"
        second = next_page(client.get(url).text)
        assert second, tab  # 60 rows and more in every tab: a deeper page, and a count
        for page_url in (url, second):
            statements = captured_selects(client, page_url, "FROM rfq_invitations")
            assert statements, page_url
            for statement, parameters in statements:
                text = _steps(statement, parameters)
                kind = "count" if "count(*)" in statement else "rows"
                if _is_to_answer(statement):
                    used = (TO_ANSWER,)
                    checked.add(("to_answer", kind))
                else:
                    used = indexes if kind == "count" else indexes[:1]
                    checked.add((tab, kind))
                assert any(f"USING INDEX {i} " in text or f"USING COVERING INDEX {i} " in text
                           for i in used), f"{page_url} {kind}: {text}"
                # Driven by the invitations: the RFQ only looked up by its key for a listed row,
                # never scanned, never sorted; a count reads no RFQ at all.
                assert "SCAN rfqs" not in text and "SCAN rfq_invitations" not in text.replace(
                    "SCAN rfq_invitations USING", ""), f"{page_url}: {text}"
                assert "TEMP B-TREE" not in text and "AUTOMATIC" not in text, f"{page_url}: {text}"
                if kind == "count":
                    assert "rfqs" not in text.replace("rfq_invitations", ""), f"{page_url}: {text}"
    # The only count is the "to answer" badge (bounded at 99): the list shows no total, so its
    # page counts none (a count of up to 1 001 ids, 1-2 ms at 1M requisitions, thrown away).
    assert checked == {(tab, "rows") for tab in expected} | {("to_answer", "count")}


def test_the_quotes_beside_the_rows_are_read_by_their_unique_key(rfq_lists, login_as):
    """The supplier's quote per listed invitation: looked up by (RFQ, supplier), never by
    walking all the supplier's quotes (there is no index on quotes.invitation_id)."""
    client = login_as(rfq_lists.user("sales@nordwind"))
    for tab in ("to_answer", "answered", "closed"):
        statements = captured_selects(client, f"/supplier/rfqs?tab={tab}", "FROM quotes")
        assert len(statements) == 1, tab
        text = _steps(*statements[0])
        assert "USING INDEX uq_quotes_rfq_id_supplier_id " in text or "sqlite_autoindex_quotes_1" in text, text
        assert "MULTI-INDEX OR" not in text and "SCAN quotes" not in text, text


def test_the_supplier_dashboard_reads_the_to_answer_index(rfq_lists, login_as):
    """The dashboard's "RFQs to answer" widget: its rows and its count."""
    client = login_as(rfq_lists.user("sales@nordwind"))
    statements = [(s, p) for s, p in captured_selects(client, "/", "FROM rfq_invitations") if _is_to_answer(s)]
    assert len(statements) == 2
    for statement, parameters in statements:
        text = _steps(statement, parameters)
        assert f"USING INDEX {TO_ANSWER} " in text or f"USING COVERING INDEX {TO_ANSWER} " in text, text
        assert "SCAN rfqs" not in text, text
        if "count(*)" in statement:  # the widgets' counts: cap + 1 ids each, grouped by widget
            assert "rfqs" not in text.replace("rfq_invitations", ""), text
        else:
            assert "TEMP B-TREE" not in text, text


def test_the_tabs_list_what_they_did(rfq_lists, login_as):
    """The copied status and deadline split the tabs as the RFQ's own did."""
    from portal.services.sourcing import quotes
    from tests.conftest import as_org

    nordwind = rfq_lists.nordwind
    with as_org(nordwind):
        seen = {}
        for tab in ("to_answer", "answered", "closed"):
            page = quotes.supplier_rfq_page(nordwind.id, tab=tab, now=NOW, per_page=1000)
            seen[tab] = {(inv.rfq.status, inv.status, inv.rfq.deadline is not None and inv.rfq.deadline > NOW)
                         for inv in page.items}
        assert quotes.tab_counts(nordwind.id, now=NOW) == {"to_answer": 60}
        assert len(seen) == 3
    assert seen["to_answer"] == {(RfqStatus.OPEN, InvitationStatus.INVITED, True)}
    assert seen["answered"] == {(RfqStatus.OPEN, InvitationStatus.QUOTED, True),
                                (RfqStatus.CLOSED, InvitationStatus.DECLINED, False)}
    assert seen["closed"] == {
        (RfqStatus.OPEN, InvitationStatus.INVITED, False), (RfqStatus.CLOSED, InvitationStatus.INVITED, False),
        (RfqStatus.AWARDED, InvitationStatus.AWARDED, False), (RfqStatus.AWARDED, InvitationStatus.LOST, False),
        (RfqStatus.CANCELLED, InvitationStatus.INVITED, True)}
