"""The queues at any size: keyset indexes, and the text search's bigram index on PostgreSQL

Revision ID: 7b1e5c3d9a40
Revises: 65c2278943b6
Create Date: 2026-12-02 10:40:00

The handler's queue walks (due_at, id), intake's (status, created_at, id); the petition
page finds what was merged into a petition by duplicate_of_id; the public page reads the
latest replies by issued_at. On PostgreSQL the
search narrows by the two-character pieces of the text through a GIN index on
petition_bigrams(lower(tracking_no || ' ' || title || ' ' || content)): pg_trgm cannot serve
a two-character Chinese word (its pattern yields no trigram), bigrams can.
"""
from alembic import op
import sqlalchemy as sa


revision = '7b1e5c3d9a40'
down_revision = '65c2278943b6'
branch_labels = None
depends_on = None

BIGRAMS = """
CREATE OR REPLACE FUNCTION petition_bigrams(words text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(words, i, 2)), '{}'::text[])
    FROM generate_series(1, length(words) - 1) AS i
$$
"""
SEARCH_INDEX = (
    "CREATE INDEX ix_petitions_search_bigrams ON petitions USING gin "
    "(petition_bigrams(lower(tracking_no || ' ' || title || ' ' || content)))"
)


def upgrade():
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.drop_index('ix_petitions_due_at')
        batch_op.drop_index('ix_petitions_status_created')
        batch_op.create_index('ix_petitions_due_id', ['due_at', 'id'], unique=False)
        batch_op.create_index('ix_petitions_status_created', ['status', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_petitions_unit_due', ['unit_id', 'due_at', 'id'], unique=False)
        batch_op.create_index(
            'ix_petitions_duplicate_of', ['duplicate_of_id'], unique=False,
            postgresql_where=sa.text('duplicate_of_id IS NOT NULL'),
            sqlite_where=sa.text('duplicate_of_id IS NOT NULL'),
        )
    with op.batch_alter_table('replies', schema=None) as batch_op:
        batch_op.create_index('ix_replies_issued_at', ['issued_at'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(BIGRAMS)
        op.execute(SEARCH_INDEX)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_petitions_search_bigrams')
        op.execute('DROP FUNCTION IF EXISTS petition_bigrams(text)')
    with op.batch_alter_table('replies', schema=None) as batch_op:
        batch_op.drop_index('ix_replies_issued_at')
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.drop_index('ix_petitions_duplicate_of')
        batch_op.drop_index('ix_petitions_unit_due')
        batch_op.drop_index('ix_petitions_status_created')
        batch_op.drop_index('ix_petitions_due_id')
        batch_op.create_index('ix_petitions_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_petitions_due_at', ['due_at'], unique=False)
