"""Shared fixtures for the ladder tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@pytest.fixture
def catalogue_path() -> Path:
    return EXAMPLES / "kits" / "catalogue.yaml"


@pytest.fixture
def reference_path() -> Path:
    return EXAMPLES / "scenarios" / "reference.yaml"


@pytest.fixture
def districts_path() -> Path:
    return EXAMPLES / "scenarios" / "tanzania-districts.yaml"
