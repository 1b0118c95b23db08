"""An appraisal report as a printable PDF (fpdf2, pure Python), with the cash-flow chart.

The font is DejaVu Sans, embedded, so that accents and the currency signs print in every
language; its TTF files ship inside matplotlib's package data (a dependency already), so
nothing is fetched. Pages are A4 landscape; sections by year are split into as many
tables as their years need, the labels repeated on each.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no screen needed

import matplotlib.pyplot as plt  # noqa: E402
from fpdf import FPDF  # noqa: E402

from alianza.appraisal.report import ProfileReport, ProjectReport  # noqa: E402
from alianza.appraisal.sections import Section, sections_of, title_lines  # noqa: E402
from alianza.appraisal.translations import N_, Texts  # noqa: E402

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu"
LABEL_WIDTH = 64.0  # mm
CELL_WIDTH = 16.0  # mm, a year's column
LINE = 5.0  # mm


class ReportPdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.footer_text = footer_text
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.add_font(FONT, "I", str(FONT_DIR / "DejaVuSans-Oblique.ttf"))
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(12, 12, 12)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT, "", 7)
        self.set_text_color(110)
        self.cell(0, 4, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="R")
        self.set_text_color(0)


def _heading(pdf: ReportPdf, text: str, space_needed: float = 30) -> None:
    if pdf.get_y() + space_needed > pdf.h - 18:
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font(FONT, "B", 11)
    pdf.set_fill_color(220, 230, 241)
    pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT", fill=True)
    pdf.set_font(FONT, "", 8)


def _table(pdf: ReportPdf, section: Section, texts: Texts) -> None:
    per_table = int((pdf.w - 24 - LABEL_WIDTH) // CELL_WIDTH) if section.by_year else 99
    columns = section.columns
    value_width = CELL_WIDTH if section.by_year else 34.0
    for start in range(0, max(len(columns), 1), per_table):
        part = columns[start : start + per_table]
        height = LINE * (len(section.rows) + 1) + 4
        if pdf.get_y() + height > pdf.h - 18:
            pdf.add_page()
        pdf.set_font(FONT, "B", 7)
        pdf.cell(LABEL_WIDTH, LINE, texts(N_("Year")) if section.by_year else "", border="B")
        for column in part:
            pdf.cell(value_width, LINE, column, border="B", align="R")
        pdf.ln(LINE)
        for row in section.rows:
            cells = section.cells(texts, row)[start : start + per_table]
            pdf.set_font(FONT, "B" if row.total else "", 7)
            border = "T" if row.total else ""
            pdf.cell(LABEL_WIDTH, LINE, "    " * row.level + row.label, border=border)
            for value in cells:
                negative = value.startswith("-")
                if negative:
                    pdf.set_text_color(170, 30, 30)
                pdf.cell(value_width, LINE, value, border=border, align="R")
                pdf.set_text_color(0)
            pdf.ln(LINE)
        pdf.ln(2)
    if section.note:
        pdf.set_font(FONT, "I", 7.5)
        pdf.multi_cell(0, 4, section.note, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 8)


def cash_flow_chart(report: ProjectReport, path: Path, texts: Texts) -> Path:
    """Benefits and costs by year as bars, the net flow and the cash position as lines."""
    years = [row.year for row in report.cash_flow_table]
    benefits = [r.sales + r.own_use + r.salvage + r.residual for r in report.cash_flow_table]
    costs = [
        -(r.operating + r.general + r.maintenance + r.replacements + r.investment)
        for r in report.cash_flow_table
    ]
    figure, axis = plt.subplots(figsize=(10, 3.6))
    axis.bar(years, benefits, color="#55A868", label=texts(N_("Benefits")))
    axis.bar(years, costs, color="#C44E52", label=texts(N_("Costs")))
    axis.plot(
        years,
        [r.net for r in report.cash_flow_table],
        color="#222222",
        marker="o",
        label=texts(N_("Net flow")),
    )
    axis.plot(
        years,
        [r.cumulative_cash for r in report.debt_service.years],
        color="#4C72B0",
        linestyle="--",
        marker=".",
        label=texts(N_("Cumulative cash position")),
    )
    axis.axhline(0, color="black", linewidth=0.7)
    axis.set_xlabel(texts(N_("Year")))
    axis.set_ylabel(report.currency)
    axis.set_xticks(years)
    axis.yaxis.set_major_formatter(lambda value, _: texts.integer(value))
    axis.grid(axis="y", alpha=0.3)
    axis.legend(fontsize=8, ncols=4, loc="upper left")
    axis.set_title(texts(N_("Cash flow by year")), fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=150)
    plt.close(figure)
    return path


def write_pdf(
    report: ProjectReport | ProfileReport, path: str | Path, texts: Texts | None = None
) -> Path:
    """Write the report to ``path`` (.pdf) in the language of ``texts``; the path."""
    texts = texts or Texts()
    path = Path(path)
    pdf = ReportPdf(
        f"{report.name} · alianza {report.info.alianza_version} · "
        f"{texts.date(report.info.produced_on)}"
    )
    pdf.set_title(report.name)
    pdf.set_creator(f"alianza {report.info.alianza_version}")
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.multi_cell(
        0, 9, texts(N_("Appraisal of %(plan)s"), plan=report.name), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(1)
    for label, text in title_lines(report, texts):
        pdf.set_font(FONT, "B", 9)
        pdf.cell(45, 5.5, label)
        pdf.set_font(FONT, "", 9)
        pdf.cell(0, 5.5, text, new_x="LMARGIN", new_y="NEXT")
    sections = sections_of(report, texts)
    with tempfile.TemporaryDirectory() as folder:
        for section in sections:
            # A heading is kept with the start of its table (at most a page's worth).
            _heading(pdf, section.title, min(LINE * (len(section.rows) + 2) + 12, 120))
            if section.notes:
                for note in section.notes:
                    pdf.multi_cell(0, 4.5, f"• {note}", new_x="LMARGIN", new_y="NEXT")
                continue
            _table(pdf, section, texts)
            if section.key == "cash_flow" and isinstance(report, ProjectReport):
                picture = cash_flow_chart(report, Path(folder) / "cash-flow.png", texts)
                if pdf.get_y() + 100 > pdf.h - 15:
                    pdf.add_page()
                pdf.image(str(picture), w=pdf.w - 24)
        path.parent.mkdir(parents=True, exist_ok=True)
        pdf.output(str(path))
    return path
