"""The text search's bigram index keeps a short list of pending entries (256 kB, not 4 MB)

Revision ID: 9c4e2a7b5d18
Revises: 7b1e5c3d9a40
Create Date: 2026-12-05 01:50:00

A GIN index first puts new entries in a pending list, which every search through the index
reads whole, and merges it into the index when it outgrows gin_pending_list_limit (4 MB by
default). At the rate petitions are filed in a busy hour the list held 260 pages, and a
search spent 1.8 ms reading it against 0.04 ms for the index itself; at 256 kB it holds at
most 32 pages, and the filing that fills it merges it (a few milliseconds, as often). Only
PostgreSQL has the index.
"""
from alembic import op


revision = '9c4e2a7b5d18'
down_revision = '7b1e5c3d9a40'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER INDEX ix_petitions_search_bigrams SET (gin_pending_list_limit = 256)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER INDEX ix_petitions_search_bigrams RESET (gin_pending_list_limit)')
