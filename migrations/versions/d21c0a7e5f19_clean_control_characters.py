"""Remove control characters stored in answers before input checks existed (issue 21, finding 1)

A comment posted with a NUL byte was stored in the answers' JSON as the escape \\u0000, and PostgreSQL
refuses to turn such JSON into text, which made every comments page of its scope fail. New input is
refused where it enters (app.inputs); this cleans what was stored before, on both databases.

Revision ID: d21c0a7e5f19
Revises: c17f2b9a4e51
Create Date: 2026-12-06 02:45:00

"""
import json
import re

import sqlalchemy as sa
from alembic import op

revision = 'd21c0a7e5f19'
down_revision = 'c17f2b9a4e51'
branch_labels = None
depends_on = None

# What app.inputs refuses in multi-line text: C0 and C1 controls but tab, line feed and carriage return.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _clean(value):
    if isinstance(value, str):
        return CONTROL.sub("", value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {_clean(key): _clean(item) for key, item in value.items()}
    return value


def upgrade():
    bind = op.get_bind()
    # Stored JSON writes a control character as an escape \u00XX (json.dumps and PostgreSQL alike).
    as_text = "answers::text" if bind.dialect.name == "postgresql" else "answers"
    rows = bind.execute(sa.text(
        f"SELECT id, {as_text} FROM response WHERE {as_text} LIKE '%\\u00%'")).all()  # noqa: S608
    value = "CAST(:answers AS JSON)" if bind.dialect.name == "postgresql" else ":answers"
    for response_id, stored in rows:
        answers = json.loads(stored)
        cleaned = _clean(answers)
        if cleaned != answers:
            bind.execute(sa.text(f"UPDATE response SET answers = {value} WHERE id = :id"),
                         {"answers": json.dumps(cleaned), "id": response_id})


def downgrade():
    pass  # the removed characters are not kept
