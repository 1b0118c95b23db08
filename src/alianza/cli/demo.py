"""`alianza demo seed`: a realistic productive-alliance programme to explore."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from alianza.cli._options import URL_OPTION
from alianza.cli._session import session as _session

demo_app = typer.Typer(help="Demo data for the platform.", no_args_is_help=True)
console = Console(soft_wrap=True)


@demo_app.command("seed")
def seed_command(
    seed: int = typer.Option(1, "--seed", min=0,
                             help="Random seed: the same seed gives the same programme."),
    url: str | None = URL_OPTION,
) -> None:
    """Fill the database with the demo programme DEMO-PA (2 countries, 40 POs, ~3,000 members)."""
    from alianza.platform.demo.service import (
        ADMIN_PASSWORD,
        ADMIN_USERNAME,
        PROGRAMME_CODE,
        seed_demo,
    )

    with _session(url) as session, console.status("seeding the demo programme (about half a minute)..."):
        summary = seed_demo(session, seed)
    table = Table(title=f"programme {PROGRAMME_CODE}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, count in {**summary.counts, **{f"subprojects {k}": v for k, v in summary.states.items()}}.items():
        table.add_row(name, str(count))
    console.print(table)
    console.print(f"sign in as {ADMIN_USERNAME!r} with password {ADMIN_PASSWORD!r} (committee: comite1, comite2)")
