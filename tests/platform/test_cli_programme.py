from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from alianza.cli import app


def test_users_programmes_and_roles_from_the_command_line(tmp_path: Path) -> None:
    url = ["--url", f"sqlite:///{tmp_path / 'p.db'}"]
    run = CliRunner().invoke
    assert run(app, ["db", "upgrade", *url]).exit_code == 0
    added = run(
        app, ["user", "add", "ana", "--name", "Ana", *url], input="long-password\nlong-password\n"
    )
    assert added.exit_code == 0, added.output
    assert (
        run(
            app, ["user", "add", "luis", "--name", "Luis", "--password", "password-2", *url]
        ).exit_code
        == 0
    )
    made = run(
        app,
        [
            "programme",
            "add",
            "PA-HN",
            "--name",
            "Alianzas",
            "--currency",
            "usd",
            "--admin",
            "ana",
            *url,
        ],
    )
    assert made.exit_code == 0, made.output
    assert (
        run(
            app, ["programme", "grant", "PA-HN", "luis", "programme_manager", "--as", "ana", *url]
        ).exit_code
        == 0
    )
    refused = run(
        app, ["programme", "grant", "PA-HN", "ana", "administrator", "--as", "luis", *url]
    )
    assert refused.exit_code == 2 and "may not do users.admin" in refused.output
    listed = run(app, ["programme", "list", *url])
    assert (
        "ana (administrator), luis (programme_manager)" in listed.output and "USD" in listed.output
    )
    short = run(app, ["user", "add", "x", "--name", "X", "--password", "short", *url])
    assert short.exit_code == 2 and "--password" in short.output
