"""report cells packed per month and column (issue 15, item 7): a cell's last touch, the packs

Revision ID: a7c3e91d5b20
Revises: b19e2a7c4d15
Create Date: 2026-12-06 04:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e91d5b20'
down_revision = 'b19e2a7c4d15'
branch_labels = None
depends_on = None


def upgrade():
    # Existing cells get 0 (touched long ago): the first report packs every month.
    with op.batch_alter_table('report_cell') as batch_op:
        batch_op.add_column(sa.Column('touched', sa.Float(), server_default='0', nullable=False))
        batch_op.create_index('ix_report_cell_touched', ['version_id', 'touched'], unique=False)
        batch_op.create_index('ix_report_cell_month', ['version_id', 'month'], unique=False)
    op.create_table('report_cell_column',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('packed_at', sa.Float(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['questionnaire_version.id'], name=op.f('fk_report_cell_column_version_id_questionnaire_version')),
    sa.PrimaryKeyConstraint('version_id', 'month', 'name', name=op.f('pk_report_cell_column'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        # Packed floats do not compress: stored out of line as they are, read without decompressing.
        op.execute('ALTER TABLE report_cell_column ALTER COLUMN payload SET STORAGE EXTERNAL')


def downgrade():
    op.drop_table('report_cell_column')
    with op.batch_alter_table('report_cell') as batch_op:
        batch_op.drop_index('ix_report_cell_month')
        batch_op.drop_index('ix_report_cell_touched')
        batch_op.drop_column('touched')
