"""An appraisal report as an Excel workbook a project team hands to a committee.

Sheets (names and labels in the report's language):
  Summary   the title block (plan, organization, currency, discount rate, date, alianza's
            version), the indicators, the financing plan, the working capital, the figures
            per beneficiary, the switching values, the risk and the notes
  By year   the years of operation across the columns (RuralInvest's way), with a total
            column: the investment and financing schedule, the cash flow before financing,
            the cash after financing with the debt service and the DSCR; labels and years
            frozen; a chart of the net flow, the cash after financing and its position
  Flows     the flows the indicators are computed on, t = 0..N
  Loans     each loan's schedule
  Sensitivity  NPV and IRR with each driver moved
Every figure is a number with its number format (money to the cent, rates in percent).
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from alianza.appraisal.report import ProfileReport, ProjectReport
from alianza.appraisal.sections import Kind, Row, Section, sections_of, title_lines
from alianza.appraisal.translations import N_, Texts

FORMATS: dict[str, str] = {
    "money": "#,##0.00;-#,##0.00",
    "percent": "0.00%",
    "decimal": "#,##0.00",
    "ratio": "0.00",
    "years": "0.00",
    "integer": "#,##0",
}
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
TOTAL_BORDER = Border(top=Side(style="thin"))
BY_YEAR = ("financing_schedule", "cash_flow", "debt_service")
SUMMARY_WIDTH = 58


def _put(sheet: Worksheet, row: int, column: int, value: object, kind: Kind) -> None:
    cell = sheet.cell(row=row, column=column, value=value)  # type: ignore[arg-type]
    if isinstance(value, int | float) and kind in FORMATS:
        cell.number_format = FORMATS[kind]
        cell.alignment = Alignment(horizontal="right")


def _title(sheet: Worksheet, row: int, text: str, width: int) -> int:
    sheet.cell(row=row, column=1, value=text).font = Font(bold=True, size=12)
    for column in range(1, width + 1):
        sheet.cell(row=row, column=column).fill = HEADER_FILL
    return row + 1


def _row(sheet: Worksheet, row: int, section: Section, line: Row, total: bool) -> None:
    label = sheet.cell(row=row, column=1, value=line.label)
    label.alignment = Alignment(indent=2 * line.level)
    for i, value in enumerate(line.values):
        _put(sheet, row, i + 2, value, section.kind(line, i))
    if total and line.summable and line.kind == "money":
        numbers = [v for v in line.values if isinstance(v, int | float)]
        _put(sheet, row, len(line.values) + 2, round(sum(numbers), 2), "money")
    if line.total:
        last = len(line.values) + (2 if total else 1)
        for column in range(1, last + 1):
            cell = sheet.cell(row=row, column=column)
            cell.font = BOLD
            cell.border = TOTAL_BORDER


def _section(
    sheet: Worksheet, row: int, section: Section, texts: Texts, header: bool = True
) -> int:
    """Write a section from ``row``; the next free row (after a blank one)."""
    width = len(section.columns) + 1 + (1 if section.by_year else 0)
    row = _title(sheet, row, section.title, max(width, 2))
    if section.notes:
        for note in section.notes:
            sheet.cell(row=row, column=1, value=note).alignment = Alignment(wrap_text=True)
            row += 1
        return row + 1
    if header:
        sheet.cell(row=row, column=1, value="").font = BOLD
        for i, column in enumerate(section.columns):
            cell = sheet.cell(row=row, column=i + 2, value=_number_or_text(column))
            cell.font = BOLD
            cell.alignment = Alignment(horizontal="right")
        if section.by_year:
            cell = sheet.cell(row=row, column=len(section.columns) + 2, value=texts(N_("Total")))
            cell.font = BOLD
            cell.alignment = Alignment(horizontal="right")
        row += 1
    for line in section.rows:
        _row(sheet, row, section, line, section.by_year)
        row += 1
    if section.note:
        sheet.cell(row=row, column=1, value=section.note).font = Font(italic=True)
        row += 1
    return row + 1


def _number_or_text(header: str) -> int | str:
    return int(header) if header.isdigit() else header


def _widths(sheet: Worksheet, first: int, others: int) -> None:
    sheet.column_dimensions["A"].width = first
    for column in range(2, sheet.max_column + 1):
        sheet.column_dimensions[get_column_letter(column)].width = others


def _title_block(sheet: Worksheet, report: ProjectReport | ProfileReport, texts: Texts) -> int:
    sheet.cell(
        row=1, column=1, value=texts(N_("Appraisal of %(plan)s"), plan=report.name)
    ).font = TITLE_FONT
    row = 2
    for label, text in title_lines(report, texts):
        sheet.cell(row=row, column=1, value=label).font = BOLD
        sheet.cell(row=row, column=2, value=text)
        row += 1
    return row + 1


def _chart(sheet: Worksheet, rows: dict[str, int], years: int, anchor: str, texts: Texts) -> None:
    """Bars of the net flow and the cash after financing, a line of the cash position."""
    bars = BarChart()
    bars.type = "col"
    bars.title = texts(N_("Cash flow by year"))
    bars.y_axis.title = texts(N_("Amount"))
    bars.x_axis.title = texts(N_("Year"))
    categories = Reference(sheet, min_col=2, max_col=years + 1, min_row=rows["header"])
    for key in ("net", "after"):
        data = Reference(sheet, min_col=1, max_col=years + 1, min_row=rows[key])
        bars.add_data(data, from_rows=True, titles_from_data=True)
    bars.set_categories(categories)
    line = LineChart()
    line.add_data(
        Reference(sheet, min_col=1, max_col=years + 1, min_row=rows["cumulative"]),
        from_rows=True,
        titles_from_data=True,
    )
    line.set_categories(categories)
    bars += line
    bars.height, bars.width = 9, 22
    sheet.add_chart(bars, anchor)


def write_xlsx(
    report: ProjectReport | ProfileReport, path: str | Path, texts: Texts | None = None
) -> Path:
    """Write the report to ``path`` (.xlsx) in the language of ``texts``; the path."""
    texts = texts or Texts()
    path = Path(path)
    sections = sections_of(report, texts)
    book = Workbook()
    summary = book.active
    summary.title = texts(N_("Summary"))[:31]
    row = _title_block(summary, report, texts)
    for section in sections:
        if not section.by_year and not section.key.startswith("sensitivity"):
            row = _section(summary, row, section, texts)
    _widths(summary, SUMMARY_WIDTH, 16)
    summary.column_dimensions["B"].width = 40 if isinstance(report, ProfileReport) else 18
    if isinstance(report, ProjectReport):
        _by_year_sheet(book, report, sections, texts)
        flows = book.create_sheet(texts(N_("Flows"))[:31])
        row = _section(flows, 1, _find(sections, "flows"), texts)
        flows.freeze_panes = "B3"
        _widths(flows, 46, 13)
        loans = [s for s in sections if s.key.startswith("loan:")]
        if loans:
            sheet = book.create_sheet(texts(N_("Loans"))[:31])
            row = 1
            for section in loans:
                row = _section(sheet, row, section, texts)
            sheet.freeze_panes = "B1"
            _widths(sheet, 26, 13)
        sheet = book.create_sheet(texts(N_("Sensitivity"))[:31])
        row = 1
        for key in ("sensitivity", "sensitivity_irr"):
            row = _section(sheet, row, _find(sections, key), texts)
        _widths(sheet, 30, 14)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def _find(sections: list[Section], key: str) -> Section:
    return next(section for section in sections if section.key == key)


def _by_year_sheet(
    book: Workbook, report: ProjectReport, sections: list[Section], texts: Texts
) -> None:
    sheet = book.create_sheet(texts(N_("By year"))[:31])
    years = report.years
    sheet.cell(row=1, column=1, value=f"{report.name} ({report.currency})").font = TITLE_FONT
    header = 2
    sheet.cell(row=header, column=1, value=texts(N_("Year"))).font = BOLD
    for year in range(1, years + 1):
        cell = sheet.cell(row=header, column=year + 1, value=year)
        cell.font = BOLD
        cell.alignment = Alignment(horizontal="right")
    cell = sheet.cell(row=header, column=years + 2, value=texts(N_("Total")))
    cell.font = BOLD
    cell.alignment = Alignment(horizontal="right")
    for column in range(1, years + 3):
        sheet.cell(row=header, column=column).fill = HEADER_FILL
    sheet.freeze_panes = sheet.cell(row=header + 1, column=2)
    row = header + 2
    rows = {"header": header}
    for key in BY_YEAR:
        section = _find(sections, key)
        sheet.cell(row=row, column=1, value=section.title).font = Font(bold=True, size=12)
        row += 1
        for line in section.rows:
            _row(sheet, row, section, line, True)
            if key == "cash_flow" and line is section.rows[-1]:
                rows["net"] = row
            if key == "debt_service" and line.label == texts(N_("Cash after financing")):
                rows["after"] = row
            if key == "debt_service" and line.label == texts(N_("Cumulative cash position")):
                rows["cumulative"] = row
            row += 1
        if section.note:
            sheet.cell(row=row, column=1, value=section.note).font = Font(italic=True)
            row += 1
        row += 1
    _widths(sheet, 44, 12)
    sheet.column_dimensions[get_column_letter(years + 2)].width = 14
    _chart(sheet, rows, years, f"B{row + 1}", texts)
