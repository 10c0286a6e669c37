"""outbox messages; notifications stored as message id + parameters and a link

Revision ID: c7a1b2c3d4e1
Revises: b67876fed806
Create Date: 2026-12-05 04:50:00

Existing notifications keep their rendered text as a message without parameters (it reads the
same as before, in the language it was written in) and their link as a path.
"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


revision = 'c7a1b2c3d4e1'
down_revision = 'b67876fed806'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('idempotency_key', sa.String(length=120), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('next_attempt_at', portal.models.types.UTCDateTime(), nullable=False),
    sa.Column('claimed_at', portal.models.types.UTCDateTime(), nullable=True),
    sa.Column('sent_at', portal.models.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_messages_idempotency_key'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_due', ['status', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('target', sa.JSON(), nullable=True))

    notifications = sa.table(
        'notifications', sa.column('id', sa.Integer()), sa.column('text', sa.String()),
        sa.column('link', sa.String()), sa.column('message', sa.JSON()),
        sa.column('target', sa.JSON(none_as_null=True)),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(notifications.c.id, notifications.c.text, notifications.c.link)).all()
    for row in rows:
        bind.execute(
            notifications.update().where(notifications.c.id == row.id).values(
                message={"id": row.text or "", "params": {}},
                target={"url": row.link} if row.link else None,
            )
        )

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('message', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('text')
        batch_op.drop_column('link')


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('link', sa.String(length=300), nullable=True))

    notifications = sa.table(
        'notifications', sa.column('id', sa.Integer()), sa.column('text', sa.String()),
        sa.column('link', sa.String()), sa.column('message', sa.JSON()),
        sa.column('target', sa.JSON(none_as_null=True)),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(notifications.c.id, notifications.c.message, notifications.c.target)).all()
    for row in rows:
        # Parameters are not rendered here: the message id is the English text with %(…)s.
        text = (row.message or {}).get("id", "") if isinstance(row.message, dict) else str(row.message or "")
        link = (row.target or {}).get("url", "") if isinstance(row.target, dict) else ""
        bind.execute(notifications.update().where(notifications.c.id == row.id).values(
            text=text[:500], link=link[:300]))

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('text', existing_type=sa.String(length=500), nullable=False)
        batch_op.alter_column('link', existing_type=sa.String(length=300), nullable=False)
        batch_op.drop_column('target')
        batch_op.drop_column('message')

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_due')
    op.drop_table('outbox_messages')
