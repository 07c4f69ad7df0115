"""A national installation's forms (issue 20): a unit's public key, and a unit's signed totals file."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, TextAreaField
from wtforms.validators import Optional


class UnitKeyForm(FlaskForm):
    """The unit and its public key: pasted, or a .pub file."""

    unit = SelectField(_l("Unit"))
    pem = TextAreaField(_l("Public key (PEM, as `flask totals key` prints it)"), validators=[Optional()])
    key_file = FileField(_l("or the key file (.pub)"))


class TotalsUploadForm(FlaskForm):
    """The totals file and its detached signature."""

    file = FileField(_l("Totals file (.parquet)"), validators=[FileRequired()])
    signature = FileField(_l("Signature (.parquet.sig)"), validators=[FileRequired()])
