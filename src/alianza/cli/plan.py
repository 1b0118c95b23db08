"""`alianza plan ...`: check, appraise and export business plans."""

from __future__ import annotations

import csv
import json
import math
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from alianza.appraisal import PlanError, evaluate, load_plan, plan_json_schema, xirr
from alianza.appraisal.batch import evaluate_many
from alianza.appraisal.evaluate import ProjectAppraisal
from alianza.appraisal.indicators import STATUS_NAMES
from alianza.appraisal.plan import Plan, plan_document, plan_warnings
from alianza.appraisal.report import ProfileReport, ProjectReport
from alianza.appraisal.sections import sections_of, title_lines
from alianza.appraisal.sensitivity import RiskOptions
from alianza.appraisal.translations import LANGUAGES, N_, Texts
from alianza.cli import _options as checks

plan_app = typer.Typer(help="Business plans: check, appraise, export.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True, soft_wrap=True)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    xlsx = "xlsx"
    pdf = "pdf"


Language = StrEnum("Language", {code: code for code in LANGUAGES})  # type: ignore[misc]


def fail(exc: PlanError | ValueError) -> typer.Exit:
    """Print every problem, red, on standard error; exit code 2 (bad input)."""
    if isinstance(exc, PlanError):
        errors.print(f"[bold red]{exc.source}[/]: {len(exc.errors)} problem(s)")
        for path, reason in exc.errors:
            errors.print(f"  [red]{path or '(file)'}[/]: {reason}", highlight=False)
    else:
        errors.print(f"[bold red]error[/]: {exc}", highlight=False)
    return typer.Exit(2)


def money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def percent(value: float | None) -> str:
    return (
        "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2%}"
    )


def report_tables(
    report: ProjectReport | ProfileReport, texts: Texts, width: int = 80
) -> list[Any]:
    """The report as Rich renderables: the title block, then every section of its layout
    (alianza.appraisal.sections), sections by year turned so that the years run down."""
    title = Table(show_header=False, box=None, title_justify="left")
    title.add_column(style="bold")
    title.add_column()
    for label, text in title_lines(report, texts):
        title.add_row(label, text)
    out: list[Any] = [
        Text(texts(N_("Appraisal of %(plan)s"), plan=report.name), style="bold"),
        title,
    ]
    for section in sections_of(report, texts):
        if section.notes:
            out.append(Text(section.title, style="bold"))
            out += [Text(f"• {note}", style="yellow") for note in section.notes]
            continue
        if section.by_year:
            # Years across, as RuralInvest shows them, in as many tables as the width needs.
            label_width = max(len("  " * row.level + row.label) for row in section.rows)
            cell_width = max(
                len(cell) for row in section.rows for cell in section.cells(texts, row)
            )
            per_table = max(1, (width - min(label_width, 40) - 4) // (cell_width + 3))
            for start in range(0, len(section.columns), per_table):
                part = Table(
                    title=section.title if start == 0 else None,
                    title_justify="left",
                    title_style="bold",
                )
                part.add_column(texts(N_("Year")), max_width=40)
                columns = section.columns[start : start + per_table]
                for column in columns:
                    part.add_column(column, justify="right", no_wrap=True)
                for row in section.rows:
                    cells = section.cells(texts, row)[start : start + per_table]
                    part.add_row(
                        "  " * row.level + row.label, *cells, style="bold" if row.total else None
                    )
                out.append(part)
            if section.note:
                out.append(Text(section.note, style="dim"))
            continue
        table = Table(title=section.title, title_justify="left", title_style="bold")
        table.add_column("", style="cyan")
        for column in section.columns:
            table.add_column(column, justify="right")
        for row in section.rows:
            table.add_row(
                "  " * row.level + row.label,
                *section.cells(texts, row),
                style="bold" if row.total else None,
            )
        out.append(table)
        if section.note:
            out.append(Text(section.note, style="dim"))
    return out


def print_report(report: ProjectReport | ProfileReport, texts: Texts, output: Path | None) -> None:
    """The report as tables on the terminal, or as text in ``output``."""
    if output is None:
        for renderable in report_tables(report, texts, console.width):
            console.print(renderable)
        return
    with output.open("w", encoding="utf-8") as handle:
        file_console = Console(file=handle, width=160, no_color=True, highlight=False)
        for renderable in report_tables(report, texts, file_console.width):
            file_console.print(renderable)
    errors.print(f"wrote {output}")


def print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        console.print(f"[yellow]note:[/] {warning}", highlight=False)


PlanPath = Annotated[
    Path,
    typer.Argument(
        metavar="PLAN", help="Plan file: YAML, JSON or an Excel workbook (docs/plan-format.md)."
    ),
]
DiscountRate = Annotated[
    float | None,
    typer.Option(
        callback=checks.finite(*checks.exclusive_bounds(Plan, "discount_rate")),
        help="Real discount rate, overrides the plan's (0.03 for 3%; > -1).",
    ),
]


def default_output(plan_path: Path, output_format: OutputFormat) -> Path:
    """``fruit-veg.plan.yaml`` -> ``./fruit-veg.xlsx``: in the current folder, never beside
    the input."""
    return Path(plan_path.with_suffix("").with_suffix(f".{output_format.value}").name)


def resolved_format(output_format: OutputFormat | None, output: Path | None) -> OutputFormat:
    """The format asked for; else the one the output file's suffix names; else a table."""
    if output_format is not None:
        return output_format
    suffix = output.suffix.lower().lstrip(".") if output is not None else ""
    return OutputFormat(suffix) if suffix in {f.value for f in OutputFormat} else OutputFormat.table


@plan_app.command("evaluate")
def evaluate_command(
    plan_path: PlanPath,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="table, json, xlsx or pdf (default: from the -o file's suffix, else table).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            callback=checks.output_file,
            help="File to write (table and json: default the terminal; xlsx and pdf: default "
            "PLAN-NAME.xlsx/.pdf in the current folder).",
        ),
    ] = None,
    language: Annotated[
        Language,
        typer.Option("--lang", help="Language of the table, XLSX and PDF: en, es, fr or pt."),
    ] = Language.en,
    discount_rate: DiscountRate = None,
    risk_draws: Annotated[
        int,
        typer.Option(
            min=0, max=checks.MAX_RISK_DRAWS, help="Draws of the risk analysis (0: none)."
        ),
    ] = 0,
    price_sd: Annotated[
        float,
        typer.Option(min=0, max=checks.MAX_SD, help="Risk: sd of the yearly price factor."),
    ] = 0.15,
    yield_sd: Annotated[
        float,
        typer.Option(min=0, max=checks.MAX_SD, help="Risk: sd of the yearly yield factor."),
    ] = 0.15,
    seed: Annotated[int, typer.Option(min=0, help="Risk: seed of the draws.")] = 0,
    chart: Annotated[
        Path | None,
        typer.Option(
            callback=checks.png_file, help="Also write a PNG chart of the flows (and of the risk)."
        ),
    ] = None,
) -> None:
    """Appraise a plan: cash flows, NPV, IRR, payback, working capital, loans, the
    financing plan, debt service, employment, sensitivity and (with --risk-draws) the risk
    of a negative NPV; as a table, JSON, or a report to print (XLSX, PDF)."""
    try:
        plan = load_plan(plan_path)
        appraisal = evaluate(plan, discount_rate, RiskOptions(risk_draws, price_sd, yield_sd, seed))
    except (PlanError, ValueError) as exc:
        raise fail(exc) from None
    if chart is not None:
        if not isinstance(appraisal, ProjectAppraisal):
            raise fail(ValueError("--chart draws a project's flows; a profile has one year"))
        from alianza.appraisal.charts import appraisal_chart

        errors.print(f"wrote {appraisal_chart(appraisal, chart)}")
    report = appraisal.report()
    texts = Texts(language.value)
    chosen = resolved_format(output_format, output)
    if chosen is OutputFormat.json:
        text = report.model_dump_json(indent=2)
        if output:
            output.write_text(text + "\n", encoding="utf-8")
            errors.print(f"wrote {output}")
        else:
            typer.echo(text)
    elif chosen is OutputFormat.xlsx:
        from alianza.appraisal.export import write_xlsx

        target = output or default_output(plan_path, chosen)
        if target.resolve() == plan_path.resolve():
            raise fail(ValueError(f"the report would replace the plan {plan_path}: give -o FILE"))
        write_xlsx(report, target, texts)
        errors.print(f"wrote {target}")
    elif chosen is OutputFormat.pdf:
        from alianza.appraisal.pdf import write_pdf

        target = output or default_output(plan_path, chosen)
        write_pdf(report, target, texts)
        errors.print(f"wrote {target}")
    else:
        print_report(report, texts, output)


@plan_app.command("check")
def check_command(plan_path: PlanPath) -> None:
    """Validate a plan file and list every problem with its field path (exit code 2)."""
    try:
        plan = load_plan(plan_path)
    except PlanError as exc:
        raise fail(exc) from None
    console.print(
        f"[green]ok[/] {plan_path}: {plan.stage} '{plan.name}', {len(plan.investments)} investments, "
        f"{len(plan.activities)} activities"
    )
    from alianza.appraisal.workbook import is_workbook, open_workbook, warnings_at_cells

    if is_workbook(plan_path):
        print_warnings(warnings_at_cells(open_workbook(plan_path), plan))
    else:
        print_warnings(plan_warnings(plan))


@plan_app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the plan format (version 1)."""
    typer.echo(json.dumps(plan_json_schema(), indent=2))


@plan_app.command("compare")
def compare_command(
    plan_paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PLAN...",
            help="Plan files (YAML, JSON or .xlsx): projects and profiles, mixed.",
        ),
    ],
    discount_rate: DiscountRate = None,
    language: Annotated[
        Language, typer.Option("--lang", help="Language of the tables: en, es, fr or pt.")
    ] = Language.en,
) -> None:
    """Appraise several plans together (a portfolio), one line each: the projects in one
    table (NPV, IRR, payback, B/C), the profiles in another (their typical year)."""
    texts = Texts(language.value)
    try:
        plans = [load_plan(path) for path in plan_paths]
        projects = [plan for plan in plans if plan.stage == "project"]
        profiles = [plan for plan in plans if plan.stage == "profile"]
        result = evaluate_many(projects, discount_rate) if projects else None
        typical = [evaluate(plan).report() for plan in profiles]
    except (PlanError, ValueError) as exc:
        raise fail(exc) from None
    if result is not None:
        table = Table(title=texts(N_("Projects")), title_justify="left", title_style="bold")
        headers = [N_("Plan"), N_("Currency"), N_("NPV"), N_("IRR"), N_("Payback"), N_("B/C")]
        for i, column in enumerate(headers):
            table.add_column(texts(column), justify="left" if i < 2 else "right")
        for i, plan in enumerate(projects):
            status = STATUS_NAMES[int(result.irr_status[i])]
            payback = float(result.payback_years[i])
            table.add_row(
                plan.name,
                plan.currency,
                texts.money(float(result.npv[i])),
                texts.percent(float(result.irr[i])) if status == "unique" else status,
                "—" if math.isnan(payback) else texts.decimal(payback),
                texts.decimal(float(result.benefit_cost_ratio[i])),
            )
        console.print(table)
    if typical:
        table = Table(
            title=texts(N_("Profiles (one typical year)")),
            title_justify="left",
            title_style="bold",
        )
        headers = [
            N_("Plan"),
            N_("Currency"),
            N_("Investment"),
            N_("Net income after the reserve"),
            N_("Years to recover the investment"),
        ]
        for i, column in enumerate(headers):
            table.add_column(texts(column), justify="left" if i < 2 else "right")
        for report in typical:
            assert isinstance(report, ProfileReport)
            table.add_row(
                report.name,
                report.currency,
                texts.money(report.investment),
                texts.money(report.net_after_reserve),
                texts(N_("never"))
                if report.years_to_recover is None
                else texts.decimal(report.years_to_recover, 1),
            )
        console.print(table)


@plan_app.command("xirr")
def xirr_command(
    flows_path: Annotated[
        Path,
        typer.Argument(metavar="FLOWS", help="CSV with columns date (YYYY-MM-DD) and amount."),
    ],
) -> None:
    """IRR of dated cash flows (XIRR, days / 365)."""
    try:
        with flows_path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        if not rows or not {"date", "amount"} <= set(rows[0]):
            raise ValueError(f"{flows_path}: needs a header with the columns date and amount")
        dates, amounts = [], []
        for line, row in enumerate(rows, start=2):
            try:
                dates.append(date.fromisoformat(row["date"].strip()))
                amounts.append(float(row["amount"]))
                if not math.isfinite(amounts[-1]):
                    raise ValueError
            except (ValueError, AttributeError):
                raise ValueError(
                    f"{flows_path}, line {line}: date must be YYYY-MM-DD and amount a number"
                ) from None
        result = xirr(amounts, dates)
    except OSError as exc:
        raise fail(ValueError(f"{flows_path}: {exc.strerror}")) from None
    except (UnicodeDecodeError, csv.Error):
        raise fail(ValueError(f"{flows_path}: not a CSV file of UTF-8 text")) from None
    except ValueError as exc:
        raise fail(exc) from None
    if result.status == "unique":
        console.print(f"XIRR {percent(result.value)}")
    else:
        console.print(f"XIRR {result.status}: {result.reason}")
        raise typer.Exit(1)


LanguageOption = Annotated[
    Language, typer.Option("--lang", help="Language of the workbook: en, es, fr or pt.")
]
Force = Annotated[bool, typer.Option("--force", help="Replace the output file if it exists.")]
PLAN_SUFFIXES = (".yaml", ".yml", ".json", ".xlsx")


def _new_file(path: Path, force: bool, suffixes: tuple[str, ...] = PLAN_SUFFIXES) -> None:
    """Refuse an output of the wrong kind, or one that would replace a file unasked."""
    if path.suffix.lower() not in suffixes:
        raise fail(ValueError(f"{path}: name the file {' or '.join('*' + s for s in suffixes)}"))
    if path.exists() and not force:
        raise fail(ValueError(f"{path} exists: give --force to replace it"))


def plan_yaml(document: dict[str, Any]) -> str:
    """A plan's data as YAML the way the examples are written: lists of numbers or months
    on one line (`production: [100, 200, 250]`), everything else in blocks."""
    import yaml

    class PlanDumper(yaml.SafeDumper):
        pass

    def represent_list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
        flat = all(not isinstance(item, dict | list) for item in items)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flat)

    PlanDumper.add_representer(list, represent_list)
    return yaml.dump(document, Dumper=PlanDumper, allow_unicode=True, sort_keys=False, width=100)


@plan_app.command("new")
def new_command(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", callback=checks.output_file, help="Workbook to write."),
    ] = Path("plan.xlsx"),
    profile: Annotated[
        bool, typer.Option("--profile", help="A profile's template (one typical year).")
    ] = False,
    years: Annotated[
        int | None,
        typer.Option(
            **checks.schema_bounds(Plan, "years"),
            help="Projects: the horizon, filled in, with a column for each year (default: "
            "10 columns, horizon left blank).",
        ),
    ] = None,
    lang: LanguageOption = Language.en,
    force: Force = False,
) -> None:
    """Write a blank plan workbook to fill in (Excel), laid out like RuralInvest's forms."""
    from alianza.appraisal.workbook import write_plan_workbook

    if profile and years is not None:
        raise fail(ValueError("--years sets a project's horizon; a profile has one year"))
    _new_file(output, force, (".xlsx",))
    write_plan_workbook(None, output, lang=lang.value, profile=profile, years=years)
    console.print(
        f"wrote {output}: a {'profile' if profile else 'project'} template; fill it in, then "
        f"`alianza plan check {output}`",
        highlight=False,
    )


@plan_app.command("convert")
def convert_command(
    source: Annotated[Path, typer.Argument(metavar="IN", help="Plan file: YAML, JSON or .xlsx.")],
    target: Annotated[
        Path,
        typer.Argument(
            metavar="OUT", callback=checks.output_file, help="File to write: .yaml, .json or .xlsx."
        ),
    ],
    lang: LanguageOption = Language.en,
    force: Force = False,
) -> None:
    """Turn a plan into another format, losslessly: YAML or JSON to an Excel workbook, or
    back (the plan read from OUT equals the plan read from IN)."""
    from alianza.appraisal.workbook import imprecise_numbers, is_workbook, write_plan_workbook

    _new_file(target, force)
    try:
        plan = load_plan(source)
    except PlanError as exc:
        raise fail(exc) from None
    if target.exists() and target.resolve() == source.resolve():
        raise fail(ValueError(f"{target} is the plan being read: give another file"))
    if is_workbook(target):
        try:
            write_plan_workbook(plan, target, lang=lang.value)
        except PlanError as exc:
            raise fail(exc) from None
        print_warnings(imprecise_numbers(plan))
    else:
        document = plan_document(plan)
        if target.suffix.lower() == ".json":
            text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        else:
            text = f"# {plan.name}: converted by `alianza plan convert` from {source.name}\n"
            text += plan_yaml(document)
        partial = target.with_name(f".{target.name}.partial")  # whole or not at all
        try:
            partial.write_text(text, encoding="utf-8")
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    console.print(f"wrote {target}", highlight=False)
