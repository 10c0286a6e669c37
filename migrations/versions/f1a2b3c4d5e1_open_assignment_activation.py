"""open approval assignments carry their task's activation time (inbox keyset)

Revision ID: f1a2b3c4d5e1
Revises: e9a1b2c3d4f2
Create Date: 2026-12-05 09:30:00
"""
import sqlalchemy as sa
from alembic import op

import portal.models.types

revision = 'f1a2b3c4d5e1'
down_revision = 'e9a1b2c3d4f2'
branch_labels = None
depends_on = None

ACTIVE = sa.text('activated_at IS NOT NULL')
# The rule of portal.models.approval.sync_activation: the task's activated_at while the
# assignment is undecided and the task pending, NULL otherwise (the column starts NULL).
BACKFILL = (
    "UPDATE approval_assignments SET activated_at = (SELECT approval_tasks.activated_at "
    "FROM approval_tasks WHERE approval_tasks.id = approval_assignments.task_id) "
    "WHERE decision IS NULL AND task_id IN (SELECT id FROM approval_tasks WHERE status = 'pending')"
)


def upgrade():
    with op.batch_alter_table('approval_assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activated_at', portal.models.types.UTCDateTime(), nullable=True))
    op.execute(BACKFILL)
    with op.batch_alter_table('approval_assignments', schema=None) as batch_op:
        # Replaced by the partial index below (the inbox and its badge read that one now;
        # ix_approval_assignments_user_decided still leads with user_id).
        batch_op.drop_index('ix_approval_assignments_user_open')
        batch_op.create_index('ix_approval_assignments_user_activated',
                              ['user_id', 'activated_at', 'task_id'], unique=False,
                              sqlite_where=ACTIVE, postgresql_where=ACTIVE)


def downgrade():
    with op.batch_alter_table('approval_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_assignments_user_activated')
        batch_op.create_index('ix_approval_assignments_user_open', ['user_id', 'decision', 'task_id'],
                              unique=False)
        batch_op.drop_column('activated_at')
