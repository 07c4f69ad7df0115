"""response.interview_date, enumerator, interview_mode: paper questionnaires and interviews (issue 17)

Revision ID: c17f2b9a4e51
Revises: b17e5a1d0c44
Create Date: 2026-12-06 02:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c17f2b9a4e51'
down_revision = 'b17e5a1d0c44'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interview_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('enumerator', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('interview_mode', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_column('interview_mode')
        batch_op.drop_column('enumerator')
        batch_op.drop_column('interview_date')
