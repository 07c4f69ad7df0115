"""report cells: the time zone their months were cut in (a different one, or none, rebuilds them)

Revision ID: f15a0c2e7b31
Revises: e21a5c0f7b3d
Create Date: 2026-12-06 01:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f15a0c2e7b31'
down_revision = 'e21a5c0f7b3d'
branch_labels = None
depends_on = None


def upgrade():
    # Existing markers get NULL: their cells' months were cut in UTC, so the next report rebuilds them.
    with op.batch_alter_table('report_cells_built') as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('report_cells_built') as batch_op:
        batch_op.drop_column('timezone')
