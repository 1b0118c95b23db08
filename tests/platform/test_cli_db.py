from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from alianza.cli.db import db_app
from alianza.platform.db import Database


def test_db_upgrade_makes_a_usable_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = CliRunner().invoke(db_app, ["upgrade", "--url", url])
    assert result.exit_code == 0, result.output
    assert "upgraded from empty" in result.output
    Database(url).dispose()  # passes the migration check now
    again = CliRunner().invoke(db_app, ["upgrade", "--url", url])
    assert "up to date" in again.output
