"""invitations: the enumerator role and SMS messages in the outbox (issue 19)

Revision ID: b19e2a7c4d15
Revises: 904e6d48be15
Create Date: 2026-12-06 04:20:00

Issue 19, items 5 and 6: enumerators enter sampled dossiers' answers from face-to-face or phone
interviews; invitations and reminders go out by SMS through the outbox as well as by e-mail.

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b19e2a7c4d15'
down_revision = '904e6d48be15'
branch_labels = None
depends_on = None

ROLE_CHECK = "role IN ('administrator', 'designer', 'manager', 'leader', 'handler'{})"
KIND_CHECK = "kind IN ('email', 'webhook'{})"


def upgrade():
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_app_user_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_app_user_role'), ROLE_CHECK.format(", 'enumerator'"))
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_message_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_message_kind'), KIND_CHECK.format(", 'sms'"))


def downgrade():
    op.execute("UPDATE app_user SET role = 'leader', active = false WHERE role = 'enumerator'")
    op.execute("DELETE FROM outbox_message WHERE kind = 'sms'")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_message_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_message_kind'), KIND_CHECK.format(""))
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_app_user_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_app_user_role'), ROLE_CHECK.format(""))
