"""response.assisted: an officer helped the citizen fill the form in (issue 16)

Revision ID: a16c0f1e2d3b
Revises: 8af7cd11ad8e
Create Date: 2026-12-06 01:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a16c0f1e2d3b'
down_revision = '8af7cd11ad8e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assisted', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_column('assisted')
