"""Errors every platform service raises: a refusal always says why, and changes nothing."""

from __future__ import annotations


class Refused(Exception):
    """A service refused an operation; ``reason`` says why and ``rule`` names the rule broken."""

    def __init__(self, reason: str, rule: str | None = None) -> None:
        super().__init__(reason if rule is None else f"{reason} [rule: {rule}]")
        self.reason = reason
        self.rule = rule


class NotFound(Refused):
    """The record does not exist in the acting programme (other programmes' rows look absent)."""


class Forbidden(Refused):
    """The acting user lacks the permission the operation needs."""


class DatabaseNotMigrated(RuntimeError):
    """The database schema is not at the revision this code expects."""
