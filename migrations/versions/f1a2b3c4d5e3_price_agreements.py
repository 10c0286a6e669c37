"""price agreements per supplier link and item

Revision ID: f1a2b3c4d5e3
Revises: f1a2b3c4d5e2
Create Date: 2026-12-05 10:20:00
"""
import sqlalchemy as sa
from alembic import op

import portal.models.types

revision = 'f1a2b3c4d5e3'
down_revision = 'f1a2b3c4d5e2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('price_agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('unit_price', portal.models.types.Exact(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('tiers', sa.JSON(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('supplier_part_number', sa.String(length=60), nullable=False),
    sa.Column('lead_time_days', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', portal.models.types.UTCDateTime(), nullable=False),
    sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('unit_price > 0', name=op.f('ck_price_agreements_unit_price')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to >= valid_from', name=op.f('ck_price_agreements_validity')),
    sa.CheckConstraint('lead_time_days IS NULL OR lead_time_days >= 0', name=op.f('ck_price_agreements_lead_time')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_price_agreements_created_by_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_price_agreements_item_id_items')),
    sa.ForeignKeyConstraint(['link_id'], ['supplier_links.id'], name=op.f('fk_price_agreements_link_id_supplier_links')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_price_agreements_organization_id_organizations')),
    sa.ForeignKeyConstraint(['supplier_id'], ['organizations.id'], name=op.f('fk_price_agreements_supplier_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_agreements'))
    )
    with op.batch_alter_table('price_agreements', schema=None) as batch_op:
        batch_op.create_index('ix_price_agreements_link_from', ['link_id', 'valid_from', 'id'], unique=False)
        batch_op.create_index('ix_price_agreements_org_from', ['organization_id', 'valid_from', 'id'], unique=False)
        batch_op.create_index('ix_price_agreements_org_item_from', ['organization_id', 'item_id', 'valid_from', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_price_agreements_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_price_agreements_supplier_id'), ['supplier_id'], unique=False)


def downgrade():
    with op.batch_alter_table('price_agreements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_agreements_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_price_agreements_organization_id'))
        batch_op.drop_index('ix_price_agreements_org_item_from')
        batch_op.drop_index('ix_price_agreements_org_from')
        batch_op.drop_index('ix_price_agreements_link_from')

    op.drop_table('price_agreements')
