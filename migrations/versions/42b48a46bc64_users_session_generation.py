"""users: session_generation (log-out, a new password and deactivation end every web session)
and password_changed_at (API tokens issued before it no longer count)

Revision ID: 42b48a46bc64
Revises: a61f0c9d2e14
Create Date: 2026-12-05 00:00:00

"""
from alembic import op
import sqlalchemy as sa

import petitions.types


# revision identifiers, used by Alembic.
revision = '42b48a46bc64'
down_revision = 'a61f0c9d2e14'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(
            sa.Column('password_changed_at', petitions.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('password_changed_at')
        batch_op.drop_column('session_generation')
