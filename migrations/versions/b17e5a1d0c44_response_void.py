"""response.voided_at, voided_by, void_reason: a response voided by staff, kept but out of reports (issue 17)

Revision ID: b17e5a1d0c44
Revises: a16c0f1e2d3b
Create Date: 2026-12-06 02:00:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'b17e5a1d0c44'
down_revision = 'a16c0f1e2d3b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('voided_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('void_reason', sa.String(length=300), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_response_voided_by_app_user'), 'app_user', ['voided_by'], ['id'])


def downgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_response_voided_by_app_user'), type_='foreignkey')
        batch_op.drop_column('void_reason')
        batch_op.drop_column('voided_by')
        batch_op.drop_column('voided_at')
