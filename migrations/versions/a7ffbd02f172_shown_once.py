"""shown_once: what a page shows a single time (a new petition's query code), sealed, until shown

Revision ID: a7ffbd02f172
Revises: 42b48a46bc64
Create Date: 2026-12-05 00:10:00

"""
from alembic import op
import sqlalchemy as sa

import petitions.types


# revision identifiers, used by Alembic.
revision = 'a7ffbd02f172'
down_revision = '42b48a46bc64'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('shown_once',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('sealed', sa.Text(), nullable=False),
    sa.Column('created_at', petitions.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', petitions.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shown_once')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_shown_once_key_hash'))
    )
    with op.batch_alter_table('shown_once', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shown_once_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('shown_once', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shown_once_expires_at'))

    op.drop_table('shown_once')
