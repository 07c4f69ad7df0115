"""The campaign form (issue 19): settings of a campaign while it is being planned."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, FloatField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.admin.forms import CODE


class CampaignForm(FlaskForm):
    """Questionnaire, agency, period, strata and the precision the plan aims at."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32), CODE])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    version_id = SelectField(_l("Questionnaire version"), coerce=int)
    agency_id = SelectField(_l("Agency (its whole subtree)"), coerce=int)
    period_start = DateField(_l("Dossiers completed from"), validators=[DataRequired()])
    period_end = DateField(_l("to"), validators=[DataRequired()])
    strata_by = SelectField(_l("Strata"))
    target_half_width = FloatField(_l("Target precision: ± percent points (95 %)"), default=5.0,
                                   validators=[DataRequired(), NumberRange(min=0.1, max=50)])
    design_effect = FloatField(_l("Assumed design effect"), default=1.0,
                               validators=[DataRequired(), NumberRange(min=1, max=20)])
    expected_response_rate = FloatField(_l("Expected response rate (%)"), default=50.0,
                                        validators=[DataRequired(), NumberRange(min=1, max=100)])
    allocation = SelectField(_l("Allocation"))
    budget = IntegerField(_l("Budget: at most this many invitations (optional)"),
                          validators=[Optional(), NumberRange(min=1, max=10_000_000)])
    method = SelectField(_l("Drawing method"))
    # optional so a form posted without it (older pages, scripts) keeps the default
    reminder_days = IntegerField(_l("Remind after this many days without an answer"), default=7,
                                 validators=[Optional(), NumberRange(min=1, max=90)])

    def fill_choices(self, versions: list[tuple[int, str]], agencies: list[tuple[int, str]]) -> None:
        """The select boxes' choices (set on the bound form: wtforms 3.3 warns about declared tuples)."""
        self.version_id.choices = versions
        self.agency_id.choices = agencies
        self.strata_by.choices = [("agency", str(_l("Agency"))),
                                  ("agency_procedure_group", str(_l("Agency and procedure group")))]
        self.allocation.choices = [("proportional", str(_l("Proportional to the dossiers"))),
                                   ("equal", str(_l("Equal per stratum"))), ("neyman", str(_l("Neyman")))]
        self.method.choices = [("srs", str(_l("Simple random"))),
                               ("systematic", str(_l("Systematic (by completion day)")))]
