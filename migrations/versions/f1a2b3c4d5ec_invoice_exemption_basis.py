"""invoice exemption basis: the legal basis of a VAT exemption (art. 106e ust. 1 pkt 19)

An invoice with exempt (`zw`) lines states the provision it is exempt under; the supplier
chooses its kind (`exemption_basis_kind`: "ustawa", "dyrektywa", "inna", KSeF FA(3) P_19A/B/C)
and text (`exemption_basis`, at most 256 characters as FA(3)'s TZnakowy) on the draft. A
supplier's usual basis (the same two columns on `organizations`, company profile) is copied to
its new drafts.

Issued invoices and credit notes with `zw` lines printed (PDF) and stated (FA(3) P_19A) the
act's article 43 ust. 1 until now: that is backfilled as their basis, so what they store reads
as what their stored documents say (plain UPDATE, SQLite and PostgreSQL). Drafts are left
blank: the supplier chooses before issuing.

Helper B may add a migration after f1a2b3c4d5ea too: the lead re-chains the two when merging.

Revision ID: f1a2b3c4d5ec
Revises: f1a2b3c4d5eb
Create Date: 2026-12-05 21:55:39

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f1a2b3c4d5ec'
down_revision = 'f1a2b3c4d5eb'
branch_labels = None
depends_on = None

# What the PDF and the FA(3) XML printed for every `zw` line before the basis was chosen.
PRINTED_BEFORE = "art. 43 ust. 1 ustawy z dnia 11 marca 2004 r. o podatku od towarów i usług"


def upgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exemption_basis_kind', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('exemption_basis', sa.String(length=256), server_default='', nullable=False))

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exemption_basis_kind', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('exemption_basis', sa.String(length=256), server_default='', nullable=False))

    op.execute(sa.text(
        "UPDATE invoices SET exemption_basis_kind = 'ustawa', exemption_basis = :basis "
        "WHERE status <> 'draft' AND id IN (SELECT invoice_id FROM invoice_lines WHERE vat_code = 'zw')"
    ).bindparams(basis=PRINTED_BEFORE))


def downgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('exemption_basis')
        batch_op.drop_column('exemption_basis_kind')

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('exemption_basis')
        batch_op.drop_column('exemption_basis_kind')
