"""report cells: per design cell sums kept by every writer, read by the reports

Revision ID: c9e4b657e588
Revises: d8f4f01221ed
Create Date: 2026-11-22 08:16:45.957539

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c9e4b657e588'
down_revision = 'd8f4f01221ed'
branch_labels = None
depends_on = None

# Frozen copy of app/models/report_cell.py's columns (a migration must not import the models).
SLOTS = 40
COUNT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _sum(name):
    kind = sa.Float() if name.startswith(('w', 'r')) else COUNT
    return sa.Column(name, kind, server_default='0', nullable=False)


def upgrade():
    sums = [_sum(f'{kind}{slot}') for slot in range(1, SLOTS + 1) for kind in ('a', 's', 'r', 'wa', 'ws', 'wr')]
    sums += [_sum(f'e{slot}') for slot in range(1, SLOTS + 1)]
    op.create_table('report_cell',
    sa.Column('id', COUNT, nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('stratum', sa.String(length=64), nullable=False),
    sa.Column('psu', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('suspicious', sa.Boolean(), nullable=False),
    _sum('n'),
    _sum('w'),
    _sum('any_answered'),
    *sums,
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_report_cell_agency_id_agency')),
    sa.ForeignKeyConstraint(['version_id'], ['questionnaire_version.id'], name=op.f('fk_report_cell_version_id_questionnaire_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_cell'))
    )
    with op.batch_alter_table('report_cell', schema=None) as batch_op:
        batch_op.create_index('ux_report_cell_key', ['version_id', 'agency_id', 'month', 'stratum', 'psu', 'channel', 'verified', 'suspicious'], unique=True)

    op.create_table('report_cells_built',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['questionnaire_version.id'], name=op.f('fk_report_cells_built_version_id_questionnaire_version')),
    sa.PrimaryKeyConstraint('version_id', name=op.f('pk_report_cells_built'))
    )


def downgrade():
    op.drop_table('report_cells_built')
    with op.batch_alter_table('report_cell', schema=None) as batch_op:
        batch_op.drop_index('ux_report_cell_key')

    op.drop_table('report_cell')
