"""Runners: local vs Dask LocalCluster bit-identical; the `alianza simulate` command."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from alianza.ladder.runner import run_dask, run_local
from alianza.ladder.scenario import load_scenario, with_overrides

from .test_simulation import assert_same_results


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as dask_client,
    ):
        yield dask_client


def test_dask_equals_local_for_any_chunking(client, tmp_path: Path, districts_path: Path) -> None:  # type: ignore[no-untyped-def]
    scenario = with_overrides(load_scenario(districts_path), farmers=2400, seasons=6)
    local = run_local(scenario, farmers_per_chunk=10**9, out_dir=tmp_path / "local")
    distributed = run_dask(
        scenario, client, farmers_per_chunk=130, out_dir=tmp_path / "dask", max_in_flight=3
    )
    assert distributed.chunks > 10
    assert_same_results(local, distributed)
    assert pq.read_table(tmp_path / "local" / "farmers.parquet").equals(
        pq.read_table(tmp_path / "dask" / "farmers.parquet")
    )


def test_simulate_command_writes_parquet_and_summary(tmp_path: Path, reference_path: Path) -> None:
    from alianza.cli import app

    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            str(reference_path),
            "--farmers",
            "3000",
            "--seasons",
            "20",
            "--seed",
            "7",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["farmers"] == 3000 and summary["seed"] == 7
    assert summary["accounting_balances"] is True
    assert set(summary["reference_ladder"]) == {"mean_level", "share_at_top_level", "mean_cash_usd"}
    for name in ("farmers", "seasons", "markets", "districts", "distributions"):
        assert pq.read_table(out / f"{name}.parquet").num_rows > 0
    seasons = pq.read_table(out / "seasons.parquet").to_pylist()
    assert {row["group"] for row in seasons} >= {"all", "female", "youth", "minority"}
    assert (out / "income_fan.png").stat().st_size > 1000
    distributions = pq.read_table(out / "distributions.parquet").to_pylist()
    last_income = [
        row
        for row in distributions
        if row["season"] == 19 and row["measure"] == "income_per_person_day"
    ]
    assert sum(row["farmers"] for row in last_income) == 3000
    assert "reference: mean level" in result.stdout


def test_simulate_command_rejects_bad_scenario(tmp_path: Path) -> None:
    from alianza.cli import app

    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nseasons: -3\ncatalogue: nowhere.yaml\n")
    result = CliRunner().invoke(app, ["simulate", str(path)])
    assert result.exit_code == 2
    assert "catalogue" in result.stderr


def test_simulate_command_with_two_worker_processes(tmp_path: Path, districts_path: Path) -> None:
    from alianza.cli import app

    out = tmp_path / "out"
    arguments = [
        "simulate",
        str(districts_path),
        "--farmers",
        "1200",
        "--seasons",
        "4",
        "--chunk",
        "300",
        "--no-charts",
    ]
    result = CliRunner().invoke(app, [*arguments, "--workers", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    local = CliRunner().invoke(app, [*arguments, "--out", str(tmp_path / "local")])
    assert local.exit_code == 0, local.output
    assert pq.read_table(out / "farmers.parquet").equals(
        pq.read_table(tmp_path / "local" / "farmers.parquet")
    )
    assert pq.read_table(out / "seasons.parquet").equals(
        pq.read_table(tmp_path / "local" / "seasons.parquet")
    )


def test_bad_scenario_lists_every_problem_with_field_paths(
    tmp_path: Path, catalogue_path: Path
) -> None:
    from alianza.cli import app

    path = tmp_path / "bad.yaml"
    path.write_text(
        f"name: bad\ncatalogue: {catalogue_path}\nseasons: 0\n"
        "population: {farmers: -5, starting_kits: {ghost_kit: 1}}\n"
        "policy: {consumption_share: 0.9, savings_share: 0.5}\n"
        "markets: {reference_supply_per_farmer: {rice: 10}}\n"
    )
    result = CliRunner().invoke(app, ["simulate", str(path)])
    assert result.exit_code == 2
    for expected in (
        "seasons: must be >= 1",
        "population.farmers: must be >= 1",
        "policy: consumption_share + savings_share must be <= 1",
        "population.starting_kits.ghost_kit: unknown kit",
        "markets.reference_supply_per_farmer.rice: unknown product",
    ):
        assert expected in result.stderr


def test_dask_runs_the_same_scenario_again_on_the_same_client(client, districts_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Each run scatters the scenario under a key of its own: a second run must not depend on
    # (and lose) the first run's copy when that one is released.
    scenario = with_overrides(load_scenario(districts_path), farmers=600, seasons=3)
    first = run_dask(scenario, client, farmers_per_chunk=100)
    for _ in range(3):
        assert_same_results(first, run_dask(scenario, client, farmers_per_chunk=100))
