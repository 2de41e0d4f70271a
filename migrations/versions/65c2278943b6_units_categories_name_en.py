"""units.name_en, categories.name_en: optional English names, shown with ?lang=en

Revision ID: 65c2278943b6
Revises: a7ffbd02f172
Create Date: 2026-12-02 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '65c2278943b6'
down_revision = 'a7ffbd02f172'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_en', sa.String(length=100), nullable=True))
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_en', sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('name_en')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('name_en')
