"""follow_ups: the units' phone follow-ups (电话回访) of replies

Revision ID: 7d41c2a9b8e5
Revises: 5a7d2c41e9b3
Create Date: 2026-03-01 00:00:00

"""
from alembic import op
import sqlalchemy as sa

import petitions.types


# revision identifiers, used by Alembic.
revision = '7d41c2a9b8e5'
down_revision = '5a7d2c41e9b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'follow_ups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('petition_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('called_by_id', sa.Integer(), nullable=True),
        sa.Column('spoke_with', sa.String(length=64), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('citizen_view', sa.String(length=24), nullable=True),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('at', petitions.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome IN ('reached', 'unreachable', 'declined')", name=op.f('ck_follow_ups_outcome')),
        sa.CheckConstraint(
            "citizen_view IS NULL OR citizen_view IN ('satisfied', 'basically_satisfied', 'unsatisfied')",
            name=op.f('ck_follow_ups_citizen_view'),
        ),
        sa.ForeignKeyConstraint(['called_by_id'], ['users.id'], name=op.f('fk_follow_ups_called_by_id_users')),
        sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_follow_ups_petition_id_petitions')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_follow_ups_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups')),
    )
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_ups_petition_id'), ['petition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_unit_id'), ['unit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_ups_unit_id'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_petition_id'))
    op.drop_table('follow_ups')
