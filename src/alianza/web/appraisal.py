"""Appraising a plan sent over the web: read the uploaded text, appraise it, write the XLSX.

Shared by the page (pages/plans.py) and the API (api/plans.py), so that both read a file the
same way and refuse the same plans with the same problems. Pure appraisal: no database.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import yaml

from alianza.appraisal import Appraisal, Plan, PlanError, evaluate, parse_plan
from alianza.appraisal.export import write_xlsx
from alianza.appraisal.translations import Texts
from alianza.documents import PARSE_ERRORS
from alianza.web import i18n

MAX_PLAN_BYTES = 2 * 1024 * 1024  # a plan is a few kilobytes; this leaves room for big ones
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _refuse(source: str, locale: str, message: str, field: str = "", **variables: Any) -> PlanError:
    return PlanError(source, [(field, i18n.gettext(locale, message, **variables))])


def read_plan_text(content: bytes, filename: str, locale: str) -> str:
    """The text of an uploaded plan file (UTF-8), refused when empty, too big or not text."""
    if not content.strip():
        return ""
    if len(content) > MAX_PLAN_BYTES:
        raise _refuse(
            filename,
            locale,
            i18n.N_("The file is larger than %(limit)s MB."),
            limit=MAX_PLAN_BYTES // (1024 * 1024),
        )
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse(filename, locale, i18n.N_("The file is not UTF-8 text.")) from None


def parse_plan_text(text: str, filename: str, locale: str) -> Plan:
    """The plan in ``text`` (JSON when the file's name ends in .json, YAML otherwise),
    validated: every problem at once, with its field path."""
    if not text.strip():
        raise _refuse(filename, locale, i18n.N_("The file is empty: choose a plan file."))
    try:
        data = json.loads(text) if filename.lower().endswith(".json") else yaml.safe_load(text)
    except PARSE_ERRORS as error:
        raise _refuse(
            filename,
            locale,
            i18n.N_("The file is not valid YAML or JSON: %(reason)s"),
            reason=str(error).splitlines()[0],
        ) from None
    return parse_plan(data, filename)


def appraise(plan: Plan, discount_rate: float | None, locale: str) -> Appraisal:
    """The appraisal of ``plan`` at ``discount_rate`` (None: the plan's own rate)."""
    if discount_rate is not None and discount_rate <= -1:
        raise _refuse(
            plan.name,
            locale,
            i18n.N_("The discount rate must be above minus 100 percent."),
            field="discount_rate",
        )
    if plan.stage == "project" and discount_rate is None and plan.discount_rate is None:
        raise _refuse(
            plan.name,
            locale,
            i18n.N_("The plan gives no discount rate: give one in the plan or in the form."),
            field="discount_rate",
        )
    return evaluate(plan, discount_rate)


def xlsx_bytes(appraisal: Appraisal, locale: str = "en") -> bytes:
    """The appraisal as an Excel workbook in the reader's language (the same file as
    `alianza plan evaluate -f xlsx --lang LOCALE`)."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_xlsx(appraisal.report(), Path(folder) / "appraisal.xlsx", Texts(locale))
        return path.read_bytes()


def xlsx_filename(plan: Plan) -> str:
    """A safe download name from the plan's name: 'Fruit & veg' -> 'fruit-veg-appraisal.xlsx'."""
    stem = "".join(c if c.isalnum() else "-" for c in plan.name.lower()).strip("-")
    while "--" in stem:
        stem = stem.replace("--", "-")
    return f"{stem or 'plan'}-appraisal.xlsx"
