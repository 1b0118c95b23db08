"""alianza.impact is pure: it imports no database, web or CLI code (DESIGN.md, the house)."""

from __future__ import annotations

import ast
from pathlib import Path

import alianza.impact

FORBIDDEN = ("alianza.platform", "alianza.web", "alianza.cli", "sqlalchemy", "fastapi", "typer")


def test_impact_imports_nothing_impure():
    folder = Path(alianza.impact.__file__).parent
    for source in folder.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{source.name} imports {name}"
