"""indexes for the catalog, notification, supplier-invitation and budget lists (keyset pages)

Revision ID: f1a2b3c4d5e2
Revises: f1a2b3c4d5e1
Create Date: 2026-12-05 09:31:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'f1a2b3c4d5e2'
down_revision = 'f1a2b3c4d5e1'
branch_labels = None
depends_on = None

# (table, name, columns, partial index condition) of the lists' indexes: organisation, filter,
# sort key, id. The partial ones: PostgreSQL does not order by the columns after an `IS NULL`.
NEW = (
    ('items', 'ix_items_org_sku', ['organization_id', 'sku', 'id'], None),
    ('items', 'ix_items_org_active_sku', ['organization_id', 'is_active', 'sku', 'id'], None),
    ('items', 'ix_items_org_category_sku', ['organization_id', 'category_id', 'sku', 'id'], None),
    ('budgets', 'ix_budgets_org_starts', ['organization_id', 'starts_on', 'id'], None),
    ('budgets', 'ix_budgets_org_status_starts', ['organization_id', 'status', 'starts_on', 'id'], None),
    ('invitations', 'ix_invitations_org_kind_open', ['organization_id', 'kind', 'created_at', 'id'],
     'accepted_at IS NULL AND revoked_at IS NULL'),
    ('notifications', 'ix_notifications_org_user_unread', ['organization_id', 'user_id', 'created_at', 'id'],
     'read_at IS NULL'),
    ('notifications', 'ix_notifications_org_user_seen', ['organization_id', 'user_id', 'created_at', 'id'],
     'read_at IS NOT NULL'),
)


def upgrade():
    # The unread index replaces it (the bell's count and "mark all read" read that one now).
    op.drop_index('ix_notifications_user_read', table_name='notifications')
    for table, name, columns, where in NEW:
        partial = {} if where is None else {'sqlite_where': sa.text(where), 'postgresql_where': sa.text(where)}
        op.create_index(name, table, columns, unique=False, **partial)


def downgrade():
    for table, name, _columns, _where in reversed(NEW):
        op.drop_index(name, table_name=table)
    op.create_index('ix_notifications_user_read', 'notifications', ['user_id', 'read_at', 'created_at'],
                    unique=False)
