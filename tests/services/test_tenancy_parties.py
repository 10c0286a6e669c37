"""Tenancy for documents with several parties (portal/tenancy/), on test-only models.

Acme's tender T1 is addressed to Nordwind and Polbud, T2 to Nordwind only; Globex's tender G1
to Nordwind. Orders O1 (Acme → Polbud), O2 (Acme → Nordwind), O3 (Globex → Nordwind); Polbud's
offer P1 to Acme. Solo is a supplier linked to Globex only. The personas: the owner (Acme),
each invited supplier, an uninvited one (Solo), a supplier whose link is blocked (Polbud, after
Acme blocks it) and another buyer (Globex).
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.orm.exc import ObjectDeletedError

from portal.errors import TenantViolation
from portal.extensions import db
from portal.models import LinkStatus, Organization, OrgKind, SupplierLink, User
from portal.tenancy import (
    ALL_FIELDS,
    BUYER,
    SharedDocument,
    TenantScope,
    bound,
    bound_to,
    current_scope,
    for_each_organization,
    scope_for,
)
from tests.conftest import as_org, as_system
from tests.tenancy_models import (
    MODELS,
    DeliveryNote,
    LineNote,
    Offer,
    Order,
    OrderLine,
    PartiesBase,
    Tender,
    TenderInvitation,
    TenderLine,
    create_tables,
    drop_tables,
    empty_tables,
)

# What each persona sees, by model, by label.
SEES = {
    "owner": {
        Tender: {"T1", "T2"},
        TenderInvitation: {"T1/nordwind", "T1/polbud", "T2/nordwind"},
        TenderLine: {"T1.a", "T1.b", "T2.a"},
        LineNote: {"T1.a!"},
        Order: {"O1", "O2"},
        OrderLine: {"O1.a", "O2.a"},
        DeliveryNote: {"O1 delivered"},
        Offer: {"P1"},
    },
    "nordwind": {
        Tender: {"T1", "T2", "G1"},
        TenderInvitation: {"T1/nordwind", "T2/nordwind", "G1/nordwind"},
        TenderLine: {"T1.a", "T1.b", "T2.a", "G1.a"},
        LineNote: {"T1.a!"},
        Order: {"O2", "O3"},
        OrderLine: {"O2.a", "O3.a"},
        DeliveryNote: set(),
        Offer: set(),
    },
    "polbud": {
        Tender: {"T1"},
        TenderInvitation: {"T1/polbud"},
        TenderLine: {"T1.a", "T1.b"},
        LineNote: {"T1.a!"},
        Order: {"O1"},
        OrderLine: {"O1.a"},
        DeliveryNote: {"O1 delivered"},
        Offer: {"P1"},
    },
    "uninvited": {model: set() for model in MODELS},
    "other_buyer": {
        Tender: {"G1"},
        TenderInvitation: {"G1/nordwind"},
        TenderLine: {"G1.a"},
        LineNote: set(),
        Order: {"O3"},
        OrderLine: {"O3.a"},
        DeliveryNote: set(),
        Offer: set(),
    },
}
# A blocked supplier keeps reading what was addressed to it.
SEES["blocked"] = SEES["polbud"]
PERSONAS = sorted(SEES)


@pytest.fixture(scope="module")
def _tables(app):
    with app.app_context():
        create_tables()
    yield
    with app.app_context():
        drop_tables()


@pytest.fixture
def parties(world, _tables):
    """The documents above, committed; `ids[model][label]` and `org[persona]`."""
    acme, globex, nordwind, polbud = world.acme, world.globex, world.nordwind, world.polbud
    ids: dict = {}
    with as_system():
        solo = Organization(kind=OrgKind.SUPPLIER, name="Solo", legal_name="Solo Sp. z o.o.",
                            tax_id="7740001454", country="PL", currency="PLN")
        db.session.add(solo)
        db.session.flush()
        db.session.add(SupplierLink(organization_id=globex.id, supplier_id=solo.id,
                                    currency="PLN", status=LinkStatus.ACTIVE))

        def tender(label, buyer, suppliers, lines):
            doc = Tender(organization_id=buyer.id, title=label)
            doc.invitations = [
                TenderInvitation(organization_id=buyer.id, supplier_id=s.id,
                                 note=f"{label}/{key}")
                for key, s in suppliers.items()
            ]
            doc.lines = [TenderLine(description=f"{label}.{line}") for line in lines]
            db.session.add(doc)
            return doc

        t1 = tender("T1", acme, {"nordwind": nordwind, "polbud": polbud}, "ab")
        tender("T2", acme, {"nordwind": nordwind}, "a")
        tender("G1", globex, {"nordwind": nordwind}, "a")
        t1.lines[0].notes = [LineNote(text="T1.a!")]
        for label, buyer, supplier in (("O1", acme, polbud), ("O2", acme, nordwind),
                                       ("O3", globex, nordwind)):
            order = Order(organization_id=buyer.id, supplier_id=supplier.id, status=label,
                          unit_price=100, lines=[OrderLine(quantity=1)])
            db.session.add(order)
            if label == "O1":
                order.delivery_notes = [DeliveryNote(text="O1 delivered")]
        db.session.add(Offer(organization_id=acme.id, supplier_id=polbud.id, price=90))
        db.session.flush()
        for doc in db.session.scalars(select(Tender)):
            ids.setdefault(Tender, {})[doc.title] = doc.id
            for invitation in doc.invitations:
                ids.setdefault(TenderInvitation, {})[invitation.note] = invitation.id
            for line in doc.lines:
                ids.setdefault(TenderLine, {})[line.description] = line.id
                for note in line.notes:
                    ids.setdefault(LineNote, {})[note.text] = note.id
        for order in db.session.scalars(select(Order)):
            ids.setdefault(Order, {})[order.status] = order.id
            for line in order.lines:
                ids.setdefault(OrderLine, {})[f"{order.status}.a"] = line.id
            for note in order.delivery_notes:
                ids.setdefault(DeliveryNote, {})[note.text] = note.id
        ids[Offer] = {"P1": db.session.scalars(select(Offer.id)).one()}
        db.session.commit()
    org_ids = {"acme": acme.id, "globex": globex.id, "nordwind": nordwind.id,
               "polbud": polbud.id, "solo": solo.id}
    yield SimpleNamespace(ids=ids, org_ids=org_ids)
    empty_tables()


PERSONA_ORG = {"owner": "acme", "nordwind": "nordwind", "polbud": "polbud", "blocked": "polbud",
               "uninvited": "solo", "other_buyer": "globex"}


def _org(parties, key: str):
    """An organisation by key, loaded afresh (tests empty the identity map)."""
    return db.session.get(Organization, parties.org_ids[key])


def _block(parties) -> None:
    with as_system():
        link = db.session.scalars(select(SupplierLink).where(
            SupplierLink.organization_id == parties.org_ids["acme"],
            SupplierLink.supplier_id == parties.org_ids["polbud"],
        )).one()
        link.status = LinkStatus.BLOCKED
        db.session.commit()


def _as(parties, persona: str):
    if persona == "blocked":
        _block(parties)
    db.session.expunge_all()  # session.get() would answer from the identity map
    return as_org(_org(parties, PERSONA_ORG[persona]))


def _labels(parties, model, ids) -> set[str]:
    names = {v: k for k, v in parties.ids[model].items()}
    return {names[i] for i in ids}


def _refused(action) -> None:
    """`action` must be refused by the guard; nothing of it reaches the database."""
    with pytest.raises(TenantViolation):
        action()
        db.session.flush()
    db.session.rollback()


def _get(model, label, parties):
    return db.session.get(model, parties.ids[model][label])


# ------------------------------------------------------------------------------ who sees what


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_party_lists_exactly_its_rows(parties, persona):
    with _as(parties, persona):
        for model in MODELS:
            found = db.session.scalars(select(model.id)).all()
            assert _labels(parties, model, found) == SEES[persona][model], model.__name__
            assert db.session.scalar(select(func.count()).select_from(model)) == len(
                SEES[persona][model]
            ), model.__name__


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_fetch_by_id_finds_only_what_the_party_sees(parties, persona):
    with _as(parties, persona):
        for model in MODELS:
            for label, row_id in parties.ids[model].items():
                found = db.session.get(model, row_id)
                assert (found is not None) == (label in SEES[persona][model]), (model, label)
                found = db.session.scalars(select(model).where(model.id == row_id)).first()
                assert (found is not None) == (label in SEES[persona][model]), (model, label)


@pytest.mark.parametrize("persona", PERSONAS)
def test_joins_aliases_and_subqueries_follow_the_filter(parties, persona):
    with _as(parties, persona):
        line = aliased(TenderLine)
        joined = db.session.execute(
            select(Tender.title, line.description).join(line, line.tender_id == Tender.id)
        ).all()
        assert {d for _, d in joined} == SEES[persona][TenderLine]
        assert {t for t, _ in joined} == {t for t in SEES[persona][Tender]}
        with_lines = db.session.scalars(
            select(Tender.title).where(Tender.id.in_(select(TenderLine.tender_id)))
        ).all()
        assert set(with_lines) == SEES[persona][Tender]
        invited = db.session.scalars(
            select(Tender.title).join(Tender.invitations).distinct()
        ).all()
        assert set(invited) == SEES[persona][Tender]


@pytest.mark.parametrize("loader", ["lazy", selectinload, joinedload])
def test_an_invited_supplier_loads_only_its_own_participation(parties, loader):
    def tender_t1():
        query = select(Tender).where(Tender.id == parties.ids[Tender]["T1"])
        if loader != "lazy":
            query = query.options(loader(Tender.invitations), loader(Tender.lines))
        return db.session.scalars(query).unique().one()

    with _as(parties, "polbud"):
        t1 = tender_t1()
        assert [i.note for i in t1.invitations] == ["T1/polbud"]
        assert [line.description for line in t1.lines] == ["T1.a", "T1.b"]
        assert [n.text for n in t1.lines[0].notes] == ["T1.a!"]
    with _as(parties, "owner"):
        t1 = tender_t1()
        assert [i.note for i in t1.invitations] == ["T1/nordwind", "T1/polbud"]
    with _as(parties, "nordwind"):
        t1 = tender_t1()
        assert [i.note for i in t1.invitations] == ["T1/nordwind"]


def test_a_participation_row_of_another_buyer_does_not_open_a_tender(parties):
    """Globex cannot make its supplier see Acme's tender by pointing an invitation of its own
    at that tender: the participation must come from the document's owner."""
    with as_system():
        db.session.delete(db.session.get(TenderInvitation,
                                         parties.ids[TenderInvitation]["T2/nordwind"]))
        db.session.commit()
    with as_org(_org(parties, "globex")):
        db.session.add(TenderInvitation(organization_id=parties.org_ids["globex"],
                                        supplier_id=parties.org_ids["nordwind"],
                                        tender_id=parties.ids[Tender]["T2"], note="sneaky"))
        db.session.commit()
    with _as(parties, "nordwind"):
        assert set(db.session.scalars(select(Tender.title))) == {"T1", "G1"}
        assert _get(Tender, "T2", parties) is None
        assert _get(TenderLine, "T2.a", parties) is None


# ------------------------------------------------------------------------- who writes what


def test_an_invited_supplier_writes_its_own_fields_and_nothing_else(parties):
    with _as(parties, "polbud"):
        invitation = _get(TenderInvitation, "T1/polbud", parties)
        invitation.response = "We quote"
        db.session.flush()
        order = _get(Order, "O1", parties)
        order.acknowledged = True
        db.session.add(DeliveryNote(order_id=order.id, text="second delivery"))
        offer = _get(Offer, "P1", parties)
        offer.price = 85
        db.session.add(Offer(organization_id=parties.org_ids["acme"],
                             supplier_id=parties.org_ids["polbud"], price=70))
        db.session.commit()

        _refused(lambda: setattr(_get(TenderInvitation, "T1/polbud", parties), "note", "x"))
        _refused(lambda: setattr(_get(Order, "O1", parties), "unit_price", 1))
        _refused(lambda: setattr(_get(Offer, "P1", parties), "status", "awarded"))
        _refused(lambda: setattr(_get(Tender, "T1", parties), "title", "Mine now"))
        _refused(lambda: db.session.add(TenderLine(tender_id=parties.ids[Tender]["T1"],
                                                   description="extra")))
        _refused(lambda: setattr(_get(TenderLine, "T1.a", parties), "description", "cheaper"))
        _refused(lambda: setattr(_get(OrderLine, "O1.a", parties), "quantity", 99))
        _refused(lambda: db.session.delete(_get(OrderLine, "O1.a", parties)))
        _refused(lambda: db.session.add(TenderInvitation(
            organization_id=parties.org_ids["acme"], supplier_id=parties.org_ids["polbud"],
            tender_id=parties.ids[Tender]["T2"])))
        _refused(lambda: db.session.add(Order(organization_id=parties.org_ids["acme"],
                                              supplier_id=parties.org_ids["polbud"])))
        # Readdressing a visible row to oneself, or to another party, is a write of a party.
        _refused(lambda: setattr(_get(Offer, "P1", parties), "supplier_id",
                                 parties.org_ids["nordwind"]))
    with as_system():
        assert db.session.get(Order, parties.ids[Order]["O1"]).unit_price == 100
        assert db.session.get(Tender, parties.ids[Tender]["T1"]).title == "T1"


def test_the_owner_writes_its_fields_and_not_the_suppliers(parties):
    with _as(parties, "owner"):
        _get(Order, "O1", parties).unit_price = 120
        _get(Offer, "P1", parties).status = "awarded"
        _get(TenderInvitation, "T1/polbud", parties).note = "reminded"
        _get(OrderLine, "O1.a", parties).quantity = 3
        tender = _get(Tender, "T1", parties)
        tender.title = "T1 revised"
        tender.lines.append(TenderLine(description="T1.c"))
        db.session.commit()

        _refused(lambda: setattr(_get(Order, "O1", parties), "acknowledged", True))
        _refused(lambda: setattr(_get(Offer, "P1", parties), "price", 1))
        _refused(lambda: setattr(_get(TenderInvitation, "T1/polbud", parties), "response", "x"))
        _refused(lambda: db.session.add(Offer(organization_id=parties.org_ids["acme"],
                                              supplier_id=parties.org_ids["polbud"])))
        _refused(lambda: db.session.add(DeliveryNote(order_id=parties.ids[Order]["O1"],
                                                     text="forged")))
        _refused(lambda: db.session.delete(_get(Offer, "P1", parties)))
        # Moving a line into another company's tender is a write there.
        _refused(lambda: setattr(_get(TenderLine, "T1.a", parties), "tender_id",
                                 parties.ids[Tender]["G1"]))


@pytest.mark.parametrize("persona", ["uninvited", "other_buyer", "nordwind"])
def test_outsiders_write_nothing_even_holding_the_objects(parties, persona):
    db.session.expunge_all()
    with as_system():
        rows = {model: db.session.get(model, parties.ids[model][label])
                for model, label in ((Order, "O1"), (Offer, "P1"), (Tender, "T1"),
                                     (TenderInvitation, "T1/polbud"), (OrderLine, "O1.a"))}
    # Loaded by a deliberate cross-tenant read, as a crafted request might hold them.
    with as_org(_org(parties, PERSONA_ORG[persona])):
        _refused(lambda: setattr(rows[Order], "acknowledged", True))
        _refused(lambda: setattr(rows[Offer], "price", 1))
        _refused(lambda: setattr(rows[Tender], "title", "x"))
        _refused(lambda: setattr(rows[TenderInvitation], "response", "x"))
        _refused(lambda: setattr(rows[OrderLine], "quantity", 7))
        _refused(lambda: db.session.delete(rows[Offer]))
        _refused(lambda: db.session.add(TenderLine(tender_id=parties.ids[Tender]["T1"],
                                                   description="x")))


def test_a_blocked_supplier_reads_but_writes_nothing_for_that_buyer(parties):
    with _as(parties, "blocked"):
        assert scope_for(db.session, _org(parties, "polbud")).blocked_buyer_ids == (
            parties.org_ids["acme"],
        )
        assert _get(Order, "O1", parties) is not None
        _refused(lambda: setattr(_get(Order, "O1", parties), "acknowledged", True))
        _refused(lambda: setattr(_get(TenderInvitation, "T1/polbud", parties), "response", "x"))
        _refused(lambda: setattr(_get(Offer, "P1", parties), "price", 1))
        _refused(lambda: db.session.add(DeliveryNote(order_id=parties.ids[Order]["O1"],
                                                     text="late")))
        _refused(lambda: db.session.add(Offer(organization_id=parties.org_ids["acme"],
                                              supplier_id=parties.org_ids["polbud"])))
    # The buyer still works on its side of the same documents.
    with as_org(_org(parties, "acme")):
        _get(Order, "O1", parties).status = "cancelled"
        db.session.commit()


@pytest.mark.parametrize("persona", PERSONAS)
def test_bulk_writes_of_shared_documents_and_children_are_refused(parties, persona):
    statements = [
        update(Tender).values(title="bulk"),
        update(TenderInvitation).values(response="bulk"),
        update(Order).values(acknowledged=True),
        update(Offer).values(price=1),
        update(OrderLine).values(quantity=5),
        update(SupplierLink).values(status=LinkStatus.ACTIVE),
        delete(TenderLine),
        delete(Order),
        delete(LineNote),
    ]
    with _as(parties, persona):
        for statement in statements:
            with pytest.raises(TenantViolation):
                db.session.execute(statement)
            db.session.rollback()


def test_shared_models_must_declare_their_writers():
    with pytest.raises(TypeError, match="__supplier_writes__"):
        type("Undeclared", (SharedDocument, PartiesBase), {
            "__tablename__": "tt_undeclared",
            "__created_by__": frozenset({BUYER}),
            "__buyer_writes__": ALL_FIELDS,
            "__annotations__": {},
        })


# --------------------------------------------------------------- supplier links and audit


def test_a_supplier_cannot_rewrite_its_link(world):
    with as_org(world.polbud):
        link = db.session.scalars(select(SupplierLink)).one()
        for field, value in (("status", LinkStatus.BLOCKED), ("currency", "EUR"),
                             ("credit_limit", Decimal("1")), ("organization_id", world.globex.id)):
            _refused(lambda field=field, value=value: setattr(
                db.session.scalars(select(SupplierLink)).one(), field, value))
        _refused(lambda: db.session.delete(db.session.scalars(select(SupplierLink)).one()))
        _refused(lambda: db.session.add(SupplierLink(
            organization_id=world.globex.id, supplier_id=world.polbud.id, currency="PLN")))
        assert link.status == LinkStatus.ACTIVE


def test_audit_events_are_appended_by_either_side_and_never_changed(world):
    from portal.models import AuditEvent

    with as_org(world.polbud):
        db.session.add(AuditEvent(organization_id=world.acme.id, supplier_id=world.polbud.id,
                                  action="test.supplier", object_type="SupplierLink",
                                  object_id=1, comment="ours"))
        db.session.commit()
        _refused(lambda: setattr(db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "test.supplier")).one(), "comment", "rewritten"))
        _refused(lambda: db.session.delete(db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "test.supplier")).one()))
    with as_org(world.acme):
        _refused(lambda: setattr(db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "test.supplier")).one(), "comment", "rewritten"))


# ------------------------------------------------------------------------ jobs and refreshes


def test_an_expired_object_is_never_refreshed_under_another_organisation(parties):
    with as_system():
        acme_user_id = db.session.scalars(
            select(User.id).where(User.email == "buyer@acme.example")).one()
    db.session.expunge_all()
    with as_org(_org(parties, "acme")):
        user = db.session.get(User, acme_user_id)
        assert user.full_name
    with as_org(_org(parties, "nordwind")):
        order = _get(Order, "O2", parties)
    db.session.expire_all()
    with as_org(_org(parties, "globex")):
        with pytest.raises(ObjectDeletedError):
            _ = user.full_name
        with pytest.raises(InvalidRequestError, match="Could not refresh"):
            db.session.refresh(order)
    with as_org(_org(parties, "polbud")), pytest.raises(ObjectDeletedError):
        _ = order.acknowledged
    # Back in its own organisation the same object reloads.
    with as_org(_org(parties, "acme")):
        assert user.full_name


def test_for_each_organization_binds_each_in_turn(world):
    buyers = [(world.acme.name, world.acme.id), (world.globex.name, world.globex.id)]
    supplier_ids = sorted([world.nordwind.id, world.polbud.id])
    seen = []
    for org in for_each_organization(db.session, kind=OrgKind.BUYER):
        scope = current_scope(db.session)
        seen.append((org.name, scope.org_id == org.id,
                     {u.organization_id for u in db.session.scalars(select(User))}))
    assert seen == [(name, True, {org_id}) for name, org_id in buyers]
    assert current_scope(db.session) is None
    suppliers = [org.id for org in for_each_organization(db.session, kind=OrgKind.SUPPLIER)]
    assert suppliers == supplier_ids


def test_for_each_organization_hands_no_object_to_the_next(world):
    buyer_id = world.user("buyer@acme").id
    held = None
    for org in for_each_organization(db.session, kind=OrgKind.BUYER):
        if org.id == world.acme.id:
            held = db.session.get(User, buyer_id)
            assert held is not None
        else:
            assert db.session.get(User, buyer_id) is None
    assert held is not None


def test_for_each_organization_refuses_uncommitted_work_crossing_over(world):
    jobs = for_each_organization(db.session, kind=OrgKind.BUYER)
    org = next(jobs)
    db.session.scalars(select(User)).first().full_name = "Changed"
    with pytest.raises(RuntimeError, match="commit or roll back"):
        next(jobs)
    db.session.rollback()
    assert current_scope(db.session) is None
    assert org.kind == OrgKind.BUYER


def test_bound_to_uses_the_organisations_own_scope(world):
    with bound_to(db.session, world.nordwind) as scope:
        assert scope == scope_for(db.session, world.nordwind)
        assert current_scope(db.session) == scope
    with bound(db.session, TenantScope(world.acme.id)):
        assert current_scope(db.session).org_id == world.acme.id
    assert current_scope(db.session) is None


def test_children_and_multi_party_documents_are_checked_by_a_correlated_lookup(world):
    """A child row is visible when its own parent is: EXISTS correlated on the child's key (an
    `IN (SELECT` every visible parent's id`)` made SQLite read 50 000 orders to serve one order's
    PDF at a million requisitions); an RFQ for a supplier likewise by its own participation row."""
    from sqlalchemy import event, select

    from portal.models import PurchaseOrderDocument, Rfq
    from tests.conftest import as_org

    seen = []

    def remember(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        with as_org(world.acme):
            db.session.scalars(select(PurchaseOrderDocument).where(PurchaseOrderDocument.order_id == 1)).all()
        with as_org(world.nordwind):
            db.session.scalars(select(Rfq).limit(1)).all()
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    documents = next(sql for sql in seen if "FROM purchase_order_documents" in sql)
    rfqs = next(sql for sql in seen if "FROM rfqs" in sql)
    assert "EXISTS (SELECT" in documents and "order_id IN (SELECT" not in documents
    assert "EXISTS (SELECT" in rfqs and ") IN (SELECT" not in rfqs
