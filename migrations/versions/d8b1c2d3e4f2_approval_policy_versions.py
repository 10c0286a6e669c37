"""approval policy versions; requisitions record the version they were routed by

Also: the audit log's indexes (newest first per organisation, by object type, by actor), and
the events written under the misspelt name "approval.rejectd" get their real name.

Revision ID: d8b1c2d3e4f2
Revises: d8b1c2d3e4f1
Create Date: 2026-12-05 07:00:00
"""
import sqlalchemy as sa
from alembic import op

import portal.models.types

revision = 'd8b1c2d3e4f2'
down_revision = 'd8b1c2d3e4f1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'approval_policy_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('policy_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('snapshot', sa.JSON(), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_approval_policy_versions_created_by_id_users')),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_approval_policy_versions_organization_id_organizations')),
        sa.ForeignKeyConstraint(['policy_id'], ['approval_policies.id'], ondelete='CASCADE',
                                name=op.f('fk_approval_policy_versions_policy_id_approval_policies')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_policy_versions')),
        sa.UniqueConstraint('policy_id', 'number',
                            name=op.f('uq_approval_policy_versions_policy_id_number')),
    )
    with op.batch_alter_table('approval_policy_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_policy_versions_organization_id'),
                              ['organization_id'], unique=False)

    with op.batch_alter_table('requisitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('policy_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_requisitions_policy_version_id_approval_policy_versions'),
            'approval_policy_versions', ['policy_version_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_requisitions_policy_version_id'),
                              ['policy_version_id'], unique=False)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_org_created',
                              ['organization_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_audit_events_org_type',
                              ['organization_id', 'object_type', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_audit_events_org_actor',
                              ['organization_id', 'actor_id', 'created_at', 'id'], unique=False)

    # Rejections were recorded as "approval.rejectd" before the event set was fixed.
    op.execute("UPDATE audit_events SET action = 'approval.rejected' WHERE action = 'approval.rejectd'")


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_org_actor')
        batch_op.drop_index('ix_audit_events_org_type')
        batch_op.drop_index('ix_audit_events_org_created')

    with op.batch_alter_table('requisitions', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_requisitions_policy_version_id_approval_policy_versions'),
            type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_requisitions_policy_version_id'))
        batch_op.drop_column('policy_version_id')

    with op.batch_alter_table('approval_policy_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_policy_versions_organization_id'))
    op.drop_table('approval_policy_versions')
