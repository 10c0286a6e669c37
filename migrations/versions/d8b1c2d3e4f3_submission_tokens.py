"""one-time submission tokens for create forms

Revision ID: d8b1c2d3e4f3
Revises: d8b1c2d3e4f2
Create Date: 2026-12-05 07:00:00
"""
import sqlalchemy as sa
from alembic import op

import portal.models.types

revision = 'd8b1c2d3e4f3'
down_revision = 'd8b1c2d3e4f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'submission_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('target', sa.String(length=500), nullable=True),
        sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_submission_tokens_organization_id_organizations')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_submission_tokens_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_tokens')),
        sa.UniqueConstraint('user_id', 'token', name=op.f('uq_submission_tokens_user_id_token')),
    )
    with op.batch_alter_table('submission_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_tokens_organization_id'),
                              ['organization_id'], unique=False)


def downgrade():
    with op.batch_alter_table('submission_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_tokens_organization_id'))
    op.drop_table('submission_tokens')
