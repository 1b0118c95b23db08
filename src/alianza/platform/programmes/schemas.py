"""Validated input for programmes, users and exchange rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field, field_validator

ROLES: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "committee": frozenset({"read", "score"}),
    "officer": frozenset({"read", "write"}),
    "admin": frozenset({"read", "write", "score", "admin"}),
}


def currency_code(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"currency must be a 3-letter ISO 4217 code, got {value!r}")
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


class ExchangeRateIn(BaseModel):
    currency: str
    rate_date: date
    units_per_reporting_unit: Decimal = Field(gt=0, max_digits=18, decimal_places=8)

    _currency = field_validator("currency")(currency_code)
