"""docs/cli.md documents every command and every option the `alianza` command has."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_bad_arguments import COMMANDS

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_command_and_option_is_documented(path: tuple[str, ...]) -> None:
    assert f"alianza {' '.join(path)}" in DOCS
    for param in COMMANDS[path].params:
        if param.param_type_name == "option" and not param.hidden:
            assert f"`{param.opts[0]}" in DOCS or f"{param.opts[0]} " in DOCS, param.opts[0]


def test_the_version_option_is_documented() -> None:
    assert "alianza --version" in DOCS
