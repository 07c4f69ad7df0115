"""A partial index of assisted responses, so the reports count them without a full scan (issue 15, item 7)

Revision ID: e7a15c0b2f44
Revises: d21c0a7e5f19
Create Date: 2026-12-06 02:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e7a15c0b2f44'
down_revision = 'd21c0a7e5f19'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_index('ix_response_assisted', ['version_id', 'submitted_at'], unique=False,
                              sqlite_where=sa.text('assisted IS 1'),
                              postgresql_where=sa.text('assisted IS true'))


def downgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index('ix_response_assisted', sqlite_where=sa.text('assisted IS 1'),
                            postgresql_where=sa.text('assisted IS true'))
