"""Forms of the admin blueprint (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp

CODE = Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", message=_l("Letters, digits, . _ - only."))


class ActionForm(FlaskForm):
    """An empty form for POST buttons (deactivate, rotate, publish…): CSRF only."""


class UserCreateForm(FlaskForm):
    """A new account."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"))
    agency_id = SelectField(_l("Agency (for managers and leaders)"), coerce=int)
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=200)])


class UserEditForm(FlaskForm):
    """Role, agency and state of an account."""

    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"))
    agency_id = SelectField(_l("Agency (for managers and leaders)"), coerce=int)
    active = BooleanField(_l("Active"))


class AgencyForm(FlaskForm):
    """An agency of the tree."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32), CODE])
    name_vi = StringField(_l("Name (Vietnamese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=200)])
    level = SelectField(_l("Level"))
    parent_id = SelectField(_l("Parent agency"), coerce=int)
    active = BooleanField(_l("Active"), default=True)


class ServiceForm(FlaskForm):
    """An administrative procedure or service field."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=64), CODE])
    name_vi = StringField(_l("Name (Vietnamese)"), validators=[DataRequired(), Length(max=300)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=300)])
    active = BooleanField(_l("Active"), default=True)


class CounterForm(FlaskForm):
    """A counter (service point)."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=64), CODE])
    agency_id = SelectField(_l("Agency"), coerce=int)
    name_vi = StringField(_l("Name (Vietnamese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=200)])
    questionnaire_id = SelectField(_l("Questionnaire"), coerce=int)
    service_ids = SelectMultipleField(_l("Services offered"), coerce=int)
    active = BooleanField(_l("Active"), default=True)


class UploadForm(FlaskForm):
    """One CSV (or questionnaire) file."""

    file = FileField(_l("File"), validators=[FileRequired()])


class DraftForm(FlaskForm):
    """The questionnaire file of a draft, as YAML text."""

    text = TextAreaField(_l("Questionnaire file (YAML)"), validators=[DataRequired()])


class NewQuestionnaireForm(FlaskForm):
    """Start a draft from a template."""

    template = SelectField(_l("Start from"))
    code = StringField(
        _l("Code of the new questionnaire"),
        validators=[DataRequired(), Length(max=64),
                    Regexp(r"^[a-z0-9-]+$", message=_l("Lower-case letters, digits and - only."))],
    )


class PaperForm(FlaskForm):
    """Which counter a paper questionnaire came from; answers are read by question code."""

    counter_id = SelectField(_l("Counter"), coerce=int)
