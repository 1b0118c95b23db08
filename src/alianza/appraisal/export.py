"""An appraisal as an Excel workbook: summary, cash flows, loans, sensitivity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from alianza.appraisal.evaluate import Appraisal, ProjectAppraisal

MONEY = "#,##0.00"
RATE = "0.00%"


def _rows(
    sheet: Worksheet,
    header: list[str],
    rows: list[list[Any]],
    formats: dict[int, str] | None = None,
) -> None:
    sheet.append(header)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
        for column, number_format in (formats or {}).items():
            sheet.cell(row=sheet.max_row, column=column).number_format = number_format
    for column in sheet.columns:
        width = max(len(str(cell.value)) if cell.value is not None else 0 for cell in column)
        sheet.column_dimensions[column[0].column_letter].width = min(max(10, width + 2), 48)


def _flatten(report: dict[str, Any], prefix: str = "") -> list[list[Any]]:
    rows: list[list[Any]] = []
    for key, value in report.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            continue  # tables go to sheets of their own
        else:
            rows.append([name, value])
    return rows


def write_xlsx(appraisal: Appraisal, path: str | Path) -> Path:
    """Write the appraisal to `path` (.xlsx) and return the path."""
    path = Path(path)
    report = appraisal.to_dict()
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Summary"
    skip = {"irr_detail", "applicant_irr_detail"}
    _rows(
        summary, ["figure", "value"], _flatten({k: v for k, v in report.items() if k not in skip})
    )
    if isinstance(appraisal, ProjectAppraisal):
        rows = report["cash_flow_table"]  # the yearly rows, built once by to_dict
        columns = list(rows[0])
        _rows(
            workbook.create_sheet("Cash flows"),
            columns,
            [[row[c] for c in columns] for row in rows],
            {i + 2: MONEY for i in range(len(columns) - 1)},
        )
        _rows(
            workbook.create_sheet("Flows by t"),
            ["t", "total", "applicant"],
            [
                [t, float(total), float(applicant)]
                for t, (total, applicant) in enumerate(
                    zip(appraisal.flows, appraisal.applicant_flows, strict=True)
                )
            ],
            {2: MONEY, 3: MONEY},
        )
        for name, schedule in appraisal.loans.items():
            _rows(
                workbook.create_sheet(f"Loan {name}"[:31]),
                ["year", "opening", "interest", "principal", "payment", "closing"],
                [list(row.__dict__.values()) for row in schedule],
                {i: MONEY for i in range(2, 7)},
            )
        _rows(
            workbook.create_sheet("Sensitivity"),
            ["driver", "change", "npv", "irr"],
            [[row.driver, row.change, row.npv, row.irr] for row in appraisal.sensitivity],
            {2: RATE, 3: MONEY, 4: RATE},
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path
