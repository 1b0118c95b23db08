"""A business plan as an Excel workbook, both ways: the template people fill in
(`alianza plan new`), and the reader that turns a filled-in workbook into a :class:`Plan`,
every problem pointing at its sheet, row and column (``Investments!H6: life_years must be
> 0``), all of them in one pass.

The layout follows RuralInvest's forms: General (with the beneficiaries' total), Beneficiaries,
Investments, General costs, Activities, and each activity's Income, Inputs, Labour and
Calendar, Working capital, Loans; an Instructions sheet, and a hidden Lists sheet that feeds
the drop-downs. Every table sheet has the same shape: row 1 its title, row 2 what it holds,
row 3 (hidden) the plan format's field names, row 4 the column labels, data from row 5. The
reader goes by the hidden field names and by the sheets' titles in any of the four languages,
so a workbook in Spanish reads as one in English. docs/plan-format.md describes it.

Lossless both ways (plan -> workbook -> plan gives the same model), with one limit: a cell
keeps 15 significant digits, as Excel does (:func:`imprecise_numbers` names the values that
have more). Pure: openpyxl in and out, no I/O but the file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import get_month_names
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import ValidationError

from alianza.appraisal.currencies import ISO_4217
from alianza.appraisal.plan import (
    FORMAT_VERSION,
    NO_MONTH,
    Plan,
    PlanError,
    Situation,
    located_errors,
    plan_warnings,
)
from alianza.appraisal.translations import LANGUAGES, N_, WORKBOOK_DOMAIN, gettext
from alianza.problems import field_path

TITLE_ROW, HELP_ROW, KEY_ROW, LABEL_ROW, FIRST_ROW = 1, 2, 3, 4, 5
# Rows of a new table that get drop-downs and checks (a sheet may grow past them: the reader
# reads every row, the checks are only Excel's help while typing).
CHECKED_ROWS = 500
# Year columns of a new project's template (a plan read from a file gets as many as it needs).
TEMPLATE_YEARS = 10
TEMPLATE_DONORS = 2
# A cell keeps 15 significant digits (Excel's precision); openpyxl writes 16.
DIGITS = 15

TITLE_FONT = Font(bold=True, size=14)
HELP_FONT = Font(italic=True, color="555555")
LABEL_FONT = Font(bold=True)
LABEL_FILL = PatternFill("solid", fgColor="DDEBF7")
INPUT_FILL = PatternFill("solid", fgColor="FFF9E5")
THIN = Side(style="thin", color="A6A6A6")
LABEL_BORDER = Border(bottom=THIN, top=THIN, left=THIN, right=THIN)
MONEY_FORMAT = "#,##0.00"
QUANTITY_FORMAT = "#,##0.####"
PERCENT_FORMAT = "0.00%"
INTEGER_FORMAT = "0"


# --- what the workbook holds ------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a table sheet (or a line of a form sheet): the plan field it holds, its
    label (an English msgid), what kind of value it takes, its width and its help."""

    key: str
    label: str
    kind: str = "text"
    width: float = 12.0
    note: str = ""


# Kinds of value: how a cell is checked, formatted and read.
NUMBER_KINDS = {"number", "money", "positive", "count", "year", "percent", "rate", "version"}
FORMATS = {
    "number": QUANTITY_FORMAT,
    "money": MONEY_FORMAT,
    "positive": MONEY_FORMAT,
    "count": INTEGER_FORMAT,
    "year": INTEGER_FORMAT,
    "version": INTEGER_FORMAT,
    "percent": PERCENT_FORMAT,
    "rate": PERCENT_FORMAT,
}
# (openpyxl type, operator, bound, message) of each numeric kind's check.
NUMBER_CHECKS = {
    "number": ("decimal", "greaterThanOrEqual", "0", N_("A number, 0 or more.")),
    "money": ("decimal", "greaterThanOrEqual", "0", N_("A number, 0 or more.")),
    "positive": ("decimal", "greaterThan", "0", N_("A number greater than 0.")),
    "count": ("whole", "greaterThanOrEqual", "0", N_("A whole number, 0 or more.")),
    "year": ("whole", "greaterThanOrEqual", "1", N_("A whole number, 1 or more.")),
    "version": ("whole", "equal", str(FORMAT_VERSION), N_("The format version: 1.")),
    "percent": (
        "decimal",
        "greaterThanOrEqual",
        "0",
        N_("A rate a year, 0 or more: type 12% (or 0.12)."),
    ),
    "rate": (
        "decimal",
        "greaterThan",
        "-1",
        N_("A rate a year above -100%: type 3% (or 0.03)."),
    ),
}

# Lists of choices: the value in the plan and its label (an English msgid).
CHOICES: dict[str, list[tuple[Any, str]]] = {
    "kind": [("asset", N_("asset")), ("labour", N_("labour")), ("service", N_("service"))],
    "stage": [("project", N_("project")), ("profile", N_("profile"))],
    "flow": [
        ("inputs", N_("inputs and paid labour")),
        ("transport", N_("transport of sales")),
        ("sales", N_("sales")),
    ],
    "situation": [("with", N_("with the project")), ("without", N_("without the project"))],
    "yesno": [(True, N_("yes")), (False, N_("no"))],
}
# A calendar cell: the whole month, its first half, its second half, or both halves apart.
MARKS = ("x", "a", "b", "ab")
# Units offered in the drop-downs (any other may be typed): those of labour and staff convert
# to person-years (docs/appraisal.md), the rest are common in plans.
UNITS = tuple(
    "day,week,month,year,hour,each,set,kg,t,g,l,m,m2,m3,ha,box,bag,case,jar,head,course,"
    "visit,job,lump sum,building".split(",")
)
CURRENCIES = tuple(sorted(ISO_4217))

SHEETS: dict[str, str] = {
    "instructions": N_("Instructions"),
    "general": N_("General"),
    "beneficiaries": N_("Beneficiaries"),
    "investments": N_("Investments"),
    "general_costs": N_("General costs"),
    "activities": N_("Activities"),
    "income": N_("Income"),
    "inputs": N_("Inputs"),
    "labour": N_("Labour"),
    "calendar": N_("Calendar"),
    "working_capital": N_("Working capital"),
    "loans": N_("Loans"),
    "lists": N_("Lists"),
}
HELP: dict[str, str] = {
    "general": N_("The plan as a whole. Fill in the yellow cells; a rate is typed 3% or 0.03."),
    "beneficiaries": N_(
        "People who benefit, by group; youth and indigenous people are counted among the men, "
        "women and children. Leave a line blank if unknown."
    ),
    "investments": N_(
        "One line per item bought: goods with a useful life (assets), and labour or services "
        "spent once. Grants by donor: type the donor's name in the heading of a grant column."
    ),
    "general_costs": N_(
        "Costs of running the enterprise as a whole, every year of operation. Give the "
        "quantity a year in one column, or year by year (the last value repeats)."
    ),
    "activities": N_(
        "One line per activity (what is produced). Units made a year = units per cycle of "
        "that year × cycles a year; the last year given repeats."
    ),
    "income": N_(
        "What one unit of an activity yields. Pick the activity from the list; quantities "
        "are per activity unit."
    ),
    "inputs": N_("What one unit of an activity consumes; quantities are per activity unit."),
    "labour": N_("The work one unit of an activity takes; quantities are per activity unit."),
    "calendar": N_(
        "When an activity's money moves, for the working capital: x the whole month, a its "
        "first half, b its second half. No line: all twelve months."
    ),
    "working_capital": N_("How the working capital is financed; rates are a year."),
    "loans": N_("One line per loan; rates are a year."),
}

SITUATION = Column(
    "situation",
    N_("Situation (blank: with the project)"),
    "situation",
    18,
    N_("Leave blank for the plan itself; pick 'without the project' for what would happen anyway."),
)

GENERAL = [
    Column("plan", N_("Format version"), "version", note=N_("Always 1.")),
    Column("name", N_("Name of the plan"), "text"),
    Column(
        "stage",
        N_("Stage"),
        "stage",
        note=N_("profile: one typical year at full production; project: the detailed plan."),
    ),
    Column("currency", N_("Currency (ISO 4217 code)"), "currency", note=N_("USD, HNL, MWK …")),
    Column("years", N_("Horizon (years of operation)"), "year", note=N_("Projects: 1 to 100.")),
    Column("discount_rate", N_("Discount rate (real, a year)"), "rate"),
    Column(
        "inflation",
        N_("Inflation (a year)"),
        "percent",
        note=N_("Only turns the working capital's nominal rate into a real one."),
    ),
    Column(
        "without_project",
        N_("Appraise against the situation without the project"),
        "yesno",
        note=N_(
            "yes: lines marked 'without the project' are subtracted; blank: yes if any line is."
        ),
    ),
    Column(
        "beneficiaries.total",
        N_("Direct beneficiaries in total (when not counted by group)"),
        "count",
    ),
    Column("organization", N_("Organization presenting it"), "text"),
]
BENEFICIARY_GROUPS = [
    ("direct", N_("Direct beneficiaries")),
    ("indirect", N_("Indirect beneficiaries")),
]
BENEFICIARY_COLUMNS = [
    Column("men", N_("Men"), "count"),
    Column("women", N_("Women"), "count"),
    Column("children", N_("Children"), "count"),
    Column("youth", N_("of whom youth (15-35)"), "count"),
    Column("indigenous", N_("of whom indigenous or minority"), "count"),
]
INVESTMENTS = [
    Column("item", N_("Item"), "text", 28),
    Column(
        "kind",
        N_("Kind"),
        "kind",
        11,
        N_("asset: a good with a useful life; labour or service: spent once."),
    ),
    Column("unit", N_("Unit"), "unit", 11),
    Column("quantity", N_("Quantity"), "number", 10),
    Column("unit_cost", N_("Unit cost"), "money", 12),
    Column("cost", N_("Cost"), "formula", 13, N_("Quantity × unit cost (computed).")),
    Column("life_years", N_("Useful life (years)"), "year", 10, N_("Assets only.")),
    Column("maintenance", N_("Maintenance a year, per unit"), "money", 13),
    Column("salvage", N_("Salvage value per unit"), "money", 12),
    Column("replace", N_("Replaced at the end of its life"), "yesno", 12),
    Column("begin", N_("Year of operation bought"), "year", 11),
    Column("own_contribution", N_("Own contribution"), "money", 13),
    Column("own_in_kind", N_("Of which in kind"), "money", 13, N_("Part of the own contribution.")),
    Column("grant", N_("Grant (donor not named)"), "money", 13),
]
GENERAL_COSTS = [
    Column("item", N_("Item"), "text", 28),
    Column("unit", N_("Unit"), "unit", 11),
    Column("unit_cost", N_("Unit cost"), "money", 12),
    Column("staff", N_("Staff (counts as employment)"), "yesno", 12),
    Column("in_kind", N_("Quantity given in kind"), "number", 11),
    Column("quantity", N_("Quantity a year"), "number", 11, N_("Or give it year by year.")),
]
ACTIVITIES = [
    Column("name", N_("Activity"), "text", 28, N_("Each activity needs its own name.")),
    Column("unit", N_("Activity unit"), "unit", 14),
    Column("cycles_per_year", N_("Cycles a year"), "positive", 10),
]
LINE_START = [
    Column("activity", N_("Activity"), "activity", 26, N_("Pick one from the Activities sheet.")),
    Column("item", N_("Item"), "text", 24),
    Column("unit", N_("Unit"), "unit", 10),
    Column("quantity", N_("Quantity per activity unit"), "number", 12),
]
INCOME = [
    *LINE_START,
    Column("price", N_("Price"), "money", 11),
    Column("transport", N_("Transport to market, per unit"), "money", 12),
    Column("own_use", N_("Quantity kept for own use"), "number", 12),
]
INPUTS = [
    *LINE_START,
    Column("price", N_("Price"), "money", 11),
    Column("transport", N_("Transport, per unit"), "money", 12),
    Column("in_kind", N_("Quantity supplied in kind"), "number", 12),
]
LABOUR = [
    *LINE_START,
    Column("wage", N_("Wage"), "money", 11),
    Column("unpaid", N_("Quantity not paid in cash"), "number", 12),
]
CALENDAR_START = [
    Column("activity", N_("Activity"), "activity", 26, N_("Pick one from the Activities sheet.")),
    Column("flow", N_("Money that moves"), "flow", 22),
    Column(
        "none",
        N_("In no month"),
        "yesno",
        10,
        N_("yes: this money moves in no month (it still counts in the flows)."),
    ),
]
WORKING_CAPITAL = [
    Column("working_capital.grant", N_("Grant"), "money"),
    Column("working_capital.own", N_("Own contribution"), "money"),
    Column(
        "working_capital.interest_rate",
        N_("Interest rate of the credit for the rest (nominal)"),
        "percent",
    ),
    Column(
        "without_project.working_capital.grant",
        N_("Without the project: working-capital grant the applicants get anyway"),
        "money",
    ),
]
LOANS = [
    Column("name", N_("Loan"), "text", 24),
    Column("amount", N_("Amount"), "positive", 13),
    Column("interest_rate", N_("Interest rate"), "percent", 10),
    Column("years", N_("Term (years)"), "year", 9),
    Column("grace_principal_years", N_("Grace on principal (years)"), "count", 11),
    Column("grace_interest_years", N_("Grace on interest (years)"), "count", 11),
    Column("first_year", N_("First year (of operation)"), "year", 11),
]

INSTRUCTIONS = [
    N_("alianza business plan"),
    N_(
        "This workbook is a business plan in alianza's plan format. Fill in the sheets, then "
        "check it with: alianza plan check plan.xlsx, and appraise it with: alianza plan "
        "evaluate plan.xlsx. alianza plan convert turns it into YAML or JSON and back."
    ),
    N_("The sheets"),
    N_("General: name, stage, currency, horizon, discount rate, inflation."),
    N_("Beneficiaries: men, women and children, direct and indirect."),
    N_("Investments: what the project buys, its useful life, maintenance, salvage and financing."),
    N_("General costs: costs of the enterprise as a whole (staff, office, audits …)."),
    N_("Activities: each line of production, its cycles a year and its production year by year."),
    N_("Income, Inputs, Labour: per unit of an activity, picked from the list of activities."),
    N_("Calendar: the months in which each activity's money moves (working capital)."),
    N_("Working capital and Loans: how the plan is financed beyond the investment."),
    N_("Conventions"),
    N_("Money is in the plan's currency, at constant prices."),
    N_(
        "Years are years of operation, 1 to the horizon. A value given year by year repeats its last year."
    ),
    N_("A rate is a year: type 3% or 0.03."),
    N_("Yellow cells take input; drop-downs offer the choices; units may also be typed."),
    N_(
        "The situation without the project: add lines with 'without the project' in their "
        "last column; their flows are subtracted from the plan's."
    ),
    N_(
        "Keep the sheets' names and the hidden row 3 of each sheet: alianza reads the columns "
        "by it. Add rows anywhere below the headings; leave a row blank to skip it."
    ),
    N_("The format is described in docs/plan-format.md (the workbook) of alianza's documentation."),
]
# Headings among the instructions (written bold).
INSTRUCTION_HEADINGS = {INSTRUCTIONS[0], INSTRUCTIONS[2], INSTRUCTIONS[11]}


def sheet_reference(title: str) -> str:
    """A sheet's name as a formula or a cell reference writes it: quoted only when needed."""
    if re.fullmatch(r"[^\W\d][\w.]*", title) and not re.fullmatch(r"[A-Za-z]{1,3}\d+", title):
        return title
    return "'" + title.replace("'", "''") + "'"


def _(lang: str, message: str, **variables: Any) -> str:
    return gettext(lang, message, WORKBOOK_DOMAIN, **variables)


def year_label(lang: str, what: str, year: int) -> str:
    return _(lang, N_("%(what)s, year %(year)s"), what=_(lang, what), year=year)


PRODUCTION = N_("Units per cycle")
QUANTITY_BY_YEAR = N_("Quantity")
IN_KIND_AMOUNT = N_("Given in kind (money a year)")
DONOR = N_("Grant: donor %(number)s")


# --- writing ----------------------------------------------------------------------------------


def month_columns(lang: str) -> list[Column]:
    names = get_month_names("abbreviated", locale=lang)
    return [Column(f"month.{m}", names[m], "mark", 6) for m in range(1, 13)]


def _situations(plan: Plan) -> list[tuple[str, Plan | Situation]]:
    parts: list[tuple[str, Plan | Situation]] = [("with", plan)]
    if plan.without_project is not None:
        parts.append(("without", plan.without_project))
    return parts


def _year_count(plan: Plan) -> int:
    longest = [plan.horizon]
    for _name, situation in _situations(plan):
        longest += [len(activity.production) for activity in situation.activities]
        for cost in situation.general_costs:
            for value in (cost.quantity, cost.in_kind_amount):
                if isinstance(value, list):
                    longest.append(len(value))
    return max(longest)


def _donors(plan: Plan) -> list[str]:
    donors: dict[str, None] = {}
    for _name, situation in _situations(plan):
        for item in situation.investments:
            donors.update(dict.fromkeys(item.grants))
    return list(donors)


def _check_writable(plan: Plan) -> None:
    """Refuse, with the field path, what a workbook cannot hold or read back the same."""
    problems: list[tuple[str, str]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(key, path)
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")
        elif isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value):
            problems.append((path, "holds a control character, which a workbook cannot keep"))
        elif isinstance(value, str) and value and not value.strip():
            problems.append((path, "only spaces, which a workbook cell reads as blank"))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append((path, f"{value} is not a finite number"))

    walk(plan.model_dump(), "")
    for prefix, situation in _situations(plan):
        where = "without_project." if prefix == "without" else ""
        names: dict[str, int] = {}
        for i, activity in enumerate(situation.activities):
            if not activity.name.strip():
                problems.append((f"{where}activities[{i}].name", "a workbook row needs a name"))
            elif activity.name in names:
                problems.append(
                    (
                        f"{where}activities[{i}].name",
                        f"'{activity.name}' is also activities[{names[activity.name]}]'s name; "
                        "the workbook refers to activities by name: give each its own",
                    )
                )
            names.setdefault(activity.name, i)
            for kind in ("income", "inputs", "labour"):
                for j, line in enumerate(getattr(activity, kind)):
                    if kind == "labour" and line.unit == "":
                        problems.append(
                            (
                                f"{where}activities[{i}].labour[{j}].unit",
                                "an empty unit cannot be written: a blank cell reads as the "
                                "default, 'day'; name the unit",
                            )
                        )
                    if not line.item.strip():
                        problems.append(
                            (
                                f"{where}activities[{i}].{kind}[{j}].item",
                                "a workbook row needs a name",
                            )
                        )
        for kind in ("investments", "general_costs"):
            for i, entry in enumerate(getattr(situation, kind)):
                if not entry.item.strip():
                    problems.append((f"{where}{kind}[{i}].item", "a workbook row needs a name"))
                for donor in getattr(entry, "grants", {}):
                    if not str(donor).strip():
                        problems.append((f"{where}{kind}[{i}].grants", "a donor needs a name"))
    for i, loan in enumerate(plan.loans):
        if not loan.name.strip():
            problems.append((f"loans[{i}].name", "a workbook row needs a name"))
    if problems:
        raise PlanError("workbook", list(dict.fromkeys(problems)))


def imprecise_numbers(plan: Plan) -> list[str]:
    """The plan's numbers that a workbook cell cannot keep exactly (more than 15 significant
    digits, Excel's precision), each with its field path: they are written rounded."""
    found: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")
        elif isinstance(value, float) and math.isfinite(value) and _rounded(value) != value:
            found.append(f"{path}: {value!r} is written as {_rounded(value)!r} (15 digits)")

    walk(plan.model_dump(), "")
    return found


def _rounded(value: float) -> float:
    return float(f"{value:.{DIGITS}g}")


def _cell_value(value: Any) -> Any:
    if isinstance(value, float):
        return _rounded(value)
    return value


class _Writer:
    """Builds the workbook of one plan (or of a blank template) in one language."""

    def __init__(self, lang: str):
        self.lang = lang
        self.book = Workbook()
        self.lists: dict[str, str] = {}  # list name -> its range on the Lists sheet
        self.activity_range = ""

    def t(self, message: str, **variables: Any) -> str:
        return _(self.lang, message, **variables)

    def title(self, key: str) -> str:
        return self.t(SHEETS[key])

    def choice_label(self, choices: str, value: Any) -> str:
        return next(self.t(label) for key, label in CHOICES[choices] if key == value)

    # -- the sheets' frames --

    def sheet(self, key: str, column: int = 1) -> Worksheet:
        """A new sheet with its title and help in ``column`` (the first one shown)."""
        sheet = self.book.create_sheet(self.title(key))
        sheet.cell(TITLE_ROW, column, self.title(key)).font = TITLE_FONT
        if key in HELP:
            sheet.cell(HELP_ROW, column, self.t(HELP[key])).font = HELP_FONT
        sheet.row_dimensions[KEY_ROW].hidden = True
        return sheet

    def headings(self, sheet: Worksheet, columns: list[Column], labels: list[str]) -> None:
        for index, (column, label) in enumerate(zip(columns, labels, strict=True), start=1):
            sheet.cell(KEY_ROW, index, column.key).font = Font(color="808080", size=8)
            cell = sheet.cell(LABEL_ROW, index, label)
            if label.startswith("="):
                cell.data_type = "s"  # a donor's name, not a formula
            cell.font, cell.fill, cell.border = LABEL_FONT, LABEL_FILL, LABEL_BORDER
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            sheet.column_dimensions[get_column_letter(index)].width = column.width
        sheet.row_dimensions[LABEL_ROW].height = 45
        sheet.freeze_panes = sheet.cell(FIRST_ROW, 2)

    def check(self, sheet: Worksheet, column: Column, cells: str) -> None:
        """The drop-down or number check (and help) of a range of cells."""
        note = self.t(column.note) if column.note else None
        validation: DataValidation | None = None
        if column.kind in NUMBER_CHECKS:
            kind, operator, bound, message = NUMBER_CHECKS[column.kind]
            validation = DataValidation(
                type=kind, operator=operator, formula1=bound, allow_blank=True
            )
            validation.error = self.t(message)
        elif column.kind == "activity" or column.kind in self.lists:
            source = self.activity_range if column.kind == "activity" else self.lists[column.kind]
            validation = DataValidation(type="list", formula1=source, allow_blank=True)
            if column.kind == "unit":
                validation.showErrorMessage = False  # a suggestion: any unit may be typed
            else:
                validation.error = self.t(N_("Pick a value from the list."))
        elif note:
            validation = DataValidation(allow_blank=True)
        if validation is None:
            return
        if validation.error:
            validation.showErrorMessage = True
            validation.errorTitle = self.t(column.label)[:32]  # Excel's limit
        if note:
            validation.prompt, validation.promptTitle = note, self.t(column.label)[:32]
            validation.showInputMessage = True
        validation.add(cells)
        sheet.add_data_validation(validation)

    def write(self, cell: Any, column: Column, value: Any) -> None:
        if value is None or value == "":
            return
        if column.kind in CHOICES:
            value = self.choice_label(column.kind, value)
        cell.value = _cell_value(value)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # a name, not a formula

    # -- form sheets: one field a line --

    def form(self, key: str, columns: list[Column], values: dict[str, Any]) -> Worksheet:
        sheet = self.sheet(key, column=2)  # column A, the fields' names, is hidden
        frame = [
            Column("key", "", width=4),
            Column("field", "", width=52),
            Column("value", "", width=22),
            Column("note", "", width=70),
        ]
        labels = ["", self.t(N_("Field")), self.t(N_("Value")), self.t(N_("Notes"))]
        self.headings(sheet, frame, labels)
        sheet.column_dimensions["A"].hidden = True
        for row, column in enumerate(columns, start=FIRST_ROW):
            sheet.cell(row, 1, column.key)
            sheet.cell(row, 2, self.t(column.label)).font = LABEL_FONT
            value_cell = sheet.cell(row, 3)
            value_cell.fill = INPUT_FILL
            if column.kind in FORMATS:
                value_cell.number_format = FORMATS[column.kind]
            self.write(value_cell, column, values.get(column.key))
            if column.note:
                sheet.cell(row, 4, self.t(column.note)).font = HELP_FONT
            self.check(sheet, column, value_cell.coordinate)
        sheet.freeze_panes = None
        return sheet

    # -- table sheets: one entry a row --

    def table(
        self,
        key: str,
        columns: list[Column],
        rows: list[dict[str, Any]],
        labels: list[str] | None = None,
    ) -> Worksheet:
        sheet = self.sheet(key)
        self.headings(sheet, columns, labels or [self.t(column.label) for column in columns])
        last = FIRST_ROW + max(CHECKED_ROWS, len(rows) + 100) - 1
        positions = {column.key: index for index, column in enumerate(columns, start=1)}
        for index, column in enumerate(columns, start=1):
            letter = get_column_letter(index)
            if column.kind != "formula":
                self.check(sheet, column, f"{letter}{FIRST_ROW}:{letter}{last}")
            for row in range(FIRST_ROW, FIRST_ROW + len(rows) + 20):
                cell = sheet.cell(row, index)
                if column.kind in FORMATS or column.kind == "formula":
                    cell.number_format = FORMATS.get(column.kind, MONEY_FORMAT)
                if column.kind != "formula":
                    cell.fill = INPUT_FILL
        for row, values in enumerate(rows, start=FIRST_ROW):
            for index, column in enumerate(columns, start=1):
                self.write(sheet.cell(row, index), column, values.get(column.key))
        if "cost" in positions:  # quantity × unit cost, where both are given
            quantity = get_column_letter(positions["quantity"])
            unit_cost = get_column_letter(positions["unit_cost"])
            for row in range(FIRST_ROW, FIRST_ROW + len(rows) + 20):
                sheet.cell(
                    row, positions["cost"]
                ).value = f'=IF(COUNT({quantity}{row},{unit_cost}{row})=2,{quantity}{row}*{unit_cost}{row},"")'
        return sheet

    def lists_sheet(self) -> None:
        sheet = self.book.create_sheet(self.title("lists"))
        columns: list[tuple[str, list[str]]] = [
            (name, [self.t(label) for _value, label in choices])
            for name, choices in CHOICES.items()
        ]
        columns += [("mark", list(MARKS)), ("unit", list(UNITS)), ("currency", list(CURRENCIES))]
        for index, (name, values) in enumerate(columns, start=1):
            sheet.cell(1, index, name).font = LABEL_FONT
            for row, value in enumerate(values, start=2):
                sheet.cell(row, index, value)
            letter = get_column_letter(index)
            self.lists[name] = (
                f"{sheet_reference(sheet.title)}!${letter}$2:${letter}${len(values) + 1}"
            )
        sheet.sheet_state = "hidden"

    def instructions(self) -> None:
        sheet = self.book.active
        assert sheet is not None
        sheet.title = self.title("instructions")
        sheet.column_dimensions["A"].width = 110
        for row, message in enumerate(INSTRUCTIONS, start=1):
            cell = sheet.cell(row, 1, self.t(message))
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if message in INSTRUCTION_HEADINGS:
                cell.font = TITLE_FONT if row == 1 else LABEL_FONT


def _group_values(group: Any) -> dict[str, Any]:
    return group.model_dump() if group is not None else {}


def _by_year(values: dict[str, Any], key: str, value: Any) -> None:
    """A value by year: a list goes to the year columns, a single value to its own column."""
    if isinstance(value, list):
        values.update({f"{key}.{year}": v for year, v in enumerate(value, start=1)})
    else:
        values[key] = value


def plan_workbook(
    plan: Plan | None = None,
    *,
    lang: str = "en",
    profile: bool = False,
    years: int | None = None,
) -> Workbook:
    """The workbook of ``plan`` in ``lang`` (en, es, fr, pt), or a blank template (a project's,
    or with ``profile`` a profile's: no calendar, working capital, loans or situation without
    the project); a project's template has a column for each of ``years`` (its horizon, also
    filled in; 10 columns when not given)."""
    if lang not in LANGUAGES:
        raise ValueError(f"{lang!r} is not one of the languages {', '.join(LANGUAGES)}")
    if plan is not None:
        _check_writable(plan)
    stage = plan.stage if plan is not None else "profile" if profile else "project"
    horizon = years
    if plan is not None:
        years = _year_count(plan)
    elif profile:
        years, horizon = 1, None
    else:
        years = years or TEMPLATE_YEARS
    donors = _donors(plan) if plan is not None else []
    writer = _Writer(lang)
    writer.instructions()
    writer.lists_sheet()
    situations = _situations(plan) if plan is not None else []
    # A profile's template leaves out what a profile does not use; a plan keeps what it has.
    brief = stage == "profile" and (
        plan is None
        or (
            plan.working_capital == type(plan.working_capital)()
            and not any(a.calendar != type(a.calendar)() for a in plan.activities)
        )
    )
    with_situation = stage == "project" or (plan is not None and plan.without_project is not None)

    general: dict[str, Any] = {"plan": FORMAT_VERSION, "stage": stage, "years": horizon}
    if plan is not None:
        general |= {
            "name": plan.name,
            "organization": plan.organization,
            "currency": plan.currency,
            "years": plan.years,
            "discount_rate": plan.discount_rate,
            "inflation": plan.inflation,
            "without_project": plan.without_project is not None,
            "beneficiaries.total": plan.beneficiaries.total,
        }
    general_columns = [c for c in GENERAL if with_situation or c.key != "without_project"]
    writer.form("general", general_columns, general)

    sheet = writer.sheet("beneficiaries", column=2)
    writer.headings(
        sheet,
        [Column("group", "", width=4), Column("label", "", width=26), *BENEFICIARY_COLUMNS],
        ["", writer.t(N_("Group")), *(writer.t(c.label) for c in BENEFICIARY_COLUMNS)],
    )
    sheet.column_dimensions["A"].hidden = True
    for row, (group, label) in enumerate(BENEFICIARY_GROUPS, start=FIRST_ROW):
        sheet.cell(row, 1, group)
        sheet.cell(row, 2, writer.t(label)).font = LABEL_FONT
        values = _group_values(getattr(plan.beneficiaries, group) if plan else None)
        for index, column in enumerate(BENEFICIARY_COLUMNS, start=3):
            cell = sheet.cell(row, index)
            cell.fill, cell.number_format = INPUT_FILL, INTEGER_FORMAT
            writer.write(cell, column, values.get(column.key))
            writer.check(sheet, column, cell.coordinate)

    tail = [SITUATION] if with_situation else []

    # Investments, with a column per donor named in the plan (two blank ones in a template).
    donor_columns = [
        Column(f"grants.{n}", DONOR, "money", 13, N_("Type the donor's name in the heading."))
        for n in range(1, max(len(donors), 0 if plan else TEMPLATE_DONORS) + 1)
    ]
    rows = []
    for name, situation in situations:
        for item in situation.investments:
            values = item.model_dump()
            values["situation"] = None if name == "with" else name
            for n, donor in enumerate(donors, start=1):
                values[f"grants.{n}"] = item.grants.get(donor)
            rows.append(values)
    columns = [*INVESTMENTS, *donor_columns, *tail]
    labels = [writer.t(c.label) for c in INVESTMENTS]
    labels += [
        donors[n - 1] if n <= len(donors) else writer.t(DONOR, number=n)
        for n in range(1, len(donor_columns) + 1)
    ]
    labels += [writer.t(c.label) for c in tail]
    writer.table("investments", columns, rows, labels)

    # General costs: a quantity a year, or by year; given in kind as a quantity or money.
    # A profile's costs are a year's, unless its plan gives some by year.
    by_year = stage == "project" or any(
        isinstance(value, list)
        for _name, part in situations
        for cost in part.general_costs
        for value in (cost.quantity, cost.in_kind_amount)
    )
    year_columns = range(1, years + 1) if by_year else range(0)
    quantity_years = [
        Column(f"quantity.{y}", year_label(lang, QUANTITY_BY_YEAR, y), "number", 9)
        for y in year_columns
    ]
    amount_years = [
        Column(f"in_kind_amount.{y}", year_label(lang, IN_KIND_AMOUNT, y), "money", 11)
        for y in year_columns
    ]
    rows = []
    for name, situation in situations:
        for cost in situation.general_costs:
            values = cost.model_dump()
            del values["quantity"], values["in_kind_amount"]
            _by_year(values, "quantity", cost.quantity)
            _by_year(values, "in_kind_amount", cost.in_kind_amount)
            values["situation"] = None if name == "with" else name
            rows.append(values)
    columns = [
        *GENERAL_COSTS,
        *quantity_years,
        Column("in_kind_amount", IN_KIND_AMOUNT, "money", 12, N_("Or give it year by year.")),
        *amount_years,
        *tail,
    ]
    writer.table("general_costs", columns, rows)

    # Activities, with their production year by year; the lines refer to them by name.
    if stage == "profile" and years == 1:
        production = [
            Column("production.1", N_("Units per cycle (at full production)"), "number", 12)
        ]
    else:
        production = [
            Column(f"production.{y}", year_label(lang, PRODUCTION, y), "number", 10)
            for y in range(1, years + 1)
        ]
    rows = []
    lines: dict[str, list[dict[str, Any]]] = {"income": [], "inputs": [], "labour": []}
    calendar: list[dict[str, Any]] = []
    for name, situation in situations:
        where = None if name == "with" else name
        for activity in situation.activities:
            values = {
                "name": activity.name,
                "unit": activity.unit,
                "cycles_per_year": activity.cycles_per_year,
            }
            values |= {f"production.{y}": v for y, v in enumerate(activity.production, start=1)}
            values["situation"] = where
            rows.append(values)
            for kind, entries in lines.items():
                for line in getattr(activity, kind):
                    entries.append(
                        {"activity": activity.name, **line.model_dump(), "situation": where}
                    )
            for flow in ("inputs", "transport", "sales"):
                months = getattr(activity.calendar, flow)
                if months is None:
                    continue
                values = {"activity": activity.name, "flow": flow, "situation": where}
                if months == NO_MONTH:
                    values["none"] = True
                else:
                    for entry in months:
                        month = entry if isinstance(entry, int) else int(entry[:-1])
                        mark = "x" if isinstance(entry, int) else entry[-1]
                        key = f"month.{month}"
                        values[key] = values.get(key, "") + mark
                calendar.append(values)
    sheet = writer.table("activities", [*ACTIVITIES, *production, *tail], rows)
    writer.activity_range = (
        f"{sheet_reference(sheet.title)}!$A${FIRST_ROW}:$A${FIRST_ROW + CHECKED_ROWS - 1}"
    )
    writer.table("income", [*INCOME, *tail], lines["income"])
    writer.table("inputs", [*INPUTS, *tail], lines["inputs"])
    writer.table("labour", [*LABOUR, *tail], lines["labour"])
    if not brief:
        writer.table("calendar", [*CALENDAR_START, *month_columns(lang), *tail], calendar)
        working = {}
        if plan is not None:
            working = {
                f"working_capital.{k}": v for k, v in plan.working_capital.model_dump().items()
            }
            if plan.without_project is not None:
                working["without_project.working_capital.grant"] = (
                    plan.without_project.working_capital.grant
                )
        wc_columns = [
            c for c in WORKING_CAPITAL if with_situation or not c.key.startswith("without")
        ]
        writer.form("working_capital", wc_columns, working)
    if stage == "project" or (plan is not None and plan.loans):
        writer.table("loans", LOANS, [loan.model_dump() for loan in plan.loans] if plan else [])
    # The Lists sheet is last, hidden.
    writer.book.move_sheet(writer.book[writer.title("lists")], offset=len(writer.book.sheetnames))
    return writer.book


def write_plan_workbook(
    plan: Plan | None,
    path: str | Path,
    *,
    lang: str = "en",
    profile: bool = False,
    years: int | None = None,
) -> Path:
    """Write :func:`plan_workbook` to ``path`` (.xlsx) and return the path; the file appears
    whole or not at all (written beside it, then moved into place)."""
    path = Path(path)
    book = plan_workbook(plan, lang=lang, profile=profile, years=years)
    partial = path.with_name(f".{path.name}.partial")
    try:
        book.save(partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where a value sits: its reference as Excel writes it, and an order to sort by."""

    ref: str
    order: tuple[int, int, int]


@dataclass
class Reading:
    """What the reader gathers: the plan's data, where each of its fields came from, and the
    problems found before the plan's own validation."""

    data: dict[str, Any] = field(default_factory=dict)
    places: dict[tuple[Any, ...], Place] = field(default_factory=dict)
    problems: list[tuple[Place, str]] = field(default_factory=list)
    flagged: set[tuple[Any, ...]] = field(default_factory=set)
    lang: str = "en"

    def problem(self, place: Place, message: str, location: tuple[Any, ...] | None = None) -> None:
        self.problems.append((place, message))
        if location is not None:
            self.flagged.add(location)


# The field of the first column of each of the plan's sheets (row 3).
FIRST_KEYS = {"key", "group", "item", "name", "activity"}


@cache
def _sheet_keys() -> dict[str, tuple[str, str]]:
    """A sheet's title, lower case, in any language -> (sheet key, language)."""
    titles: dict[str, tuple[str, str]] = {}
    for lang in reversed(LANGUAGES):  # English wins where languages share a title
        for key, title in SHEETS.items():
            titles[_(lang, title).casefold()] = (key, lang)
    return titles


@cache
def _choice_values(choices: str) -> dict[str, Any]:
    """A choice's label in any language (or its value in the plan format) -> its value."""
    found: dict[str, Any] = {}
    for value, label in CHOICES[choices]:
        found[str(value).casefold()] = value
        for lang in LANGUAGES:
            found[_(lang, label).casefold()] = value
    if choices == "yesno":
        found |= {"true": True, "false": False, "1": True, "0": False}
    return found


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


class _Reader:
    def __init__(self, book: Workbook):
        self.book = book
        self.reading = Reading()
        self.sheets: dict[str, Worksheet] = {}
        self.order: dict[str, int] = {}
        for index, sheet in enumerate(book.worksheets):
            found = _sheet_keys().get(sheet.title.strip().casefold())
            first = sheet.cell(KEY_ROW, 1).value
            if found is None:
                # A sheet of ours renamed would be left out, and its lines lost: say so.
                if first in FIRST_KEYS:
                    self.reading.problem(
                        Place(sheet_reference(sheet.title), (index, 0, 0)),
                        "this sheet is laid out as a plan's but its name is none of the plan's "
                        "sheets (renamed?): give it back its name, or delete row 3",
                    )
                continue
            key, lang = found
            if key in self.sheets:
                if key not in ("instructions", "lists"):
                    self.reading.problem(
                        Place(sheet_reference(sheet.title), (index, 0, 0)),
                        f"a second {self.sheets[key].title} sheet: keep one",
                    )
                continue
            self.sheets[key] = sheet
            self.order[key] = index
            if key not in ("instructions", "lists"):
                self.reading.lang = lang
        self.without: dict[str, Any] | None = None
        self.without_place: Place | None = None

    def t(self, message: str) -> str:
        return _(self.reading.lang, message)

    def place(self, sheet: Worksheet, row: int, column: int) -> Place:
        ref = f"{sheet_reference(sheet.title)}!{get_column_letter(column)}{row}"
        return Place(ref, (self.book.worksheets.index(sheet), row, column))

    def row_place(self, sheet: Worksheet, row: int, last: int) -> Place:
        ref = f"{sheet_reference(sheet.title)}!A{row}:{get_column_letter(max(last, 1))}{row}"
        return Place(ref, (self.book.worksheets.index(sheet), row, 0))

    def sheet_place(self, key: str) -> Place:
        sheet = self.sheets.get(key)
        if sheet is None:
            return Place(self.t(SHEETS[key]), (len(self.book.worksheets), 0, 0))
        return Place(sheet_reference(sheet.title), (self.book.worksheets.index(sheet), 0, 0))

    # -- one cell --

    def value(self, raw: Any, kind: str, place: Place, location: tuple[Any, ...]) -> Any:
        """A cell's value in the plan format's terms; a value it cannot read is reported here
        and passed on as it is (its own validation then stays quiet about it)."""
        if _blank(raw):
            return None
        if kind in CHOICES:
            if isinstance(raw, bool) and kind == "yesno":
                return raw
            found = _choice_values(kind).get(str(_text(raw)).strip().casefold())
            if found is None:
                labels = ", ".join(self.t(label) for _value, label in CHOICES[kind])
                self.reading.problem(
                    place, f"{location[-1]}: {raw!r} is not one of: {labels}", location
                )
                return raw
            return found
        if kind in NUMBER_KINDS:
            if isinstance(raw, bool) or isinstance(raw, datetime | date | time):
                self.reading.problem(place, f"{location[-1]}: {raw!r} is not a number", location)
                return raw
            if isinstance(raw, str):
                text = raw.strip()
                try:
                    if kind in ("percent", "rate") and text.endswith("%"):
                        return float(text[:-1]) / 100  # "12%" typed as text
                    return float(text)
                except ValueError:
                    self.reading.problem(
                        place, f"{location[-1]}: {raw!r} is not a number", location
                    )
                    return raw
            return raw
        return _text(raw)

    # -- the sheets --

    def keys(self, sheet: Worksheet) -> dict[int, str]:
        """Each read column's plan field, from the hidden row 3. On Investments, a column
        added without one but with a heading is one more donor's grants."""
        keys = {}
        donors = sheet is self.sheets.get("investments")
        for column in range(1, sheet.max_column + 1):
            key = sheet.cell(KEY_ROW, column).value
            if isinstance(key, str) and key.strip():
                keys[column] = key.strip()
            elif donors and not _blank(sheet.cell(LABEL_ROW, column).value):
                keys[column] = f"grants.added{column}"
        return keys

    def form(self, key: str, columns: list[Column]) -> None:
        sheet = self.sheets.get(key)
        if sheet is None:
            return
        kinds = {column.key: column for column in columns}
        for row in range(FIRST_ROW, sheet.max_row + 1):
            name = sheet.cell(row, 1).value
            if not isinstance(name, str) or name.strip() not in kinds:
                continue
            column = kinds[name.strip()]
            location = tuple(column.key.split("."))
            place = self.place(sheet, row, 3)
            self.reading.places[location] = place
            value = self.value(sheet.cell(row, 3).value, column.kind, place, location)
            if value is None:
                continue
            if location == ("without_project",):
                self.reading.data["without_project"] = value
                continue
            if location[0] == "without_project":
                self.without_part(place)
                if location[-1] == "grant":
                    self.situation_data("without").setdefault("working_capital", {})["grant"] = (
                        value
                    )
                    self.reading.places[("without_project", "working_capital")] = place
                continue
            target = self.reading.data
            for part in location[:-1]:
                target = target.setdefault(part, {})
            target[location[-1]] = value

    def situation_data(self, name: str) -> dict[str, Any]:
        if name == "with":
            return self.reading.data
        if self.without is None:
            self.without = {}
        return self.without

    def without_part(self, place: Place) -> None:
        if self.without_place is None:
            self.without_place = place
        self.situation_data("without")

    def rows(self, key: str) -> Iterator[tuple[Worksheet, int, dict[str, Any], dict[str, Place]]]:
        """Each non-blank data row of a table sheet: its raw values and places by field name."""
        sheet = self.sheets.get(key)
        if sheet is None:
            return
        keys = self.keys(sheet)
        if not keys:
            self.reading.problem(
                self.sheet_place(key),
                "row 3 (hidden), which names each column's field, is missing: copy the sheet "
                "from a new template (alianza plan new)",
            )
            return
        formulas = {column for column, name in keys.items() if name == "cost"}
        unread: set[int] = set()
        for row, cells in enumerate(
            sheet.iter_rows(min_row=FIRST_ROW, values_only=True), start=FIRST_ROW
        ):
            raw = {
                name: cells[column - 1] if column <= len(cells) else None
                for column, name in keys.items()
            }
            for column, value in enumerate(cells, start=1):
                if column not in keys and column not in unread and not _blank(value):
                    unread.add(column)  # said once a column
                    self.reading.problem(
                        self.place(sheet, row, column),
                        "this column has no plan field in row 3 (hidden), so alianza cannot "
                        "read it: add a column by copying one, row 3 included "
                        "(docs/plan-format.md)",
                    )
            if all(
                _blank(value)
                for column, value in zip(keys, raw.values(), strict=True)
                if column not in formulas and keys[column] != "situation"
            ):
                continue
            places = {name: self.place(sheet, row, column) for column, name in keys.items()}
            places[""] = self.row_place(sheet, row, max(keys))
            yield sheet, row, raw, places

    def situation(self, raw: dict[str, Any], places: dict[str, Place]) -> str:
        if "situation" not in raw:
            return "with"
        value = self.value(raw["situation"], "situation", places["situation"], ("situation",))
        if value == "without":
            self.without_part(places["situation"])
            return "without"
        return "with"

    @staticmethod
    def prefix(situation: str) -> tuple[str, ...]:
        return ("without_project",) if situation == "without" else ()

    def entry(
        self,
        raw: dict[str, Any],
        places: dict[str, Place],
        columns: list[Column],
        location: tuple[Any, ...],
    ) -> dict[str, Any]:
        """The fields of one row (those of ``columns``), their places recorded."""
        values: dict[str, Any] = {}
        self.reading.places[location] = places[""]
        for column in columns:
            if column.key not in raw or column.kind in ("formula", "activity"):
                continue
            at = (*location, column.key)
            self.reading.places[at] = places[column.key]
            value = self.value(raw[column.key], column.kind, places[column.key], at)
            if value is not None:
                values[column.key] = value
        return values

    def by_year(
        self,
        raw: dict[str, Any],
        places: dict[str, Place],
        key: str,
        kind: str,
        location: tuple[Any, ...],
    ) -> list[Any] | None:
        """The year columns ``key.1``, ``key.2`` … of a row as a list (None if all blank);
        a blank between two years is an error, since the last value given repeats."""
        years = sorted(
            (int(name.split(".")[1]), name)
            for name in raw
            if name.startswith(f"{key}.") and name.split(".")[1].isdigit()
        )
        if years:
            self.reading.places.setdefault(location, places[years[0][1]])
        given = [(year, name) for year, name in years if not _blank(raw[name])]
        if not given:
            return None
        values = []
        for position, (year, name) in enumerate(years):
            if year > given[-1][0]:
                break
            at = (*location, position)
            self.reading.places[at] = places[name]
            if year != position + 1:
                self.reading.problem(
                    places[name], f"{key}: the year columns skip a year before year {year}"
                )
            if _blank(raw[name]):
                self.reading.problem(
                    places[name],
                    f"{key}: year {year} is blank but a later year is given; give every year up "
                    "to the last (the last value repeats)",
                    at,
                )
            values.append(self.value(raw[name], kind, places[name], at))
        return values

    def investments(self) -> None:
        sheet = self.sheets.get("investments")
        donors: dict[str, str] = {}  # column key -> donor name
        if sheet is not None:
            seen: dict[str, Place] = {}
            for column, name in self.keys(sheet).items():
                if name.startswith("grants."):
                    heading = sheet.cell(LABEL_ROW, column).value
                    place = self.place(sheet, LABEL_ROW, column)
                    if _blank(heading):
                        donors[name] = ""
                        continue
                    donor = str(_text(heading))
                    if donor in seen:
                        self.reading.problem(place, f"grants: the donor '{donor}' has two columns")
                    seen[donor] = place
                    donors[name] = donor
        counts: dict[str, int] = {}
        for sheet, _row, raw, places in self.rows("investments"):
            situation = self.situation(raw, places)
            index = counts.get(situation, 0)
            counts[situation] = index + 1
            location = (*self.prefix(situation), "investments", index)
            values = self.entry(raw, places, INVESTMENTS, location)
            grants: dict[str, Any] = {}
            for key, donor in donors.items():
                at = (*location, "grants", donor)
                amount = self.value(raw.get(key), "money", places[key], at)
                if amount is None:
                    continue
                if not donor:
                    self.reading.problem(
                        self.place(sheet, LABEL_ROW, places[key].order[2]),
                        "grants: this column has amounts: type its donor's name in the heading",
                    )
                    continue
                self.reading.places[at] = places[key]
                grants[donor] = amount
            if grants:
                values["grants"] = grants
            self.situation_data(situation).setdefault("investments", []).append(values)

    def general_costs(self) -> None:
        counts: dict[str, int] = {}
        for _sheet, _row, raw, places in self.rows("general_costs"):
            situation = self.situation(raw, places)
            index = counts.get(situation, 0)
            counts[situation] = index + 1
            location = (*self.prefix(situation), "general_costs", index)
            columns = [
                *GENERAL_COSTS,
                Column("in_kind_amount", IN_KIND_AMOUNT, "money"),
            ]
            values = self.entry(raw, places, columns, location)
            for key, kind in (("quantity", "number"), ("in_kind_amount", "money")):
                by_year = self.by_year(raw, places, key, kind, (*location, key))
                if by_year is None:
                    continue
                if key in values:
                    self.reading.problem(
                        places[key],
                        f"{key}: give it a year or year by year, not both",
                        (*location, key),
                    )
                values[key] = by_year
            self.situation_data(situation).setdefault("general_costs", []).append(values)

    def activities(self) -> dict[tuple[str, str], tuple[dict[str, Any], tuple[Any, ...]]]:
        found: dict[tuple[str, str], tuple[dict[str, Any], tuple[Any, ...]]] = {}
        first: dict[tuple[str, str], Place] = {}
        counts: dict[str, int] = {}
        for _sheet, _row, raw, places in self.rows("activities"):
            situation = self.situation(raw, places)
            index = counts.get(situation, 0)
            counts[situation] = index + 1
            location = (*self.prefix(situation), "activities", index)
            values = self.entry(raw, places, ACTIVITIES, location)
            production = self.by_year(
                raw, places, "production", "number", (*location, "production")
            )
            if production is not None:
                values["production"] = production
            self.situation_data(situation).setdefault("activities", []).append(values)
            name = values.get("name")
            if isinstance(name, str):
                key = (situation, name)
                if key in first:
                    self.reading.problem(
                        places["name"],
                        f"name: '{name}' is already the name of {first[key].ref.split('!')[-1]}'s "
                        "activity; the other sheets refer to activities by name: give each its own",
                        (*location, "name"),
                    )
                    continue
                first[key] = places["name"]
                found[key] = (values, location)
        return found

    def activity_of(
        self,
        raw: dict[str, Any],
        places: dict[str, Place],
        situation: str,
        found: dict[tuple[str, str], tuple[dict[str, Any], tuple[Any, ...]]],
    ) -> tuple[dict[str, Any], tuple[Any, ...]] | None:
        name = _text(raw.get("activity"))
        if _blank(name):
            self.reading.problem(
                places["activity"], "activity: pick the activity this line is about"
            )
            return None
        match = found.get((situation, name))
        if match is None:
            where = self.t(CHOICES["situation"][1 if situation == "without" else 0][1])
            self.reading.problem(
                places["activity"],
                f"activity: no activity '{name}' ({where}) in the {self.sheet_place('activities').ref} sheet",
            )
        return match

    def lines(self, found: dict[tuple[str, str], tuple[dict[str, Any], tuple[Any, ...]]]) -> None:
        for kind, columns in (("income", INCOME), ("inputs", INPUTS), ("labour", LABOUR)):
            for _sheet, _row, raw, places in self.rows(kind):
                situation = self.situation(raw, places)
                match = self.activity_of(raw, places, situation, found)
                if match is None:
                    continue
                activity, location = match
                entries = activity.setdefault(kind, [])
                entries.append(self.entry(raw, places, columns, (*location, kind, len(entries))))

    def calendar(
        self, found: dict[tuple[str, str], tuple[dict[str, Any], tuple[Any, ...]]]
    ) -> None:
        seen: set[tuple[str, str, str]] = set()
        for _sheet, _row, raw, places in self.rows("calendar"):
            situation = self.situation(raw, places)
            match = self.activity_of(raw, places, situation, found)
            flow = self.value(raw.get("flow"), "flow", places["flow"], ("flow",))
            if flow is None:
                self.reading.problem(
                    places["flow"], "flow: pick which money moves (inputs, transport or sales)"
                )
            if match is None or flow not in ("inputs", "transport", "sales"):
                continue
            activity, location = match
            at = (*location, "calendar", flow)
            self.reading.places[at] = places[""]
            if (situation, str(activity.get("name")), flow) in seen:
                self.reading.problem(
                    places["flow"], f"flow: {activity.get('name')}'s {flow} already has a line", at
                )
                continue
            seen.add((situation, str(activity.get("name")), flow))
            none = self.value(raw.get("none"), "yesno", places["none"], (*at, "none"))
            months: list[int | str] = []
            for month in range(1, 13):
                key = f"month.{month}"
                mark = raw.get(key)
                if _blank(mark):
                    continue
                text = str(_text(mark)).strip().casefold()
                if text not in MARKS:
                    self.reading.problem(
                        places[key],
                        f"{flow}: {mark!r} is not a mark: x (the month), a (its first half), b (its second half) or ab",
                    )
                    continue
                months += [month] if text == "x" else [f"{month}{half}" for half in text]
            if none is True and months:
                self.reading.problem(
                    places["none"], f"{flow}: marked in no month and in some months: choose one", at
                )
            elif none is True:
                activity.setdefault("calendar", {})[flow] = NO_MONTH
            elif not months:
                self.reading.problem(
                    places[""],
                    f"{flow}: mark at least one month, answer yes under 'in no month', or delete "
                    "the line for all twelve months",
                    at,
                )
            else:
                activity.setdefault("calendar", {})[flow] = months

    def loans(self) -> None:
        for index, (_sheet, _row, raw, places) in enumerate(self.rows("loans")):
            values = self.entry(raw, places, LOANS, ("loans", index))
            self.reading.data.setdefault("loans", []).append(values)

    def beneficiaries(self) -> None:
        sheet = self.sheets.get("beneficiaries")
        if sheet is None:
            return
        keys = self.keys(sheet)
        kinds = {column.key: column.kind for column in BENEFICIARY_COLUMNS}
        for row in range(FIRST_ROW, sheet.max_row + 1):
            group = sheet.cell(row, 1).value
            if group not in ("direct", "indirect"):
                continue
            location = ("beneficiaries", group)
            self.reading.places[location] = self.row_place(sheet, row, max(keys, default=1))
            values = {}
            for column, name in keys.items():
                if name not in kinds:
                    continue
                place = self.place(sheet, row, column)
                self.reading.places[(*location, name)] = place
                value = self.value(
                    sheet.cell(row, column).value, kinds[name], place, (*location, name)
                )
                if value is not None:
                    values[name] = value
            if values:
                self.reading.data.setdefault("beneficiaries", {})[group] = values

    def read(self) -> Reading:
        reading = self.reading
        reading.places[()] = self.sheet_place("general")
        for key in ("investments", "general_costs", "activities", "loans"):
            reading.places[(key,)] = self.sheet_place(key)
            reading.places[("without_project", key)] = self.sheet_place(key)
        self.form("general", GENERAL)
        self.form("working_capital", WORKING_CAPITAL)
        self.beneficiaries()
        self.investments()
        self.general_costs()
        found = self.activities()
        self.lines(found)
        self.calendar(found)
        self.loans()
        reading.data.setdefault("activities", [])
        flag = reading.data.pop("without_project", None)
        flag_place = reading.places.get(("without_project",), self.sheet_place("general"))
        if flag is False and self.without is not None:
            where = self.without_place.ref if self.without_place else ""
            reading.problem(
                flag_place,
                f"without_project: 'no', but {where} is about the situation without the project",
                ("without_project",),
            )
        elif flag is True or self.without is not None:
            reading.data["without_project"] = self.without or {}
            reading.places.setdefault(("without_project",), flag_place)
        return reading


def _message(location: tuple[Any, ...], reason: str) -> str:
    """A reason for a person reading the workbook: the field it is about, then why."""
    names = [str(part) for part in location if isinstance(part, str)]
    if not location or not isinstance(location[-1], str):
        return reason
    leaf = ".".join(names[-2:]) if len(names) > 1 and names[-2] == "grants" else names[-1]
    joined = reason.startswith(("must ", "cannot ", "is "))
    return f"{leaf} {reason}" if joined else f"{leaf}: {reason}"


def read_plan_workbook(book: Workbook, source: str = "workbook") -> Plan:
    """The plan in a workbook laid out as :func:`plan_workbook` writes it; every problem is
    reported at once, as ``(cell, reason)`` in a :class:`PlanError`."""
    reading = _Reader(book).read()
    problems = list(reading.problems)
    plan: Plan | None = None
    try:
        plan = Plan.model_validate(reading.data)
    except ValidationError as exc:
        for location, reason in located_errors(exc):
            if location in reading.flagged:
                continue  # the reader has said what is wrong with this cell
            matched = location
            while matched and matched not in reading.places:
                matched = matched[:-1]
            place = reading.places.get(matched, reading.places[()])
            problems.append((place, _message(location, reason)))
    if problems or plan is None:
        ordered = sorted(dict.fromkeys(problems), key=lambda problem: problem[0].order)
        raise PlanError(source, [(place.ref, reason) for place, reason in ordered])
    return plan


def warnings_at_cells(book: Workbook, plan: Plan) -> list[str]:
    """:func:`plan_warnings` of a plan read from ``book``, each at its cell
    (``Investments!E5: unit_cost: 0, the item costs nothing``)."""
    places = {
        field_path(location): place.ref for location, place in _Reader(book).read().places.items()
    }
    located = []
    for warning in plan_warnings(plan):
        path, _sep, message = warning.partition(": ")
        if path in places:
            leaf = path.rsplit(".", 1)[-1]
            located.append(f"{places[path]}: {leaf}: {message}")
        else:
            located.append(warning)
    return located


# What reading a file that is not an Excel workbook raises.
NOT_A_WORKBOOK = (InvalidFileException, KeyError, OSError, ValueError)


def open_workbook(path: str | Path) -> Workbook:
    """The workbook at ``path``; a file that cannot be read, or is not one, is a
    :class:`PlanError`."""
    import zipfile

    path = Path(path)
    try:
        book = load_workbook(path, data_only=False)
    except OSError as exc:
        raise PlanError(str(path), [("", f"cannot read the file: {exc.strerror or exc}")]) from None
    except (zipfile.BadZipFile, *NOT_A_WORKBOOK) as exc:
        raise PlanError(str(path), [("", f"not an Excel workbook (.xlsx): {exc}")]) from None
    return book


def load_plan_workbook(path: str | Path) -> Plan:
    """Read and validate a plan workbook (.xlsx)."""
    return read_plan_workbook(open_workbook(path), str(path))


WORKBOOK_SUFFIXES = (".xlsx",)


def is_workbook(path: str | Path) -> bool:
    return Path(path).suffix.lower() in WORKBOOK_SUFFIXES


__all__: list[str] = [
    "imprecise_numbers",
    "is_workbook",
    "load_plan_workbook",
    "open_workbook",
    "warnings_at_cells",
    "plan_workbook",
    "read_plan_workbook",
    "write_plan_workbook",
]
