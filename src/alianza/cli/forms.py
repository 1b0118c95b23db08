"""`alianza forms ...`: the field forms for ODK Collect / KoboToolbox, and checking exports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from alianza.cli import _options as checks
from alianza.fieldforms.forms import FORM_NAMES, FormName

forms_app = typer.Typer(
    help="Field forms (XLSForm) for ODK Collect / KoboToolbox and their submissions.",
    no_args_is_help=True,
)
console = Console()


def _form_name(value: str | None) -> str | None:
    if value is not None and value not in FORM_NAMES:
        raise typer.BadParameter(f"must be one of {', '.join(FORM_NAMES)}")
    return value


@forms_app.command("build")
def build(
    programme_data: Annotated[
        Path,
        typer.Option(
            "--programme-data",
            help="YAML/JSON file of the programme's districts, villages, groups, kits, buyers.",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            callback=checks.output_folder,
            help="Folder the forms are written to (created; its parent must exist).",
        ),
    ],
    form: Annotated[
        str | None,
        typer.Option(callback=_form_name, help="Build only this form (visit, inspection, ...)."),
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="Form version (default: the build's UTC time).")
    ] = None,
) -> None:
    """Write the XLSForms (visit, inspection, harvest, kit_sale), each checked by pyxform."""
    from alianza.fieldforms.build import build_forms
    from alianza.fieldforms.programme import load_programme_data

    data = load_programme_data(programme_data)
    names: tuple[FormName, ...] = (form,) if form else FORM_NAMES  # type: ignore[assignment]
    built = build_forms(data, output, names, version)
    table = Table(title=f"Field forms for {data.programme}")
    for column in ("form", "form_id", "fields", "XLSForm", "XForm"):
        table.add_column(column)
    for item in built:
        table.add_row(item.name, item.form_id, str(item.fields), str(item.xlsform), str(item.xform))
    console.print(table)
    for item in built:
        for warning in item.warnings:
            console.print(f"{item.name}: pyxform: {warning}", markup=False)


@forms_app.command("check")
def check(
    export: Annotated[
        Path,
        typer.Argument(help="Kobo or ODK Central export: .json, .csv (repeats beside it) or .zip."),
    ],
    form: Annotated[
        str,
        typer.Option(
            callback=_form_name, help="Which form it is: visit, inspection, harvest, kit_sale."
        ),
    ],
) -> None:
    """Parse an export and report its rows: what would be imported, and every bad row
    (exit code 2 if any: an import takes the whole file or nothing)."""
    from alianza.fieldforms.submissions import read_export

    parsed = read_export(export, form)  # type: ignore[arg-type]
    console.print(
        f"{export}: {len(parsed.records)} good submission(s), "
        f"{len({p.field.split('.', 1)[0] for p in parsed.problems})} bad row(s)",
        soft_wrap=True,
        markup=False,
    )
    parsed.raise_for_problems()


@forms_app.command("import")
def import_(
    export: Annotated[
        Path,
        typer.Argument(help="Kobo or ODK Central export: .json, .csv (repeats beside it) or .zip."),
    ],
    form: Annotated[
        str,
        typer.Option(
            callback=_form_name, help="Which form it is: visit, inspection, harvest, kit_sale."
        ),
    ],
    programme: Annotated[str, typer.Option("--programme", help="The programme's code.")],
    username: Annotated[
        str, typer.Option("--as", help="The user importing (their role and scope apply).")
    ],
    programme_data: Annotated[
        Path | None,
        typer.Option(
            "--programme-data",
            help="The forms' programme-data file: its districts' areas check the GPS points.",
        ),
    ] = None,
    url: str | None = checks.URL_OPTION,
) -> None:
    """Import an export's submissions as field records: all rows or none (exit code 1 and
    nothing written if any row is refused), skipping submissions imported before (by
    instance ID); prints the row-by-row report."""
    from alianza.cli.programme import acting
    from alianza.fieldforms.geo import DistrictArea
    from alianza.fieldforms.programme import load_programme_data
    from alianza.fieldforms.submissions import read_export
    from alianza.platform.fieldrecords.imports import import_submissions

    areas: dict[str, DistrictArea] = {}
    if programme_data is not None:
        data = load_programme_data(programme_data)
        for district in data.districts:
            if district.area is not None:
                areas[district.id] = district.area
                areas.setdefault(district.name, district.area)
    parsed = read_export(export, form)  # type: ignore[arg-type]
    with acting(url, programme, username) as actor:
        report = import_submissions(actor, parsed, areas)
    table = Table(title=f"{export}: {form} submissions")
    for column in ("row", "instance ID", "outcome", "problems"):
        table.add_column(column)
    for row in report.rows:
        details = [f"{p.field}: {p.message}" for p in row.problems] + row.notes
        table.add_row(
            "" if row.row is None else str(row.row),
            row.instance_id or "",
            row.outcome.value,
            "\n".join(details),
        )
    console.print(table)
    console.print(
        f"{report.imported} imported, {report.skipped} already imported, "
        f"{report.refused} refused"
        + ("" if report.written else ": nothing written (a file is imported whole or not at all)"),
        soft_wrap=True,
        markup=False,
    )
    if not report.written:
        raise typer.Exit(code=1)
