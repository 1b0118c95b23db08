"""The `alianza` command. Each area adds its sub-commands from a module of its own here."""

import typer

from alianza.cli.db import db_app
from alianza.cli.demo import demo_app
from alianza.cli.jobs import jobs_app
from alianza.cli.kits import kits_app, simulate
from alianza.cli.plan import plan_app
from alianza.cli.programme import programme_app, user_app
from alianza.cli.registry import registry_app
from alianza.cli.worker import worker

app = typer.Typer(
    name="alianza",
    help="Productive alliances and micro investing: appraise, simulate, run programmes.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(plan_app, name="plan")
app.add_typer(kits_app, name="kits")
app.command("simulate")(simulate)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(registry_app, name="registry")
app.add_typer(user_app, name="user")
app.add_typer(programme_app, name="programme")
app.add_typer(jobs_app, name="jobs")
app.command("worker")(worker)
