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
    seed: int = typer.Option(
        1, "--seed", min=0, help="Random seed: the same seed gives the same programme."
    ),
    url: str | None = URL_OPTION,
) -> None:
    """Fill the database with the demo programmes DEMO-PA (2 countries, 40 POs, ~3,000 members)
    and DEMO-MI (Micro Investing in Malawi: 5,000 farmers, two years of kit sales)."""
    from alianza.platform.demo.service import (
        ADMIN_PASSWORD,
        PROGRAMME_CODE,
        seed_demo,
    )

    with (
        _session(url) as session,
        console.status("seeding the demo programme (about half a minute)..."),
    ):
        summary = seed_demo(session, seed)
    table = Table(title=f"programme {PROGRAMME_CODE}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, count in {
        **summary.counts,
        **{f"subprojects {k}": v for k, v in summary.states.items()},
    }.items():
        table.add_row(name, str(count))
    console.print(table)
    users = Table(title=f"demo users (password {ADMIN_PASSWORD!r} for all)")
    for column in ("username", "role", "sees"):
        users.add_column(column)
    for user in summary.users:
        users.add_row(user.username, user.role, user.reaches)
    console.print(users)


@demo_app.command("start")
def start(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
) -> None:
    """Migrate the database, seed the demo programme if it is not there yet, print the demo
    users, and serve the web application (what `make run` does)."""
    from sqlalchemy import select

    from alianza.cli.serve import serve
    from alianza.platform.db import Database, make_engine, upgrade
    from alianza.platform.demo.service import ADMIN_PASSWORD, PROGRAMME_CODE, demo_users, seed_demo
    from alianza.platform.programmes.models import Programme
    from alianza.settings import get_settings

    url = get_settings().database_url
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    database = Database(url)
    try:
        with database.session() as session:
            if session.scalar(select(Programme.id).where(Programme.code == PROGRAMME_CODE)) is None:
                with console.status("seeding the demo programme (about half a minute, once)..."):
                    seed_demo(session, 1)
            users = demo_users(session)
    finally:
        database.dispose()
    table = Table(title=f"demo users (password {ADMIN_PASSWORD!r} for all)")
    for column in ("username", "programme", "role", "sees"):
        table.add_column(column)
    for user in users:
        table.add_row(user.username, user.programme, user.role, user.reaches)
    console.print(table)
    console.print(f"open http://{host}:{port}/ and sign in (Ctrl-C stops the server)")
    serve(host=host, port=port, workers=1, jobs=True)
