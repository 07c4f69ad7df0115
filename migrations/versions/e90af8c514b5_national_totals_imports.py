"""A national installation (issue 20): the units' public keys and the totals files they sent

Revision ID: e90af8c514b5
Revises: 1520bf922558
Create Date: 2026-12-06 04:38:29.332148

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e90af8c514b5'
down_revision = '1520bf922558'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('totals_unit_key',
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('public_key_pem', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_totals_unit_key_agency_id_agency')),
    sa.PrimaryKeyConstraint('agency_id', name=op.f('pk_totals_unit_key'))
    )
    op.create_table('totals_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('questionnaire_code', sa.String(length=64), nullable=False),
    sa.Column('questionnaire_version', sa.Integer(), nullable=False),
    sa.Column('questionnaire_sha256', sa.String(length=64), nullable=False),
    sa.Column('period_from', sa.String(length=7), nullable=False),
    sa.Column('period_to', sa.String(length=7), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_totals_import_agency_id_agency')),
    sa.ForeignKeyConstraint(['imported_by_id'], ['app_user.id'],
                            name=op.f('fk_totals_import_imported_by_id_app_user')),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['totals_import.id'],
                            name=op.f('fk_totals_import_replaced_by_id_totals_import')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_totals_import'))
    )
    with op.batch_alter_table('totals_import', schema=None) as batch_op:
        batch_op.create_index('ix_totals_import_unit_active', ['agency_id', 'active'], unique=False)



def downgrade():
    with op.batch_alter_table('totals_import', schema=None) as batch_op:
        batch_op.drop_index('ix_totals_import_unit_active')

    op.drop_table('totals_import')
    op.drop_table('totals_unit_key')
