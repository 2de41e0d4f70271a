"""indexes for the measures: events by type and time, staff actions, closed petitions,
stopped clocks, unit clocks, cards by time

Revision ID: 9c5e7a1d3f20
Revises: b8f3d1e6a2c4
Create Date: 2026-11-22 03:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9c5e7a1d3f20'
down_revision = 'b8f3d1e6a2c4'
branch_labels = None
depends_on = None

UNIT_CLOCKS = "kind IN ('accept', 'handle', 'on_spot', 'review', 'rereview')"


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(
            'ix_events_type_at', ['type', 'at'], unique=False,
            postgresql_include=['unit_id', 'petition_id'],
            postgresql_where=sa.text('unit_id IS NOT NULL'), sqlite_where=sa.text('unit_id IS NOT NULL'),
        )
        batch_op.create_index(
            'ix_events_staff_actions', ['petition_id', 'unit_id', 'at'], unique=False,
            postgresql_where=sa.text("actor_role IN ('handler', 'leader')"),
            sqlite_where=sa.text("actor_role IN ('handler', 'leader')"),
        )
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_petitions_closed_at', ['closed_at'], unique=False,
            postgresql_include=['unit_id'],
            postgresql_where=sa.text("status = 'closed'"), sqlite_where=sa.text("status = 'closed'"),
        )
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.create_index(
            'ix_clocks_kind_stopped', ['kind', 'stopped_at'], unique=False,
            postgresql_include=['unit_id', 'started_at', 'statutory_due_at'],
        )
        batch_op.create_index(
            'ix_clocks_unit_clocks', ['petition_id'], unique=False,
            postgresql_include=['unit_id', 'due_at', 'stopped_at'],
            postgresql_where=sa.text(UNIT_CLOCKS), sqlite_where=sa.text(UNIT_CLOCKS),
        )
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.create_index(
            'ix_cards_given_at', ['given_at'], unique=False, postgresql_include=['unit_id', 'level'],
        )


def downgrade():
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_index('ix_cards_given_at')
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_clocks_unit_clocks')
        batch_op.drop_index('ix_clocks_kind_stopped')
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.drop_index('ix_petitions_closed_at')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_staff_actions')
        batch_op.drop_index('ix_events_type_at')
