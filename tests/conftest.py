"""Shared by every test: the settings are read afresh for each test, so that a test that sets
an ALIANZA_* variable (monkeypatch.setenv) is seen by the code it calls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from alianza.settings import get_settings


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
