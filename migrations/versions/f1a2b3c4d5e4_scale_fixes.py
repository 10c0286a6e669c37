"""scale fixes: indexes for the pages that still grew with the number of requisitions

Revision ID: f1a2b3c4d5e4
Revises: f1a2b3c4d5e3
Create Date: 2026-12-05 11:20:00
"""
from alembic import op

revision = 'f1a2b3c4d5e4'
down_revision = 'f1a2b3c4d5e3'
branch_labels = None
depends_on = None


def upgrade():
    _dashboard_upgrade()
    _search_upgrade()
    # SQLite plans from sqlite_stat1: a new index without statistics looks cheaper than it is
    # (at 1M requisitions the lists took the requester index and sorted every row: 130x slower
    # until ANALYZE). PostgreSQL analyzed in _search_upgrade.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ANALYZE requisitions')


def downgrade():
    _search_downgrade()
    _dashboard_downgrade()


def _dashboard_upgrade():
    # The buyer's dashboard: capped counts per status read at most 100 entries each, and the
    # pending list (oldest submitted first) reads its 5 rows in index order.
    op.create_index('ix_requisitions_org_requester_status_submitted', 'requisitions',
                    ['organization_id', 'requester_id', 'status', 'submitted_at', 'id'], unique=False)


def _dashboard_downgrade():
    op.drop_index('ix_requisitions_org_requester_status_submitted', table_name='requisitions')


def _search_upgrade():
    # The text search (lower(title) LIKE '%…%'): a trigram index on the expression finds a rare
    # word without reading the table; the statistics ANALYZE keeps on the indexed expression
    # tell the planner how often a frequent word matches, so it walks the list's index in order
    # (portal.models.requisition). ANALYZE fills them now, not at the next autovacuum.
    # PostgreSQL only (pg_trgm is a trusted extension): SQLite walks the list's index anyway.
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.execute('CREATE INDEX ix_requisitions_title_trgm ON requisitions '
               'USING gin (lower(title) gin_trgm_ops)')
    op.execute('ANALYZE requisitions')


def _search_downgrade():
    # The extension stays: dropping it could break what else uses it.
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP INDEX IF EXISTS ix_requisitions_title_trgm')
