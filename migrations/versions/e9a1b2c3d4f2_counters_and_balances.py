"""budget balances and badge counters kept in the same transaction

Revision ID: e9a1b2c3d4f2
Revises: e9a1b2c3d4f1
Create Date: 2026-12-05 08:00:00
"""
import sqlalchemy as sa
from alembic import op

import portal.models.types

revision = 'e9a1b2c3d4f2'
down_revision = 'e9a1b2c3d4f1'
branch_labels = None
depends_on = None

COUNTERS = ('reserved', 'committed', 'spent')
BACKFILL = (
    "UPDATE budgets SET reserved = COALESCE((SELECT SUM(amount) FROM budget_entries "
    "WHERE budget_entries.budget_id = budgets.id AND kind IN ('reserve', 'release')), 0)",
    "UPDATE budgets SET committed = COALESCE((SELECT SUM(amount) FROM budget_entries "
    "WHERE budget_entries.budget_id = budgets.id AND kind = 'commit'), 0)",
    "UPDATE budgets SET spent = COALESCE((SELECT SUM(amount) FROM budget_entries "
    "WHERE budget_entries.budget_id = budgets.id AND kind = 'actual'), 0)",
)


def upgrade():
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        for name in COUNTERS:
            batch_op.add_column(sa.Column(name, portal.models.types.Exact(precision=14, scale=2), nullable=False,
                                          server_default='0'))
    # Backfill from the ledger (amounts are stored alike in both columns: SQLite keeps scaled
    # integers in each, so the sums stay exact).
    for statement in BACKFILL:
        op.execute(statement)

    with op.batch_alter_table('approval_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_approval_assignments_user_open', ['user_id', 'decision', 'task_id'],
                              unique=False)
        batch_op.create_index('ix_approval_assignments_decider', ['decided_by_id', 'task_id'],
                              unique=False)
        batch_op.create_index('ix_approval_assignments_user_decided', ['user_id', 'decided_at', 'id'],
                              unique=False)
        # user_id leads ix_approval_assignments_user_open: its own index is one write too many.
        batch_op.drop_index('ix_approval_assignments_user_id')
    with op.batch_alter_table('approval_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_approval_tasks_org_status_activated',
                              ['organization_id', 'status', 'activated_at', 'id'], unique=False)

    op.create_table(
        'badge_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=40), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_badge_versions_organization_id_organizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_badge_versions')),
        sa.UniqueConstraint('organization_id', 'scope',
                            name=op.f('uq_badge_versions_organization_id_scope')),
    )
    with op.batch_alter_table('badge_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_badge_versions_organization_id'), ['organization_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('badge_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_badge_versions_organization_id'))
    op.drop_table('badge_versions')
    with op.batch_alter_table('approval_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_tasks_org_status_activated')
    with op.batch_alter_table('approval_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_approval_assignments_user_id', ['user_id'], unique=False)
        batch_op.drop_index('ix_approval_assignments_user_decided')
        batch_op.drop_index('ix_approval_assignments_decider')
        batch_op.drop_index('ix_approval_assignments_user_open')
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        for name in reversed(COUNTERS):
            batch_op.drop_column(name)
