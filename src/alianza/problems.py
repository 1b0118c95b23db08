"""One structured problem type for everything people give alianza: plans, kit catalogues,
scenarios, imports and refusals of the platform's rules.

A :class:`Problem` says where (the field path, ``investments[3].life_years``; empty for the
input as a whole), what kind (a short, stable ``code`` a program can test) and why (a
``message`` for a person). The CLI prints problems one per line; the API returns the first as
``{"error": {"code", "message", "field"}}`` and all of them under ``"problems"``. Pure: it
knows nothing of platform, web or cli.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The code of a value that breaks a format's rule (the most common kind of problem).
INVALID = "invalid"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: ``field`` (path), ``message`` (why), ``code`` (kind)."""

    field: str
    message: str
    code: str = INVALID

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def as_dict(self) -> dict[str, Any]:
        """The problem as the API's error body gives it."""
        return {"code": self.code, "message": self.message, "field": self.field or None}


class ProblemError(ValueError):
    """An input refused for the problems listed (every one found, not only the first)."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")


def field_path(location: tuple[int | str, ...]) -> str:
    """A pydantic error location as a reader writes it: ``("items", 3, "life")`` ->
    ``items[3].life``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path
