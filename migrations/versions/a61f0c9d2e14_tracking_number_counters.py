"""tracking number counters: the sequence on PostgreSQL, a row per day elsewhere

Revision ID: a61f0c9d2e14
Revises: d2a6f4c81b37
Create Date: 2026-12-02 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a61f0c9d2e14'
down_revision = 'd2a6f4c81b37'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tracking_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_tracking_days'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE SEQUENCE IF NOT EXISTS tracking_numbers')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP SEQUENCE IF EXISTS tracking_numbers')
    op.drop_table('tracking_days')
