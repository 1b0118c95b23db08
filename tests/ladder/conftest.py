"""Shared fixtures for the ladder tests."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import typer

import alianza

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

# `alianza.cli` imports every area's sub-commands; `alianza.cli.plan` is written on another
# branch. Where it is not (yet) present, stand in an empty sub-app so the `kits` and `simulate`
# commands can be tested here; where it is, it is used as is.
if not (Path(alianza.__file__).parent / "cli" / "plan.py").exists():
    stand_in = types.ModuleType("alianza.cli.plan")
    stand_in.plan_app = typer.Typer()  # type: ignore[attr-defined]
    sys.modules.setdefault("alianza.cli.plan", stand_in)


@pytest.fixture
def catalogue_path() -> Path:
    return EXAMPLES / "kits" / "catalogue.yaml"


@pytest.fixture
def reference_path() -> Path:
    return EXAMPLES / "scenarios" / "reference.yaml"


@pytest.fixture
def districts_path() -> Path:
    return EXAMPLES / "scenarios" / "tanzania-districts.yaml"
