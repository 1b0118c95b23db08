"""The simulation's XLSX workbook (openpyxl) for spreadsheet users: a summary sheet, then the
breakdown by group, district and market, and the tables by season.

Every sheet but the summary is one of the Parquet tables, with the same column names (units
in the names), one header row, frozen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from alianza.ladder.breakdown import REASON_TEXT, REASONS

BOLD = Font(bold=True)
# Sheet name -> (table, rows of the breakdown with this scope or None for the whole table).
SHEETS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "By group": ("breakdown", ("all", "group")),
    "By district": ("breakdown", ("district",)),
    "By market": ("breakdown", ("market",)),
    "By season": ("seasons", None),
    "Districts by season": ("districts", None),
    "Markets by season": ("markets", None),
}


def summary_rows(document: dict[str, Any]) -> list[tuple[str, Any]]:
    """The summary sheet: (indicator, value) pairs, from the summary JSON document."""
    money = document["money"]
    line = document["poverty_line"]
    everyone = document["breakdown"]["all"][0]
    never = document["never_started"]
    rows: list[tuple[str, Any]] = [
        ("scenario", document["scenario"]),
        ("farmers", document["farmers"]),
        ("seasons", document["seasons"]),
        ("start date", document["start_date"]),
        ("seed", document["seed"]),
        ("currency", money["currency"]),
        ("exchange rate, local currency per US$", money["exchange_rate"]),
        ("PPP factor, local currency per international $", money["ppp_factor"]),
        ("PPP base year", money["ppp_year"]),
        ("PPP dollars per market dollar", money["ppp_per_usd"]),
        ("conversion source", money["source"]),
        ("poverty line, PPP $ a person a day", line["ppp_per_person_day"]),
        ("poverty line, market US$ a person a day", line["usd_per_person_day"]),
        ("poverty line source", line["source"]),
        ("last season: share above the poverty line", everyone["share_above_poverty"]),
        ("last season: share commercial", everyone["share_commercial"]),
        (
            "last season: median income, PPP $ a person a day",
            everyone["income_ppp_per_person_day_median"],
        ),
        (
            "last season: median income, US$ a person a day",
            everyone["income_usd_per_person_day_median"],
        ),
        ("last season: median cash, US$", everyone["cash_usd_median"]),
        ("last season: median kits owned", everyone["kits_owned_median"]),
        ("share who never started", never["share"]),
    ]
    for reason in REASONS:
        rows.append((f"  never started: {REASON_TEXT[reason]}", never["reasons"][reason]["share"]))
    rows.append(("median season first commercial", document["time_to_commercial"]["median_season"]))
    rows.append(("accounting balances for every farmer", document["accounting_balances"]))
    for warning in document["warnings"]:
        rows.append(("warning", warning))
    return rows


def _cell(sheet: Any, value: Any, bold: bool = False) -> WriteOnlyCell:
    if isinstance(value, float) and value != value:  # NaN: an empty cell
        value = None
    cell = WriteOnlyCell(sheet, value=value)
    if bold:
        cell.font = BOLD
    return cell


def write_workbook(document: dict[str, Any], tables: dict[str, pa.Table], path: Path) -> None:
    """Write the workbook (write-only mode: rows are streamed, memory stays small)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Summary")
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, "indicator", True), _cell(sheet, "value", True)])
    for name, value in summary_rows(document):
        sheet.append([name, value])
    for title, (table_name, scopes) in SHEETS.items():
        table = tables[table_name]
        if scopes is not None:
            table = table.filter(pc.is_in(table.column("scope"), pa.array(scopes)))
        sheet = workbook.create_sheet(title)
        sheet.freeze_panes = "A2"
        sheet.append([_cell(sheet, name, True) for name in table.column_names])
        for row in table.to_pylist():
            sheet.append([_value(value) for value in row.values()])
    workbook.save(path)


def _value(value: Any) -> Any:
    """A cell value openpyxl writes: NaN as an empty cell."""
    return None if isinstance(value, float) and value != value else value
