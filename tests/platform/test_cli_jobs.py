"""`alianza jobs submit|list|show|cancel` and `alianza worker --once`, end to end on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from alianza.cli import app
from alianza.platform.db import Database
from alianza.platform.programmes.service import create_programme, create_user

SCENARIOS = Path(__file__).parents[2] / "examples" / "scenarios"


def test_a_simulation_queued_and_run_through_the_alianza_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIANZA_DATA_DIR", str(tmp_path / "data"))
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert CliRunner().invoke(app, ["db", "upgrade", "--url", url]).exit_code == 0
    database = Database(url)
    with database.session() as session:
        user = create_user(
            session, {"username": "ana", "display_name": "Ana", "password": "password1"}
        )
        create_programme(session, {"code": "PA", "name": "PA", "reporting_currency": "USD"}, user)
    database.dispose()
    common = ["--programme", "PA", "--as", "ana", "--url", url]
    # The catalogue the scenario names by file is put inline in the job.
    scenario = str(SCENARIOS / "tanzania-districts.yaml")
    refused = CliRunner().invoke(app, ["jobs", "submit", scenario, "--farmers", "0", *common])
    assert refused.exit_code == 2
    assert "overrides.farmers: must be >= 1" in refused.output
    tiny = ["--farmers", "240", "--seasons", "3", "--chunk", "60", "--no-charts"]
    queued = CliRunner().invoke(app, ["jobs", "submit", scenario, *tiny, *common])
    assert queued.exit_code == 0, queued.output
    assert "job 1 queued: 240 farmers" in queued.output
    ran = CliRunner().invoke(app, ["worker", "--once", "--workers", "0", "--url", url])
    assert ran.exit_code == 0, ran.output
    shown = CliRunner().invoke(app, ["jobs", "show", "1", *common])
    assert shown.exit_code == 0, shown.output
    assert "job 1: succeeded, 240/240 farmers" in shown.output
    assert str(tmp_path / "data" / "jobs" / "1" / "summary.json") in shown.output
    listed = CliRunner().invoke(app, ["jobs", "list", *common])
    assert listed.exit_code == 0 and "succeeded" in listed.output
    late = CliRunner().invoke(app, ["jobs", "cancel", "1", *common])
    assert late.exit_code == 2 and "only a queued or running job" in late.output
