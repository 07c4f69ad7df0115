"""agency: the "ministry" level (issue 20 item 3)

Revision ID: c3a91f0d7e52
Revises: e90af8c514b5
Create Date: 2026-12-06 05:50:00

A national installation's units are provinces and ministries; a ministry is a top-level agency
with its own level rather than one entered as a province.

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3a91f0d7e52'
down_revision = 'e90af8c514b5'
branch_labels = None
depends_on = None

OLD_LEVELS = "'province', 'department', 'district', 'commune'"
NEW_LEVELS = OLD_LEVELS + ", 'ministry'"


def _sqlite_check(old: str, new: str) -> None:
    """Rewrite the agency table's CHECK text in place (SQLite's own procedure for changing a CHECK
    constraint, https://sqlite.org/lang_altertable.html#otheralter). Batch mode would copy and drop
    the table instead, which counters, responses and users refer to: with foreign keys on, the drop
    is refused, and they cannot be turned off inside the migration's transaction."""
    bind = op.get_bind()
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    changed = bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'agency' "
        "AND instr(sql, ?) > 0", (f"level IN ({old})", f"level IN ({new})", f"level IN ({old})")).rowcount
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    if changed != 1:
        raise RuntimeError(f"the agency table's level check is not level IN ({old})")


def _replace_check(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_check(old, new)
        return
    op.drop_constraint(op.f('ck_agency_level'), 'agency', type_='check')
    op.create_check_constraint(op.f('ck_agency_level'), 'agency', f"level IN ({new})")


def upgrade():
    _replace_check(OLD_LEVELS, NEW_LEVELS)


def downgrade():
    # A ministry sits at the top like a province, the nearest level the old schema knows.
    op.execute("UPDATE agency SET level = 'province' WHERE level = 'ministry'")
    _replace_check(NEW_LEVELS, OLD_LEVELS)
