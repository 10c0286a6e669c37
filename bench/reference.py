"""The reference page: a bare Flask app rendering a 50-row Jinja table from one indexed
SQLAlchemy query on a 100 000-row table in the same database as the portal under test.

    python -m bench.reference --setup       create and fill `bench_reference` (idempotent)
    gunicorn 'bench.reference:create_app()' serve it (DATABASE_URL names the database)
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta

from flask import Flask, render_template_string
from sqlalchemy import Column, DateTime, Index, Integer, MetaData, Numeric, String, Table, create_engine, func, select

ROWS = 100_000
metadata = MetaData()
reference = Table(
    "bench_reference", metadata,
    Column("id", Integer, primary_key=True),
    Column("organization_id", Integer, nullable=False),
    Column("number", String(20), nullable=False),
    Column("title", String(200), nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("ix_bench_reference_org_created", "organization_id", "created_at", "id"),
)
TEMPLATE = """<!doctype html><html><head><title>Reference</title></head><body>
<table><thead><tr><th>Number</th><th>Title</th><th>Amount</th><th>Created</th></tr></thead><tbody>
{% for row in rows %}<tr><td><a href="/r/{{ row.id }}">{{ row.number }}</a></td><td>{{ row.title }}</td>
<td>{{ "%.2f"|format(row.amount) }}</td><td>{{ row.created_at.strftime("%Y-%m-%d %H:%M") }}</td></tr>
{% endfor %}</tbody></table></body></html>"""


def _url() -> str:
    return os.environ["DATABASE_URL"]


def setup(url: str) -> int:
    engine = create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        have = conn.execute(select(func.count()).select_from(reference)).scalar()
        start = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)
        batch = []
        for i in range(have, ROWS):
            batch.append({"id": i + 1, "organization_id": 1 + i % 5, "number": f"REF-{i + 1:06d}",
                          "title": f"Reference row {i + 1}", "amount": i % 10_000 + 0.5,
                          "created_at": start + timedelta(seconds=60 * i)})
            if len(batch) >= 10_000:
                conn.execute(reference.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(reference.insert(), batch)
    engine.dispose()
    return ROWS - have


def create_app() -> Flask:
    app = Flask(__name__)
    engine = create_engine(_url(), pool_pre_ping=True)
    query = (select(reference).where(reference.c.organization_id == 1)
             .order_by(reference.c.created_at.desc(), reference.c.id.desc()).limit(50))

    @app.get("/")
    def page():
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        return render_template_string(TEMPLATE, rows=rows)

    return app


if __name__ == "__main__":
    if "--setup" in sys.argv:
        print(f"bench_reference: {setup(_url())} rows added")
