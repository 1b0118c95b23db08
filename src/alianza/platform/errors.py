"""Errors every platform service raises: a refusal always says why, and changes nothing.

Each is an :class:`alianza.problems.Problem` too (``problems``), so that the CLI's messages and
the API's error bodies come from the same place.
"""

from __future__ import annotations

import re

from alianza.problems import Problem


def rule_code(rule: str) -> str:
    """A rule's name as a stable code: 'tranche n+1 after tranche n' -> 'tranche_n_1_after_tranche_n'."""
    return re.sub(r"[^a-z0-9]+", "_", rule.lower()).strip("_")


class Refused(Exception):
    """A service refused an operation; ``reason`` says why and ``rule`` names the rule broken.

    ``field`` names the input field at fault where there is one."""

    code = "refused"

    def __init__(self, reason: str, rule: str | None = None, field: str | None = None) -> None:
        super().__init__(reason if rule is None else f"{reason} [rule: {rule}]")
        self.reason = reason
        self.rule = rule
        self.field = field

    @property
    def problems(self) -> list[Problem]:
        code = rule_code(self.rule) if self.rule else self.code
        return [Problem(self.field or "", self.reason, code)]


class Invalid(Refused):
    """Input that breaks its schema: every problem found, each with its field path."""

    code = "invalid"

    def __init__(self, what: str, problems: list[Problem]) -> None:
        self._problems = problems
        first = problems[0]
        reason = "; ".join(str(p) for p in problems)
        super().__init__(f"invalid {what}: {reason}", field=first.field or None)

    @property
    def problems(self) -> list[Problem]:
        return self._problems


class NotFound(Refused):
    """The record does not exist for the acting user (rows out of their scope look absent)."""

    code = "not_found"


class Forbidden(Refused):
    """The acting user lacks the permission the operation needs."""

    code = "forbidden"


class DatabaseNotMigrated(RuntimeError):
    """The database schema is not at the revision this code expects."""
