"""`alianza user ...` and `alianza programme ...`: who may act, in which programme."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from alianza.cli._options import URL_OPTION
from alianza.cli._session import session as _session

if TYPE_CHECKING:
    from alianza.platform.access import Actor

user_app = typer.Typer(help="Users (they act in programmes through roles).", no_args_is_help=True)
programme_app = typer.Typer(
    help="Programmes and the roles users hold in them.", no_args_is_help=True
)
console = Console(soft_wrap=True)
# The schema fields behind each command's options, so that a refusal names the option.
USER_FIELDS = {"username": "USERNAME", "display_name": "--name", "password": "--password"}
PROGRAMME_FIELDS = {"code": "CODE", "name": "--name", "reporting_currency": "--currency"}


@contextmanager
def acting(
    url: str | None, programme: str, username: str, fields: dict[str, str] | None = None
) -> Iterator[Actor]:
    """The Actor of `username` in the programme `programme`, in a session committed on
    success; refusals and an unreachable or unmigrated database exit with code 2 (``fields``:
    the schema fields named by the command's options, as :func:`alianza.cli._session.session`)."""
    from alianza.platform.access import act_as
    from alianza.platform.programmes.service import programme_by_code, user_by_username

    with _session(url, fields) as session:
        yield act_as(
            session,
            user_by_username(session, username).id,
            programme_by_code(session, programme).id,
        )


@user_app.command("add")
def add_user(
    username: str,
    name: str = typer.Option(..., "--name", help="The name shown for the user."),
    # Deprecated (a password on the command line shows in ps and shell histories): hidden from
    # the help, kept for scripts and tests; 'alianza users create' only prompts.
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        hidden=True,
        help="Deprecated: prompted when not given.",
    ),
    url: str | None = URL_OPTION,
) -> None:
    """Add a user (the password is stored as an argon2 hash); prefer 'alianza users create'."""
    from alianza.platform.programmes.service import create_user

    with _session(url, USER_FIELDS) as session:
        create_user(session, {"username": username, "display_name": name, "password": password})
    console.print(f"user {username} added")


@programme_app.command("add")
def add_programme(
    code: str,
    name: str = typer.Option(..., "--name", help="The programme's name."),
    currency: str = typer.Option(
        ..., "--currency", help="Reporting currency (ISO 4217, e.g. USD)."
    ),
    admin: str = typer.Option(..., "--admin", help="The user who administers it."),
    url: str | None = URL_OPTION,
) -> None:
    """Add a programme with its first administrator."""
    from alianza.platform.programmes.service import create_programme, user_by_username

    with _session(url, PROGRAMME_FIELDS) as session:
        create_programme(
            session,
            {"code": code, "name": name, "reporting_currency": currency},
            user_by_username(session, admin),
        )
    console.print(f"programme {code} added, administered by {admin}")


@programme_app.command("grant")
def grant(
    code: str,
    username: str,
    role: str = typer.Argument(
        ...,
        help="administrator, programme_manager, evaluator, "
        "field_officer, po_representative, buyer, lender or auditor",
    ),
    admin: str = typer.Option(..., "--as", help="An administrator of the programme."),
    scope: str | None = typer.Option(
        None,
        "--scope",
        help="programme, places, organization, "
        "buyer, lender, alliance or assigned (default: the role's).",
    ),
    place: Annotated[
        list[int] | None,
        typer.Option("--place", help="A place id a places scope reaches (repeat)."),
    ] = None,
    organization: int | None = typer.Option(
        None,
        "--organization",
        help="The organization id of an organization, buyer or lender scope.",
    ),
    subproject: int | None = typer.Option(
        None, "--subproject", help="The subproject id of an alliance scope."
    ),
    url: str | None = URL_OPTION,
) -> None:
    """Give USERNAME a ROLE in programme CODE, with its scope."""
    from alianza.platform.programmes.service import grant_role, user_by_username

    with acting(url, code, admin) as actor:
        assignment = grant_role(
            actor,
            user_by_username(actor.session, username).id,
            {
                "role": role,
                "scope": scope,
                "place_ids": place or [],
                "organization_id": organization,
                "subproject_id": subproject,
            },
        )
    console.print(f"{username} is {assignment.role} in {code} (scope: {assignment.scope})")


@programme_app.command("list")
def list_programmes(url: str | None = URL_OPTION) -> None:
    """Programmes with their reporting currency and users' roles."""
    from alianza.platform.programmes.service import programmes_with_roles

    with _session(url) as session:
        table = Table()
        for column in ("code", "name", "currency", "roles"):
            table.add_column(column)
        for programme, roles in programmes_with_roles(session):
            table.add_row(
                programme.code,
                programme.name,
                programme.reporting_currency,
                ", ".join(f"{u} ({r})" for u, r in roles),
            )
    console.print(table)
