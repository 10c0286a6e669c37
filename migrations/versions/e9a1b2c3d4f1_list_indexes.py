"""indexes that match each list's filter and sort (keyset pagination)

Revision ID: e9a1b2c3d4f1
Revises: d8b1c2d3e4f3
Create Date: 2026-12-05 08:00:00
"""
from alembic import op


revision = 'e9a1b2c3d4f1'
down_revision = 'd8b1c2d3e4f3'
branch_labels = None
depends_on = None

# (name, columns) of the requisition lists' indexes: organisation, filter, sort key, id.
NEW = (
    ('ix_requisitions_org_created', ['organization_id', 'created_at', 'id']),
    ('ix_requisitions_org_requester_created', ['organization_id', 'requester_id', 'created_at', 'id']),
    ('ix_requisitions_org_cost_center_created', ['organization_id', 'cost_center_id', 'created_at', 'id']),
    ('ix_requisitions_org_gross', ['organization_id', 'gross_total', 'id']),
    ('ix_requisitions_org_needed_by', ['organization_id', 'needed_by', 'id']),
)


def upgrade():
    with op.batch_alter_table('requisitions', schema=None) as batch_op:
        batch_op.drop_index('ix_requisitions_org_status_created')
        batch_op.create_index('ix_requisitions_org_status_created',
                              ['organization_id', 'status', 'created_at', 'id'], unique=False)
        for name, columns in NEW:
            batch_op.create_index(name, columns, unique=False)


def downgrade():
    with op.batch_alter_table('requisitions', schema=None) as batch_op:
        for name, _columns in reversed(NEW):
            batch_op.drop_index(name)
        batch_op.drop_index('ix_requisitions_org_status_created')
        batch_op.create_index('ix_requisitions_org_status_created',
                              ['organization_id', 'status', 'created_at'], unique=False)
