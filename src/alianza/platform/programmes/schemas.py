"""Validated input for programmes, users and exchange rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field, field_validator

from alianza.platform.access import Role, ScopeKind
from alianza.problems import Message


def currency_code(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(
            Message("currency must be a 3-letter ISO 4217 code, got %(value)s", value=repr(value))
        )
    return code


class ProgrammeIn(BaseModel):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=200)
    reporting_currency: str

    _currency = field_validator("reporting_currency")(currency_code)


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=500)


class RoleIn(BaseModel):
    """A role to give a user, and the scope it reaches (the role's default scope if omitted)."""

    role: Role
    scope: ScopeKind | None = None
    place_ids: list[int] = Field(default_factory=list, max_length=500)
    organization_id: int | None = None
    subproject_id: int | None = None


class ExchangeRateIn(BaseModel):
    currency: str
    rate_date: date
    units_per_reporting_unit: Decimal = Field(gt=0, max_digits=18, decimal_places=8)

    _currency = field_validator("currency")(currency_code)
