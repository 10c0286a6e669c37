"""budget entry notes the portal writes are stored as message id + typed parameters

Revision ID: c7a1b2c3d4e3
Revises: c7a1b2c3d4e2
Create Date: 2026-12-05 05:00:00

Existing notes keep their text with no parameters: they read as they were written.
Approval routing reasons written before amounts were typed are read by a tolerant reader
(portal.domain.approval.reason_message), so their rows need no change.
"""
from alembic import op
import sqlalchemy as sa


revision = 'c7a1b2c3d4e3'
down_revision = 'c7a1b2c3d4e2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('budget_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note_params', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('budget_entries', schema=None) as batch_op:
        batch_op.drop_column('note_params')
