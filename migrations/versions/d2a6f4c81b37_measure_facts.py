"""measure_facts: what the measures count, one row per routing, decision, reply, closure and
stopped handling clock, kept with each change, filled here from the record; running unit clocks by due time;
measure_months and settled_months: the sums of the months that can no longer change

Revision ID: d2a6f4c81b37
Revises: 9c5e7a1d3f20
Create Date: 2026-12-02 02:20:00

"""
from alembic import op
import sqlalchemy as sa

import petitions.types


# revision identifiers, used by Alembic.
revision = 'd2a6f4c81b37'
down_revision = '9c5e7a1d3f20'
branch_labels = None
depends_on = None

COLUMNS = "(kind, petition_id, unit_id, at, prev_at, acted_at, rated_at, score, late, days, speedup)"
# The rows of the record as it stands (petitions.measures.facts.REBUILD_SQL at this revision).
BACKFILL = (
    f"""INSERT INTO measure_facts {COLUMNS}
    SELECT 'routed', e.petition_id, e.unit_id, e.at,
           LAG(e.at) OVER (PARTITION BY e.petition_id, e.unit_id ORDER BY e.at, e.id),
           (SELECT MIN(a.at) FROM events a WHERE a.petition_id = e.petition_id AND a.unit_id = e.unit_id
               AND a.actor_role IN ('handler', 'leader') AND a.id >= e.id),
           NULL, NULL, FALSE, NULL, NULL
    FROM events e WHERE e.type = 'routed' AND e.unit_id IS NOT NULL""",
    f"""INSERT INTO measure_facts {COLUMNS}
    SELECT e.type, e.petition_id, e.unit_id, e.at,
           LAG(e.at) OVER (PARTITION BY e.type, e.petition_id, e.unit_id ORDER BY e.at, e.id),
           NULL, NULL, NULL, FALSE, NULL, NULL
    FROM events e WHERE e.type IN ('accepted', 'declined') AND e.unit_id IS NOT NULL""",
    f"""INSERT INTO measure_facts {COLUMNS}
    SELECT 'replied', e.petition_id, e.unit_id, e.at,
           LAG(e.at) OVER (PARTITION BY e.petition_id, e.unit_id ORDER BY e.at, e.id),
           NULL, r.created_at, r.score, FALSE, NULL, NULL
    FROM events e
    LEFT JOIN ratings r ON r.id = (SELECT MIN(f.id) FROM ratings f
                                   WHERE f.petition_id = e.petition_id AND f.unit_id = e.unit_id)
    WHERE e.type IN ('replied', 'review_replied', 'rereview_replied') AND e.unit_id IS NOT NULL""",
    f"""INSERT INTO measure_facts {COLUMNS}
    SELECT 'closed', p.id, p.unit_id, p.closed_at, NULL, NULL, NULL, NULL,
           EXISTS (SELECT 1 FROM clocks c WHERE c.petition_id = p.id AND c.unit_id = p.unit_id
                     AND c.kind IN ('accept', 'handle', 'on_spot', 'review', 'rereview')
                     AND COALESCE(c.stopped_at, p.closed_at) > c.due_at),
           NULL, NULL
    FROM petitions p WHERE p.status = 'closed' AND p.unit_id IS NOT NULL AND p.closed_at IS NOT NULL""",
)


DAYS = {
    "postgresql": "(date_part('epoch', {a} - {b}) / 86400.0)",
    "sqlite": "(julianday({a}) - julianday({b}))",
}
HANDLED = """INSERT INTO measure_facts {columns}
    SELECT 'handled', c.petition_id, c.unit_id, c.stopped_at, NULL, NULL, NULL, NULL, FALSE, {used},
           CASE WHEN {allowed} > 0 THEN ({allowed} - {used}) / {allowed} ELSE 0.0 END
    FROM clocks c WHERE c.kind = 'handle' AND c.unit_id IS NOT NULL AND c.stopped_at IS NOT NULL"""
RUNNING_UNIT_CLOCKS = "stopped_at IS NULL AND kind IN ('accept', 'handle', 'on_spot', 'review', 'rereview')"


def upgrade():
    op.create_table(
        'measure_facts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('petition_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('at', petitions.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('prev_at', petitions.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('acted_at', petitions.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('rated_at', petitions.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('score', sa.String(length=24), nullable=True),
        sa.Column('late', sa.Boolean(), nullable=False),
        sa.Column('days', sa.Float(), nullable=True),
        sa.Column('speedup', sa.Float(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('routed', 'accepted', 'declined', 'replied', 'closed', 'handled')",
            name=op.f('ck_measure_facts_kind'),
        ),
        sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_measure_facts_petition_id_petitions')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_measure_facts_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_facts')),
    )
    with op.batch_alter_table('measure_facts', schema=None) as batch_op:
        batch_op.create_index(
            'ix_measure_facts_kind_at', ['kind', 'at'], unique=False,
            postgresql_include=['unit_id', 'prev_at', 'acted_at', 'rated_at', 'score', 'late', 'days', 'speedup'],
        )
        batch_op.create_index('ix_measure_facts_pair', ['petition_id', 'unit_id', 'kind'], unique=False)
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.create_index(
            'ix_clocks_unit_running', ['due_at'], unique=False,
            postgresql_include=['unit_id', 'petition_id', 'started_at'],
            postgresql_where=sa.text(RUNNING_UNIT_CLOCKS), sqlite_where=sa.text(RUNNING_UNIT_CLOCKS),
        )
    op.create_table(
        'measure_months',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('prev_month', sa.Integer(), nullable=True),
        sa.Column('rated_month', sa.Integer(), nullable=True),
        sa.Column('score', sa.String(length=24), nullable=True),
        sa.Column('flag', sa.Boolean(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('days', sa.Float(), nullable=True),
        sa.Column('speedup', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_measure_months_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_measure_months')),
    )
    with op.batch_alter_table('measure_months', schema=None) as batch_op:
        batch_op.create_index('ix_measure_months_month', ['month'], unique=False)
    op.create_table(
        'settled_months',
        sa.Column('month', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('settled_at', petitions.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('month', name=op.f('pk_settled_months')),
    )
    for sql in BACKFILL:
        op.execute(sa.text(sql))
    days = DAYS.get(op.get_bind().dialect.name, DAYS["postgresql"])
    op.execute(sa.text(HANDLED.format(
        columns=COLUMNS,
        used=days.format(a="c.stopped_at", b="c.started_at"),
        allowed=days.format(a="c.statutory_due_at", b="c.started_at"),
    )))


def downgrade():
    op.drop_table('settled_months')
    with op.batch_alter_table('measure_months', schema=None) as batch_op:
        batch_op.drop_index('ix_measure_months_month')
    op.drop_table('measure_months')
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_clocks_unit_running')
    with op.batch_alter_table('measure_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_measure_facts_pair')
        batch_op.drop_index('ix_measure_facts_kind_at')
    op.drop_table('measure_facts')
