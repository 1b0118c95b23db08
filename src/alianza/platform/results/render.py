"""A results report rendered: a Rich table, JSON and an XLSX workbook, from one model.

Labels are marked with ``N_()`` and translated in the ``reports`` gettext domain
(``alianza.appraisal.translations``), numbers formatted by Babel for the report's language.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from rich.table import Table

from alianza.appraisal.translations import N_, Texts
from alianza.platform.results.schemas import GROUP_LABELS, GROUPS, Indicator, ResultsReport

NUMBER_FORMATS = {
    "money": "#,##0.00",
    "quantity": "#,##0.000",
    "share": "0.0%",
    "count": "#,##0",
    "person_years": "#,##0.00",
}
COLUMNS = (
    N_("Indicator"),
    N_("Unit"),
    N_("Period"),
    N_("Baseline"),
    N_("Target"),
    N_("Value"),
)


def unit_text(indicator: Indicator, texts: Texts) -> str:
    if indicator.unit == "share":
        return texts(N_("share"))
    if indicator.unit == "count":
        return texts(N_("people"))
    if indicator.unit == "kits":
        return texts(N_("kits"))
    if indicator.unit == "person_years":
        return texts(N_("person-years"))
    return indicator.unit_label


def formatted(value: float | None, indicator: Indicator, texts: Texts) -> str:
    if value is None:
        return "—"
    if indicator.unit == "share":
        return texts.percent(value, 1)
    if indicator.unit in ("count", "kits"):
        return texts.integer(value)
    if indicator.unit == "quantity":
        return texts.decimal(value, 3)
    return texts.decimal(value, 2)


def rows(report: ResultsReport) -> list[tuple[Indicator, int]]:
    """(indicator, index of its period value), in the report's order."""
    return [(ind, i) for ind in report.indicators for i in range(len(ind.values))]


def period_target(indicator: Indicator, i: int) -> float | None:
    """The period's own target, else the report's target on its last period."""
    own = indicator.values[i].target
    if own is None and i == len(indicator.values) - 1:
        return indicator.target
    return own


def rich_table(report: ResultsReport, texts: Texts) -> Table:
    table = Table(
        title=texts(N_("Results framework: %(programme)s"), programme=report.programme_name),
        caption=texts(N_("Money in %(currency)s"), currency=report.reporting_currency),
    )
    for column in COLUMNS:
        table.add_column(texts(column), justify="left" if column == N_("Indicator") else "right")
    for group in GROUPS:
        table.add_column(texts(GROUP_LABELS[group]), justify="right")
    for indicator, i in rows(report):
        value = indicator.values[i]
        first = i == 0
        target = period_target(indicator, i)
        table.add_row(
            texts(indicator.name) if first else "",
            unit_text(indicator, texts) if first else "",
            value.period,
            formatted(indicator.baseline, indicator, texts) if first else "",
            formatted(target, indicator, texts),
            formatted(value.value, indicator, texts),
            *(
                formatted(value.by_group[g], indicator, texts) if g in value.by_group else ""
                for g in GROUPS
            ),
        )
    return table


def write_json(report: ResultsReport, path: Path) -> None:
    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")


def write_xlsx(report: ResultsReport, path: Path, texts: Texts) -> None:
    """One sheet of indicators (a row per indicator and period; baseline, target, value and
    the disaggregations as columns; header and indicator columns frozen), one of definitions."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = texts(N_("Indicators"))[:31]
    header = [texts(c) for c in COLUMNS] + [texts(GROUP_LABELS[g]) for g in GROUPS]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for indicator, i in rows(report):
        value = indicator.values[i]
        target = period_target(indicator, i)
        numbers = [
            indicator.baseline,
            target,
            value.value,
            *(value.by_group.get(g) for g in GROUPS),
        ]
        sheet.append([texts(indicator.name), unit_text(indicator, texts), value.period, *numbers])
        for cell in sheet[sheet.max_row][3:]:
            cell.number_format = NUMBER_FORMATS[indicator.unit]
    widths = [44, 14, 22] + [14] * (len(header) - 3)
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "D2"

    notes = workbook.create_sheet(texts(N_("Definitions"))[:31])
    notes.append([texts(N_("Key")), texts(N_("Indicator")), texts(N_("Definition"))])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for indicator in report.indicators:
        notes.append(
            [
                indicator.key,
                texts(indicator.name),
                texts(indicator.definition),
                indicator.note or "",
            ]
        )
    notes.append([])
    notes.append([texts(N_("Programme")), report.programme, report.programme_name])
    notes.append([texts(N_("Money in")), report.reporting_currency])
    notes.append([texts(N_("Generated on")), report.generated_on.isoformat()])
    for missing in report.missing:
        notes.append([texts(N_("Not available")), missing])
    notes.column_dimensions["A"].width = 22
    notes.column_dimensions["B"].width = 44
    notes.column_dimensions["C"].width = 90
    notes.freeze_panes = "A2"
    workbook.save(path)
