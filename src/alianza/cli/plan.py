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

from alianza.appraisal import PlanError, evaluate, load_plan, plan_json_schema, xirr
from alianza.appraisal.batch import evaluate_many
from alianza.appraisal.evaluate import ProfileAppraisal, ProjectAppraisal
from alianza.appraisal.i18n import LANGUAGES
from alianza.appraisal.indicators import STATUS_NAMES
from alianza.appraisal.plan import Plan, plan_document, plan_warnings
from alianza.appraisal.sensitivity import RiskOptions
from alianza.cli import _options as checks

plan_app = typer.Typer(help="Business plans: check, appraise, export.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True, soft_wrap=True)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    xlsx = "xlsx"


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


def _key_figures(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left", title_style="bold")
    table.add_column("figure", style="cyan")
    table.add_column("value", justify="right")
    for row in rows:
        table.add_row(*row)
    return table


def _irr_text(report: dict[str, Any], key: str) -> str:
    detail = report[f"{key}_detail"]
    if detail["status"] == "unique":
        return percent(report[key])
    return f"{detail['status']}: {detail['reason']}"


def print_project(appraisal: ProjectAppraisal) -> None:
    report = appraisal.to_dict()
    currency = report["currency"]
    console.print(
        f"[bold]{report['name']}[/] — project over {report['years']} years, {currency}, "
        f"discount rate {report['discount_rate']:.2%}"
    )
    flows = Table(
        title=f"Cash flows by year ({currency})", title_justify="left", title_style="bold"
    )
    columns = list(report["cash_flow_table"][0])
    for column in columns:
        flows.add_column(column.replace("_", " "), justify="right")
    for row in report["cash_flow_table"]:
        flows.add_row(str(row["year"]), *(money(row[c]) for c in columns[1:]))
    console.print(flows)
    t_flows = Table(
        title="Flows by t (year-1 investment at t = 0)", title_justify="left", title_style="bold"
    )
    t_flows.add_column("t", justify="right")
    t_flows.add_column("total", justify="right")
    t_flows.add_column("applicant", justify="right")
    for t, (total, applicant) in enumerate(
        zip(report["cash_flows"]["total"], report["cash_flows"]["applicant"], strict=True)
    ):
        t_flows.add_row(str(t), money(total), money(applicant))
    console.print(t_flows)
    investment = report["investment"]
    wc = report["working_capital"]
    figures = [
        ("Investment", money(investment["total"])),
        ("  own contribution", money(investment["own_contribution"])),
        ("  grants", money(investment["grants"])),
        *(
            (f"    {donor}", money(amount))
            for donor, amount in investment["grants_by_donor"].items()
        ),
        ("NPV", money(report["npv"])),
        ("IRR", _irr_text(report, "irr")),
        ("Applicant NPV", money(report["applicant_npv"])),
        ("Applicant IRR", _irr_text(report, "applicant_irr")),
        (
            "Benefit/cost ratio",
            "—" if report["benefit_cost_ratio"] is None else f"{report['benefit_cost_ratio']:.2f}",
        ),
        (
            "Payback (years)",
            "not within the horizon"
            if report["payback_years"] is None
            else f"{report['payback_years']:.2f}",
        ),
        (
            "Applicant payback (years)",
            "not within the horizon"
            if report["applicant_payback_years"] is None
            else f"{report['applicant_payback_years']:.2f}",
        ),
        ("Annual net income (last year, less residual value)", money(report["annual_net_income"])),
        ("Residual value", money(report["residual_value"])),
        ("Working capital", money(wc["amount"])),
        ("  period (months)", str(wc["period_months"])),
        ("  average period (months)", f"{wc['average_period_months']:.2f}"),
        ("  to finance", money(wc["financed"])),
        ("  its interest (real rate, average period)", money(wc["interest"])),
        ("Employment (person-years)", f"{report['employment_person_years']:.2f}"),
        (
            "Direct / indirect beneficiaries",
            f"{report['beneficiaries']['direct']:,} / {report['beneficiaries']['indirect']:,}",
        ),
        ("Investment per beneficiary", money(report["investment_per_beneficiary"])),
        ("Annual cost per beneficiary", money(report["annual_cost_per_beneficiary"])),
    ]
    console.print(_key_figures("Key figures", figures))
    for loan in report["loans"]:
        schedule = Table(title=f"Loan: {loan['name']}", title_justify="left", title_style="bold")
        for column in ("year", "opening", "interest", "principal", "payment", "closing"):
            schedule.add_column(column, justify="right")
        for row in loan["schedule"]:
            schedule.add_row(
                str(row["year"]),
                *(
                    money(row[c])
                    for c in ("opening", "interest", "principal", "payment", "closing")
                ),
            )
        console.print(schedule)
    sensitivity = Table(
        title="Sensitivity: NPV (IRR) when a driver moves", title_justify="left", title_style="bold"
    )
    sensitivity.add_column("driver")
    changes = sorted({row["change"] for row in report["sensitivity"]})
    for change in changes:
        sensitivity.add_column(f"{change:+.0%}", justify="right")
    sensitivity.add_column("switching value", justify="right")
    for driver, switching in report["switching_values"].items():
        cells = [
            f"{money(row['npv'])} ({percent(row['irr'])})"
            for row in report["sensitivity"]
            if row["driver"] == driver
        ]
        sensitivity.add_row(driver, *cells, "—" if switching is None else f"{switching:+.1%}")
    console.print(sensitivity)
    if "risk" in report:
        r = report["risk"]
        console.print(
            _key_figures(
                f"Risk: {r['draws']:,} draws, price sd {r['price_sd']:.0%}, yield sd {r['yield_sd']:.0%}, seed {r['seed']}",
                [
                    ("P(NPV < 0)", f"{r['probability_negative_npv']:.1%}"),
                    ("NPV mean", money(r["npv_mean"])),
                    ("NPV sd", money(r["npv_sd"])),
                    *((f"NPV {k}", money(v)) for k, v in r["npv_percentiles"].items()),
                ],
            )
        )
    print_warnings(report["warnings"])


def print_profile(appraisal: ProfileAppraisal) -> None:
    report = appraisal.to_dict()
    console.print(
        f"[bold]{report['name']}[/] — profile: one typical year at full production, {report['currency']}"
    )
    rows = [
        ("Investment", money(report["investment"])),
        ("  own contribution", money(report["own_contribution"])),
        ("  grants", money(report["grants"])),
        ("Income", money(report["income"])),
        ("Operating costs", money(report["operating_costs"])),
        ("General costs", money(report["general_costs"])),
        ("Maintenance", money(report["maintenance"])),
        ("Annual reserve (replacement)", money(report["annual_reserve"])),
        ("Net after reserve", money(report["net_after_reserve"])),
        (
            "Years to recover the investment",
            "never" if report["years_to_recover"] is None else f"{report['years_to_recover']:.1f}",
        ),
        ("Employment (person-years)", f"{report['employment_person_years']:.2f}"),
        ("Beneficiaries", f"{report['beneficiaries']['direct']:,}"),
        ("Investment per beneficiary", money(report["investment_per_beneficiary"])),
        ("Annual cost per beneficiary", money(report["annual_cost_per_beneficiary"])),
    ]
    console.print(_key_figures("Key figures", rows))
    print_warnings(report["warnings"])


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


@plan_app.command("evaluate")
def evaluate_command(
    plan_path: PlanPath,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table, json or xlsx.")
    ] = OutputFormat.table,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            callback=checks.output_file,
            help="File to write (xlsx: default PLAN.xlsx; json: default stdout).",
        ),
    ] = None,
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
    """Appraise a plan: cash flows, NPV, IRR, payback, working capital, loans,
    employment, sensitivity and (with --risk-draws) the risk of a negative NPV."""
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
    if output_format is OutputFormat.json:
        text = json.dumps(appraisal.to_dict(), indent=2, ensure_ascii=False)
        if output:
            output.write_text(text + "\n", encoding="utf-8")
            errors.print(f"wrote {output}")
        else:
            typer.echo(text)
    elif output_format is OutputFormat.xlsx:
        from alianza.appraisal.export import write_xlsx

        target = output or plan_path.with_suffix("").with_suffix(".xlsx")
        if target.resolve() == plan_path.resolve():
            raise fail(ValueError(f"the report would replace the plan {plan_path}: give -o FILE"))
        write_xlsx(appraisal, target)
        console.print(f"wrote {target}")
    elif isinstance(appraisal, ProjectAppraisal):
        print_project(appraisal)
    else:
        print_profile(appraisal)


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
        typer.Argument(metavar="PLAN...", help="Project plan files (YAML, JSON or .xlsx)."),
    ],
    discount_rate: DiscountRate = None,
) -> None:
    """Appraise several projects together (a portfolio), one line each."""
    try:
        plans = [load_plan(path) for path in plan_paths]
        result = evaluate_many(plans, discount_rate)
    except (PlanError, ValueError) as exc:
        raise fail(exc) from None
    table = Table(title="Portfolio", title_justify="left", title_style="bold")
    for column in ("plan", "currency", "NPV", "IRR", "payback", "B/C"):
        table.add_column(column, justify="left" if column == "plan" else "right")
    for i, plan in enumerate(plans):
        status = STATUS_NAMES[int(result.irr_status[i])]
        table.add_row(
            plan.name,
            plan.currency,
            money(float(result.npv[i])),
            percent(float(result.irr[i])) if status == "unique" else status,
            "—" if math.isnan(result.payback_years[i]) else f"{result.payback_years[i]:.2f}",
            f"{result.benefit_cost_ratio[i]:.2f}",
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


class Language(StrEnum):
    en = "en"
    es = "es"
    fr = "fr"
    pt = "pt"


assert tuple(Language) == LANGUAGES  # one list of languages
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
