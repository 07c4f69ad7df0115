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


def _sqlite_check(table: str, old: str, new: str) -> None:
    """Rewrite a table's CHECK text in place (SQLite's own procedure for changing a CHECK constraint,
    https://sqlite.org/lang_altertable.html#otheralter). Batch mode would copy and drop the table, and
    with foreign keys on, dropping app_user sets every audit event's, case's and note's user to NULL."""
    bind = op.get_bind()
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    changed = bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = ? "
        "AND instr(sql, ?) > 0", (old, new, table, old)).rowcount
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    if changed != 1:
        raise RuntimeError(f"the {table} table's check is not {old}")


def _replace_check(table: str, name: str, old: str, new: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_check(table, old, new)
        return
    op.drop_constraint(op.f(name), table, type_='check')
    op.create_check_constraint(op.f(name), table, new)


def upgrade():
    _replace_check('app_user', 'ck_app_user_role', ROLE_CHECK.format(""), ROLE_CHECK.format(", 'enumerator'"))
    _replace_check('outbox_message', 'ck_outbox_message_kind', KIND_CHECK.format(""), KIND_CHECK.format(", 'sms'"))


def downgrade():
    op.execute("UPDATE app_user SET role = 'leader', active = false WHERE role = 'enumerator'")
    op.execute("DELETE FROM outbox_message WHERE kind = 'sms'")
    _replace_check('outbox_message', 'ck_outbox_message_kind', KIND_CHECK.format(", 'sms'"), KIND_CHECK.format(""))
    _replace_check('app_user', 'ck_app_user_role', ROLE_CHECK.format(", 'enumerator'"), ROLE_CHECK.format(""))
