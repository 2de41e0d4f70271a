"""open311_keys, login_failures, auth_locks; a petition may wait without a place (Open311)

Revision ID: b8f3d1e6a2c4
Revises: 7d41c2a9b8e5
Create Date: 2026-03-02 00:00:00

"""
from alembic import op
import sqlalchemy as sa

import petitions.types


# revision identifiers, used by Alembic.
revision = 'b8f3d1e6a2c4'
down_revision = '7d41c2a9b8e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'open311_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=8), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', petitions.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('last_used_at', petitions.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_open311_keys_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_keys')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_open311_keys_key_hash')),
    )
    op.create_table(
        'login_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('at', petitions.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('cleared', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures')),
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_login_failures_pair', ['username', 'address', 'at'], unique=False)
    op.create_table(
        'auth_locks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('locked_at', petitions.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('until', petitions.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('released_at', petitions.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('released_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['released_by_id'], ['users.id'], name=op.f('fk_auth_locks_released_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_locks')),
    )
    with op.batch_alter_table('auth_locks', schema=None) as batch_op:
        batch_op.create_index('ix_auth_locks_pair', ['username', 'address', 'until'], unique=False)
        batch_op.create_index(batch_op.f('ix_auth_locks_locked_at'), ['locked_at'], unique=False)
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.alter_column('township_id', existing_type=sa.Integer(), nullable=True)


def downgrade():
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.alter_column('township_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('auth_locks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_locks_locked_at'))
        batch_op.drop_index('ix_auth_locks_pair')
    op.drop_table('auth_locks')
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failures_pair')
    op.drop_table('login_failures')
    op.drop_table('open311_keys')
