"""approval routing settings (header category required, decide once per requisition)

Revision ID: d8b1c2d3e4f1
Revises: c7a1b2c3d4e3
Create Date: 2026-12-05 07:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd8b1c2d3e4f1'
down_revision = 'c7a1b2c3d4e3'
branch_labels = None
depends_on = None


def upgrade():
    # Existing companies get the safe defaults: the header category stays optional (their
    # drafts keep submitting) and a person decides once per requisition.
    with op.batch_alter_table('approval_policies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category_required', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('decide_once', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))


def downgrade():
    with op.batch_alter_table('approval_policies', schema=None) as batch_op:
        batch_op.drop_column('decide_once')
        batch_op.drop_column('category_required')
