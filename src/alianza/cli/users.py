"""`alianza users ...`: create a user (the password asked at a hidden prompt, twice) and list
the users with the roles they hold. The password is never an option: a command line is seen
by other users of the machine (ps) and kept in shell histories."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from alianza.cli._options import URL_OPTION
from alianza.cli._session import fail
from alianza.cli._session import session as _session

users_app = typer.Typer(
    help="Users: create them, list them with their roles.", no_args_is_help=True
)
console = Console(soft_wrap=True)
USER_FIELDS = {"username": "USERNAME", "display_name": "--name", "password": "the password"}


@users_app.command("create")
def create(
    username: str = typer.Argument(..., help="Letters, digits and . _ @ - (unique, any case)."),
    name: str = typer.Option(..., "--name", help="The name shown for the user."),
    url: str | None = URL_OPTION,
) -> None:
    """Create a user; the password (at least 8 characters) is asked twice, hidden."""
    from alianza.platform.programmes.service import create_user

    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise fail("the password: give at least 8 characters")
    with _session(url, USER_FIELDS) as session:
        create_user(session, {"username": username, "display_name": name, "password": password})
    console.print(f"user {username} created; give them a role with 'alianza programme grant'")


@users_app.command("list")
def list_users(url: str | None = URL_OPTION) -> None:
    """Every user, whether enabled, and the role they hold in each programme."""
    from alianza.platform.programmes.service import all_users

    with _session(url) as session:
        table = Table()
        for column in ("username", "name", "status", "roles"):
            table.add_column(column)
        for user, roles in all_users(session):
            table.add_row(
                user.username,
                user.display_name,
                "disabled" if user.disabled_at else "active",
                ", ".join(f"{code}: {role} ({scope})" for code, role, scope in roles) or "-",
            )
    console.print(table)
