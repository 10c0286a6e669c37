"""payment terms as a value object: supplier_links / invitations payment_terms (JSON)

Replaces `payment_terms_days` (an integer) with `payment_terms`, the JSON form of
`portal.domain.terms.PaymentTerms`. Existing rows become net terms of their days
(`{"kind": "net", "days": N}`); the downgrade keeps the (last) due days of any terms.

Revision ID: c7a1b2c3d4e2
Revises: c7a1b2c3d4e1
Create Date: 2026-12-05 04:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c7a1b2c3d4e2'
down_revision = 'c7a1b2c3d4e1'
branch_labels = None
depends_on = None


def _tables():
    """Both columns of both tables, old and new, for moving the data across."""
    return [
        sa.table(name, sa.column('id', sa.Integer), sa.column('payment_terms_days', sa.Integer),
                 sa.column('payment_terms', sa.JSON))
        for name in ('supplier_links', 'invitations')
    ]


def _rows(table, column):
    """(id, value) of every row whose `column` is set; read before the table changes."""
    return op.get_bind().execute(
        sa.select(table.c.id, table.c[column]).where(table.c[column].is_not(None))
    ).all()


def upgrade():
    with op.batch_alter_table('supplier_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_terms', sa.JSON(), nullable=True))
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_terms', sa.JSON(), nullable=True))

    bind = op.get_bind()
    for table in _tables():
        for row_id, days in _rows(table, 'payment_terms_days'):
            bind.execute(
                table.update().where(table.c.id == row_id)
                .values(payment_terms={'kind': 'net', 'days': int(days)})
            )

    with op.batch_alter_table('supplier_links', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_supplier_links_terms'), type_='check')
        batch_op.alter_column('payment_terms', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('payment_terms_days')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_column('payment_terms_days')


def downgrade():
    with op.batch_alter_table('supplier_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_terms_days', sa.Integer(), nullable=True))
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_terms_days', sa.Integer(), nullable=True))

    bind = op.get_bind()
    for table in _tables():
        for row_id, terms in _rows(table, 'payment_terms'):
            parts = terms.get('instalments') or [terms]
            bind.execute(
                table.update().where(table.c.id == row_id)
                .values(payment_terms_days=int(parts[-1]['days']))
            )

    with op.batch_alter_table('supplier_links', schema=None) as batch_op:
        batch_op.alter_column('payment_terms_days', existing_type=sa.Integer(), nullable=False)
        batch_op.create_check_constraint(
            batch_op.f('ck_supplier_links_terms'),
            'payment_terms_days >= 0 AND payment_terms_days <= 365',
        )
        batch_op.drop_column('payment_terms')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_column('payment_terms')
