"""Import catalog items from a CSV file: create new SKUs, update known ones, report bad rows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.domain import catalog as rules
from portal.domain.catalog import CatalogRow, RowError
from portal.domain.messages import N_, Msg
from portal.errors import DomainError, ValidationProblem
from portal.extensions import db
from portal.models import Category, Item, LinkStatus, Organization, SupplierLink
from portal.money import currencies
from portal.services import audit
from portal.services.catalog import ItemFields, apply_changes, insert_item

_CHUNK = 500


@dataclass
class ImportReport:
    """What one import did. `errors` are the skipped rows, in file order."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)


def _compact_tax_id(value: str) -> str:
    return re.sub(r"[\s\-.]", "", value or "").upper()


def _suppliers_by_tax_id(org: Organization) -> dict[str, Organization]:
    """Active suppliers of `org` by tax ID, with and without the country prefix."""
    rows = db.session.scalars(
        select(Organization)
        .join(SupplierLink, SupplierLink.supplier_id == Organization.id)
        .where(SupplierLink.organization_id == org.id, SupplierLink.status == LinkStatus.ACTIVE)
    )
    found = {}
    for supplier in rows:
        tax_id = _compact_tax_id(supplier.tax_id)
        found[tax_id] = supplier
        if tax_id.startswith(supplier.country):
            found[tax_id[len(supplier.country):]] = supplier
        else:
            found[supplier.country + tax_id] = supplier
    return found


def _items_by_sku(org: Organization, skus: list[str]) -> dict[str, Item]:
    """Existing items of `org` for these SKUs, keyed case-insensitively.

    Python folds the case: SQLite's lower() would miss non-ASCII SKUs.
    """
    wanted = {sku.casefold() for sku in skus}
    ids = [
        item_id
        for item_id, sku in db.session.execute(
            select(Item.id, Item.sku).where(Item.organization_id == org.id)
        )
        if sku.casefold() in wanted
    ]
    found = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        for item in db.session.scalars(select(Item).where(Item.id.in_(chunk))):
            found[item.sku.casefold()] = item
    return found


def _fields(org: Organization, row: CatalogRow, item: Item | None, category, supplier):
    """The row over the item (or the defaults): a column left empty keeps what is there."""
    def pick(value, current, default):
        if value is not None:
            return value
        return current if item is not None else default

    return ItemFields(
        sku=item.sku if item is not None else row.sku,
        name=row.name,
        description=pick(row.description, item and item.description, ""),
        unit=pick(row.unit, item and item.unit, rules.DEFAULT_UNIT),
        category_id=pick(category and category.id, item and item.category_id, None),
        default_vat_rate=pick(row.vat_rate, item and item.default_vat_rate,
                              rules.DEFAULT_VAT_RATE),
        list_price=pick(row.list_price, item and item.list_price, None),
        currency=pick(row.currency, item and item.currency, org.currency),
        preferred_supplier_id=pick(supplier and supplier.id,
                                   item and item.preferred_supplier_id, None),
        is_active=item.is_active if item is not None else True,
    )


def _references(row: CatalogRow, categories, suppliers):
    problems = []
    category = supplier = None
    if row.category_code is not None:
        category = categories.get(row.category_code)
        if category is None:
            problems.append(Msg(N_("Unknown category %(code)s."), {"code": row.category_code}))
        elif not category.is_active:
            problems.append(Msg(N_("Category %(code)s is inactive."), {"code": row.category_code}))
    if row.supplier_tax_id is not None:
        supplier = suppliers.get(row.supplier_tax_id)
        if supplier is None:
            problems.append(
                Msg(N_("No active supplier of yours has the tax ID %(tax_id)s."),
                    {"tax_id": row.supplier_tax_id})
            )
    return category, supplier, problems


def import_items_csv(
    org: Organization,
    data: bytes,
    *,
    actor,
    max_bytes: int = rules.MAX_BYTES,
    max_rows: int = rules.MAX_ROWS,
) -> ImportReport:
    """Create or update `org`'s items from a CSV file (format: portal.domain.catalog).

    A row whose SKU exists updates that item (case-insensitive match; inactive items stay
    inactive); a new SKU creates an item. Each row is saved in its own SAVEPOINT, so a row that
    fails saves nothing of itself while the good rows stay; the caller commits once.
    Raises ValidationProblem when the whole file is refused (too large, not CSV, bad header,
    too many rows); nothing is written then.
    """
    if len(data) > max_bytes:
        raise ValidationProblem(
            Msg(N_("The file is larger than %(size)s. Split it into smaller files."), {"size": size_label(max_bytes)})
        )
    try:
        parsed = rules.parse_catalog_csv(data, currencies=currencies(), max_rows=max_rows)
    except rules.CsvFileProblem as exc:
        raise ValidationProblem(exc.msg) from exc

    report = ImportReport(errors=list(parsed.errors))
    # Written first, on purpose: with pysqlite a SAVEPOINT opened before any write begins the
    # transaction itself, and releasing it would commit that row on its own. After this insert
    # every row's SAVEPOINT nests inside the one transaction of the import.
    event = audit.record(actor=actor, action="catalog.imported", obj=org, summary={})
    db.session.flush()

    categories = {
        c.code: c
        for c in db.session.scalars(select(Category).where(Category.organization_id == org.id))
    }
    suppliers = _suppliers_by_tax_id(org)
    items = _items_by_sku(org, [row.sku for row in parsed.rows])

    for row in parsed.rows:
        category, supplier, problems = _references(row, categories, suppliers)
        if problems:
            report.errors.append(RowError(row.row, row.sku, tuple(problems)))
            continue
        item = items.get(row.sku.casefold())
        try:
            with db.session.begin_nested():
                fields = _fields(org, row, item, category, supplier)
                if item is None:
                    created = insert_item(org, fields, actor=actor, source="csv")
                    outcome = "created"
                else:
                    outcome = "updated" if apply_changes(item, fields, actor=actor,
                                                         source="csv") else "unchanged"
                db.session.flush()
        except (IntegrityError, DomainError):
            report.errors.append(RowError(row.row, row.sku, (
                Msg(N_("The row could not be saved; check it and import it again.")),
            )))
            continue
        if outcome == "created":
            items[row.sku.casefold()] = created
        setattr(report, outcome, getattr(report, outcome) + 1)

    report.errors.sort(key=lambda e: e.row)
    # Still inside the import's own transaction: the event is complete before anyone reads it.
    event.summary = {
        "created": report.created, "updated": report.updated,
        "unchanged": report.unchanged, "rejected": report.rejected,
    }
    db.session.flush()
    return report


def size_label(max_bytes: int) -> str:
    """`2 MB`, `500 KB`: a limit as people read it."""
    if max_bytes >= 1024 * 1024:
        return f"{max_bytes / (1024 * 1024):g} MB"
    if max_bytes >= 1024:
        return f"{max_bytes // 1024} KB"
    return f"{max_bytes} B"
