"""Document numbers: sequential per organisation, kind and year, never duplicated.

A single `UPDATE … SET last = last + 1 … RETURNING last` takes the row lock on PostgreSQL and
the write lock on SQLite, so two concurrent creations can never read the same value; the
counter row commits or rolls back with the document, so there are no gaps either.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models.requisition import DocumentCounter


def next_sequence(organization_id: int, kind: str, year: int) -> int:
    """Take the next number of `kind` for `year` in the current transaction."""
    for _attempt in range(3):
        taken = db.session.execute(
            update(DocumentCounter)
            .where(
                DocumentCounter.organization_id == organization_id,
                DocumentCounter.kind == kind,
                DocumentCounter.year == year,
            )
            .values(last=DocumentCounter.last + 1)
            .returning(DocumentCounter.last)
            .execution_options(synchronize_session=False)
        ).scalar()
        if taken is not None:
            return taken
        try:
            with db.session.begin_nested():
                db.session.add(
                    DocumentCounter(organization_id=organization_id, kind=kind, year=year, last=1)
                )
            return 1
        except IntegrityError:
            continue  # another transaction created the counter first: take the next value
    raise RuntimeError("could not take a document number")


def peek_last(organization_id: int, kind: str, year: int) -> int:
    return (
        db.session.scalar(
            select(DocumentCounter.last).where(
                DocumentCounter.organization_id == organization_id,
                DocumentCounter.kind == kind,
                DocumentCounter.year == year,
            )
        )
        or 0
    )
