"""The `alianza` command. Each area adds its sub-commands from a module of its own here.

No input ends in a traceback: :class:`AlianzaGroup` turns usage errors and every kind of bad
input into one ``error:`` line with exit code 2 (see ``_session.report``); anything else is a
failure of alianza itself, reported in one line with exit code 1 (``--debug`` shows its
traceback).
"""

import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from alianza.cli._session import BAD_INPUT, errors, report, say
from alianza.cli.db import db_app
from alianza.cli.demo import demo_app
from alianza.cli.fieldops import farmers_app, payments_app, sales_app
from alianza.cli.forecast import forecast
from alianza.cli.forms import forms_app
from alianza.cli.graduation import graduation_app
from alianza.cli.jobs import jobs_app
from alianza.cli.kits import kits_app, simulate
from alianza.cli.ladder import ladder_app
from alianza.cli.plan import plan_app
from alianza.cli.programme import programme_app, user_app
from alianza.cli.registry import registry_app
from alianza.cli.results import results_app
from alianza.cli.serve import serve
from alianza.cli.users import users_app
from alianza.cli.worker import worker

INTERNAL_ERROR = 1


def _usage_error_line(error: Any) -> str:
    """A usage error in one line, with where to read the command's options."""
    message = " ".join(error.format_message().split())
    context = getattr(error, "ctx", None)
    if context is not None and context.command.get_help_option(context) is not None:
        return f"{message} (see '{context.command_path} --help')"
    return message


class AlianzaGroup(TyperGroup):
    """The root command: one place where every error becomes one line and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # the output's reader stopped reading: Typer exits quietly
        except Exception as error:
            if type(error).__module__.startswith("typer"):
                raise  # usage errors and exits: main() prints them
            code = report(error)
            if code is None:
                if ctx.params.get("debug"):
                    raise
                say(
                    f"alianza failed ({type(error).__name__}: {error}); this is a bug: please "
                    "report it with the command (run with `alianza --debug ...` for details)"
                )
                code = INTERNAL_ERROR
            raise typer.Exit(code) from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Run the command; in standalone mode print a usage error as one line and exit."""
        kwargs.update(
            args=args,
            prog_name=prog_name,
            complete_var=complete_var,
            windows_expand_args=windows_expand_args,
        )
        if not standalone_mode:
            return super().main(standalone_mode=False, **kwargs)
        # Typer vendors Click: its exception classes are not re-exported under public names.
        from typer._click.exceptions import ClickException, NoArgsIsHelpError

        try:
            result = super().main(standalone_mode=False, **kwargs)
        except NoArgsIsHelpError:
            sys.exit(BAD_INPUT)  # the help was printed already
        except ClickException as error:
            say(_usage_error_line(error))
            sys.exit(error.exit_code)
        except typer.Abort:
            errors.print("aborted")
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"alianza {package_version('alianza')}")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            typer.echo("alianza (version unknown: not installed)")
        raise typer.Exit()


app = typer.Typer(
    name="alianza",
    cls=AlianzaGroup,
    help="Productive alliances and micro investing: appraise, simulate, run programmes.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print alianza's version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of a failure of alianza itself.")
    ] = False,
) -> None:
    """Productive alliances and micro investing: appraise, simulate, run programmes."""


app.add_typer(plan_app, name="plan")
app.add_typer(kits_app, name="kits")
app.add_typer(forms_app, name="forms")
app.add_typer(ladder_app, name="ladder")
app.command("forecast")(forecast)
app.command("simulate")(simulate)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(registry_app, name="registry")
app.add_typer(farmers_app, name="farmers")
app.add_typer(sales_app, name="sales")
app.add_typer(payments_app, name="payments")
app.add_typer(graduation_app, name="graduation")
app.add_typer(results_app, name="results")
app.add_typer(user_app, name="user")
app.add_typer(users_app, name="users")
app.add_typer(programme_app, name="programme")
app.command("serve")(serve)
app.add_typer(jobs_app, name="jobs")
app.command("worker")(worker)
