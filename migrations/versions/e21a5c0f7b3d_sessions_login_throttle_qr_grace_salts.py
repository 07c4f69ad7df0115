"""issue 21: session versions, failed logins per account and address, a rotated QR token's grace
period, daily client-hash salts

Revision ID: e21a5c0f7b3d
Revises: c9e4b657e588
Create Date: 2026-12-06 01:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e21a5c0f7b3d'
down_revision = 'c9e4b657e588'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('service_point', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qr_token_previous', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('qr_token_previous_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_service_point_qr_token_previous'), ['qr_token_previous'],
                              unique=False)
    op.create_table('login_throttle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttle')),
    sa.UniqueConstraint('email', 'client', name=op.f('uq_login_throttle_email_client'))
    )
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttle_email'), ['email'], unique=False)
    op.create_table('client_hash_salt',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_client_hash_salt'))
    )


def downgrade():
    op.drop_table('client_hash_salt')
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttle_email'))
    op.drop_table('login_throttle')
    with op.batch_alter_table('service_point', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_point_qr_token_previous'))
        batch_op.drop_column('qr_token_previous_until')
        batch_op.drop_column('qr_token_previous')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('session_version')
