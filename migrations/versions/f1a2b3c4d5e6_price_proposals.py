"""price-list proposals from suppliers, decided line by line

Revision ID: f1a2b3c4d5e6
Revises: f1a2b3c4d5e5
Create Date: 2026-12-05 14:04:00

"""
import sqlalchemy as sa
from alembic import op

import portal.models.types

revision = 'f1a2b3c4d5e6'
down_revision = 'f1a2b3c4d5e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('price_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('open', 'decided', 'withdrawn', name='proposalstatus', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', portal.models.types.UTCDateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', portal.models.types.UTCDateTime(), nullable=False),
    sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_price_proposals_decided_by_id_users')),
    sa.ForeignKeyConstraint(['link_id'], ['supplier_links.id'], name=op.f('fk_price_proposals_link_id_supplier_links')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_price_proposals_organization_id_organizations')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_price_proposals_submitted_by_id_users')),
    sa.ForeignKeyConstraint(['supplier_id'], ['organizations.id'], name=op.f('fk_price_proposals_supplier_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_proposals'))
    )
    with op.batch_alter_table('price_proposals', schema=None) as batch_op:
        batch_op.create_index('ix_price_proposals_org_status_created', ['organization_id', 'status', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_price_proposals_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('ix_price_proposals_supplier_created', ['supplier_id', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_price_proposals_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('price_proposal_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=60), nullable=False),
    sa.Column('supplier_part_number', sa.String(length=60), nullable=False),
    sa.Column('unit_price', portal.models.types.Exact(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('lead_time_days', sa.Integer(), nullable=True),
    sa.Column('tiers', sa.JSON(), nullable=False),
    sa.Column('current_agreement_id', sa.Integer(), nullable=True),
    sa.Column('current_price', portal.models.types.Exact(precision=18, scale=4), nullable=True),
    sa.Column('decision', sa.Enum('pending', 'accepted', 'rejected', name='linedecision', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('lead_time_days IS NULL OR lead_time_days >= 0', name=op.f('ck_price_proposal_lines_lead_time')),
    sa.CheckConstraint('unit_price > 0', name=op.f('ck_price_proposal_lines_unit_price')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to >= valid_from', name=op.f('ck_price_proposal_lines_validity')),
    sa.ForeignKeyConstraint(['agreement_id'], ['price_agreements.id'], name=op.f('fk_price_proposal_lines_agreement_id_price_agreements')),
    sa.ForeignKeyConstraint(['current_agreement_id'], ['price_agreements.id'], name=op.f('fk_price_proposal_lines_current_agreement_id_price_agreements')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_price_proposal_lines_item_id_items')),
    sa.ForeignKeyConstraint(['proposal_id'], ['price_proposals.id'], name=op.f('fk_price_proposal_lines_proposal_id_price_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_proposal_lines'))
    )
    with op.batch_alter_table('price_proposal_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_proposal_lines_proposal_id'), ['proposal_id'], unique=False)



def downgrade():
    with op.batch_alter_table('price_proposal_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_proposal_lines_proposal_id'))

    op.drop_table('price_proposal_lines')
    with op.batch_alter_table('price_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_proposals_supplier_id'))
        batch_op.drop_index('ix_price_proposals_supplier_created')
        batch_op.drop_index(batch_op.f('ix_price_proposals_organization_id'))
        batch_op.drop_index('ix_price_proposals_org_status_created')

    op.drop_table('price_proposals')
