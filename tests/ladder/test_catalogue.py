"""Kit catalogue: loading, JSON Schema, and bad catalogues rejected with every problem at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from alianza.ladder.catalogue import (
    CatalogueError,
    load_catalogue,
    topological_kit_order,
    validate_catalogue,
)
from alianza.problems import Message

runner = CliRunner()


def cli_app():  # imported late: conftest stands in alianza.cli.plan where it is absent
    from alianza.cli import app

    return app


def test_example_catalogue_loads(catalogue_path: Path) -> None:
    catalogue = load_catalogue(catalogue_path)
    ids = [kit.id for kit in catalogue.kits]
    assert ids[0] == "drip_bed" and catalogue.kit("drip_bed").price_usd == 10
    assert catalogue.kit("banana_plantlets").price_usd == 125
    assert len(ids) >= 6
    assert "microinvesting.info" in (catalogue.source or "")
    order = topological_kit_order(catalogue)
    for kit in catalogue.kits:
        assert all(order.index(need) < order.index(kit.id) for need in kit.prerequisites)


def test_json_catalogue_loads(tmp_path: Path, catalogue_path: Path) -> None:
    raw = yaml.safe_load(catalogue_path.read_text())
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(raw))
    assert load_catalogue(path).kits == load_catalogue(catalogue_path).kits


def bad_catalogue() -> dict:
    kit = {
        "life_seasons": 4,
        "harvests_per_year": 3,
        "product": "veg",
        "yield_per_harvest": {"mean": 10},
    }
    return {
        "name": "bad",
        "products": [{"id": "veg", "unit": "kg", "reference_price_usd": 0.4}],
        "kits": [
            {"id": "bed", "price_usd": 10, **kit},
            {"id": "cheap", "price_usd": -5, **kit},
            {"id": "alpha", "price_usd": 20, **kit, "prerequisites": ["beta"]},
            {"id": "beta", "price_usd": 20, **kit, "prerequisites": ["alpha"]},
            {"id": "gamma", "price_usd": 20, **kit, "prerequisites": ["alpha"]},
            {"id": "ghost", "price_usd": 20, **kit, "prerequisites": ["nowhere"]},
            {"id": "eggs", "price_usd": 20, **kit, "product": "eggs", "replaces": "nothing"},
        ],
    }


def test_bad_catalogue_lists_every_problem_with_kit_and_reason() -> None:
    with pytest.raises(CatalogueError) as caught:
        validate_catalogue(bad_catalogue())
    messages = [str(problem) for problem in caught.value.problems]
    text = "\n".join(messages)
    assert "kits[1] (cheap).price_usd: must be >= 0" in text
    assert "prerequisite cycle" in text and "alpha" in text and "beta" in text
    assert "kits[4] (gamma).prerequisites: unreachable" in text
    assert "kits[5] (ghost).prerequisites[0]: unknown kit 'nowhere'" in text
    assert "kits[6] (eggs).product: unknown product 'eggs'" in text
    assert "kits[6] (eggs).replaces: unknown kit 'nothing'" in text
    assert len(messages) >= 6


def test_a_catalogues_problems_are_messages_said_in_the_readers_language() -> None:
    """Each problem is a Message (its msgid and values), so that the web says it translated:
    a field's limit written for the reader's locale, a validator's own words kept whole."""
    raw = bad_catalogue()
    raw["kits"][0] = {**raw["kits"][0], "savings_group": {"members": 5}, "replaces": "cheap"}
    with pytest.raises(CatalogueError) as caught:
        validate_catalogue(raw)
    problems = {problem.field: problem.message for problem in caught.value.problems}
    spanish = {
        "must be >= %(limit)s": "debe ser >= %(limit)s",
        "unknown kit '%(kit)s'": "kit desconocido '%(kit)s'",
        "savings_group: not allowed with replaces or credit": "savings_group: no con replaces",
    }.get
    for field, spoken in (
        ("kits[1] (cheap).price_usd", "debe ser >= 0"),
        ("kits[5] (ghost).prerequisites[0]", "kit desconocido 'nowhere'"),
        ("kits[0] (bed)", "savings_group: no con replaces"),
    ):
        message = problems[field]
        assert isinstance(message, Message)
        assert message.say("es", lambda template: spanish(template, template)) == spoken


def test_duplicate_ids_and_typos_are_rejected() -> None:
    raw = bad_catalogue()
    raw["kits"] = [raw["kits"][0], dict(raw["kits"][0]), {**raw["kits"][0], "id": "x", "pricee": 3}]
    with pytest.raises(CatalogueError) as caught:
        validate_catalogue(raw)
    text = str(caught.value)
    assert "duplicate kit id 'bed'" in text
    assert "kits[2] (x).pricee" in text


def test_cli_schema_prints_json_schema() -> None:
    result = runner.invoke(cli_app(), ["kits", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "kits" in schema["properties"]
    assert "price_usd" in json.dumps(schema)
    result = runner.invoke(cli_app(), ["kits", "schema", "--scenario"])
    assert "population" in json.loads(result.stdout)["properties"]


def test_cli_validate_exit_code_2_with_field_paths(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad_catalogue()))
    result = runner.invoke(cli_app(), ["kits", "validate", str(path)])
    assert result.exit_code == 2
    assert "kits[1] (cheap).price_usd: must be >= 0" in result.stderr
    assert "prerequisite cycle" in result.stderr


def test_cli_validate_accepts_example(catalogue_path: Path) -> None:
    result = runner.invoke(cli_app(), ["kits", "validate", str(catalogue_path)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout


def test_missing_and_broken_files_are_clear_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    for args in (["kits", "validate", str(missing)], ["simulate", str(missing)]):
        result = runner.invoke(cli_app(), args)
        assert result.exit_code == 2
        assert "cannot read" in result.output + result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("kits: [\n")
    result = runner.invoke(cli_app(), ["kits", "validate", str(broken)])
    assert result.exit_code == 2
    assert "not valid YAML/JSON" in result.output + result.stderr
