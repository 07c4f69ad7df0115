"""Responses as SPSS (.sav) and Stata (.dta) files, through pyreadstat (issue 17, part 6).

The rows are those of the responses CSV export (the same filter: voided responses are left out),
with each variable labelled by its question's text and coded answers labelled by their words, in
the chosen language:

- likert and nps ratings are numbers; likert values carry the scale's words;
- a single choice is coded 1..k in the options' order, each code labelled by the option's words;
- yes/no is 1/0 and verified, suspicious, assisted are 1/0, labelled;
- a number is a number; comments, multiple choices (a;b), codes and times are text.

Variable names are the CSV columns, made valid for SPSS and Stata (letters, digits, _; 32
characters at most; not starting with a digit).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyreadstat
from flask_babel import force_locale, gettext

from analysis.questionnaire import Questionnaire
from app.services.exchange.responses_csv import (
    ExportFilter,
    _export_versions,
    export_rows,
)
from app.services.questionnaires.versions import questionnaire_of

FORMATS = ("sav", "dta")
FLAG_VARIABLES = ("verified", "suspicious", "assisted")
# Stata keeps 80 characters of a variable label, SPSS 256.
LABEL_LIMIT = {"sav": 256, "dta": 80}
_INVALID = re.compile(r"[^A-Za-z0-9_]")


@dataclass
class StatTable:
    """The data and its labels, ready for pyreadstat."""

    frame: pd.DataFrame
    column_labels: dict[str, str]
    value_labels: dict[str, dict[int, str]]


def variable_names(columns: list[str]) -> dict[str, str]:
    """Each CSV column's variable name, valid and unique in SPSS and Stata."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        name = _INVALID.sub("_", column)[:32] or "v"
        if name[0].isdigit():
            name = ("v" + name)[:32]
        base, n = name, 1
        while name.lower() in taken:
            n += 1
            name = f"{base[:32 - len(str(n)) - 1]}_{n}"
        taken.add(name.lower())
        names[column] = name
    return names


def _text(labels: dict[str, str] | None, lang: str, default: str) -> str:
    if not labels:
        return default
    return labels.get(lang) or labels.get("vi") or next(iter(labels.values()), default)


def _questions(survey: str) -> tuple[dict, Questionnaire | None]:
    """Each question code's question, the latest published version's wording winning."""
    versions = _export_versions(survey)
    questions = {}
    latest = None
    for version in versions:
        latest = questionnaire_of(version)
        questions.update({q.code: (q, latest) for q in latest.all_questions()})
    return questions, latest


def _design_labels(lang: str) -> dict[str, str]:
    with force_locale(lang):
        return {
            "response_id": gettext("Response identifier"), "survey": gettext("Questionnaire code"),
            "survey_version": gettext("Questionnaire version"), "agency": gettext("Agency code"),
            "service_point": gettext("Counter code"), "service": gettext("Service code"),
            "channel": gettext("Channel"), "submitted_at": gettext("Submitted (local time, ISO 8601)"),
            "stratum": gettext("Stratum"), "psu": gettext("Primary sampling unit"),
            "weight": gettext("Design weight"), "verified": gettext("Verified response"),
            "suspicious": gettext("Flagged as suspicious"),
            "assisted": gettext("An officer helped fill it in"),
        }


def _convert(column: str, values: list[str], question, questionnaire, lang: str, yes_no: dict[int, str]):
    """A column's values (numbers where coded) and its value labels."""
    if column in FLAG_VARIABLES:
        return [1.0 if v == "yes" else 0.0 if v == "no" else np.nan for v in values], yes_no
    if column in ("survey_version", "weight"):
        return [float(v) if v != "" else np.nan for v in values], {}
    if question is None:
        return values, {}
    if question.type in ("likert", "nps", "number"):
        numbers = [float(v) if v != "" else np.nan for v in values]
        if question.type == "likert":
            words = questionnaire.scale.labels.get(lang) or questionnaire.scale.labels.get("vi") or ()
            return numbers, {i + 1: word for i, word in enumerate(words)}
        return numbers, {}
    if question.type == "yesno":
        return [1.0 if v == "yes" else 0.0 if v == "no" else np.nan for v in values], yes_no
    if question.type == "single":
        codes = {o.value: i + 1 for i, o in enumerate(question.options)}
        labels = {i + 1: _text(o.label, lang, o.value) for i, o in enumerate(question.options)}
        return [float(codes[v]) if v in codes else np.nan for v in values], labels
    return values, {}


def statistical_table(spec: ExportFilter, tz_name: str, lang: str) -> StatTable:
    """The export's rows as a labelled table (raises ExportError as the CSV export does)."""
    rows = export_rows(spec, tz_name)
    header = next(rows)
    body = list(rows)
    questions, _latest = _questions(spec.survey)
    names = variable_names(header)
    with force_locale(lang):
        yes_no = {1: gettext("Yes"), 0: gettext("No")}
    design = _design_labels(lang)
    data, column_labels, value_labels = {}, {}, {}
    for index, column in enumerate(header):
        question, questionnaire = questions.get(column, (None, None))
        values, labels = _convert(column, [row[index] for row in body], question, questionnaire, lang, yes_no)
        name = names[column]
        data[name] = values
        column_labels[name] = _text(question.text, lang, column) if question else design.get(column, column)
        if labels:
            value_labels[name] = labels
    frame = pd.DataFrame(data)
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].astype(str)
    return StatTable(frame, column_labels, value_labels)


def write_statistical_file(table: StatTable, fmt: str, path: str) -> None:
    """Write the table as .sav or .dta at path."""
    limit = LABEL_LIMIT[fmt]
    labels = {name: text[:limit] for name, text in table.column_labels.items()}
    if fmt == "sav":
        pyreadstat.write_sav(table.frame, path, column_labels=labels,
                             variable_value_labels=table.value_labels)
    elif fmt == "dta":
        value_labels = {name: {k: v[:32000] for k, v in mapping.items()}
                        for name, mapping in table.value_labels.items()}
        pyreadstat.write_dta(table.frame, path, column_labels=labels, variable_value_labels=value_labels)
    else:
        raise ValueError(f"unknown format {fmt!r}")


def statistical_file_bytes(table: StatTable, fmt: str) -> bytes:
    """The file's bytes (pyreadstat writes to a path: a temporary file, removed at once)."""
    handle, path = tempfile.mkstemp(suffix=f".{fmt}")
    os.close(handle)
    try:
        write_statistical_file(table, fmt, path)
        with open(path, "rb") as stream:
            return stream.read()
    finally:
        os.unlink(path)
