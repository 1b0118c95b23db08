"""Validated input for kit catalogues, prices, stock and sales."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, field_validator

from alianza.platform.kits.models import SALE_METHODS
from alianza.platform.programmes.schemas import currency_code


def _no_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError("give money as a Decimal or a string, never a float")
    return value


class CatalogueVersionIn(BaseModel):
    """A new version of the programme's catalogue, in the ``alianza.ladder`` format."""

    document: dict[str, Any]


class KitPriceIn(BaseModel):
    kit_code: str = Field(min_length=1, max_length=60)
    price: Decimal = Field(ge=0, max_digits=18, decimal_places=2)

    _price = field_validator("price", mode="before")(_no_float)


class PricesIn(BaseModel):
    """The prices of kits in one district under one catalogue version."""

    district_id: int
    currency: str
    prices: list[KitPriceIn] = Field(min_length=1, max_length=500)

    _currency = field_validator("currency")(currency_code)


class StockIn(BaseModel):
    """Units of a kit a supplier brings into a district."""

    supplier_id: int
    district_id: int
    kit_code: str = Field(min_length=1, max_length=60)
    quantity: int = Field(ge=1, le=1_000_000)


class SaleIn(BaseModel):
    """A farmer buying a kit. ``offtaker_id`` names the off-taker who prepays (method
    prepayment); ``agronomist_id`` the agronomist who sold it (an agronomist selling is
    themselves, whatever is given)."""

    farmer_id: int
    kit_code: str = Field(min_length=1, max_length=60)
    units: int = Field(default=1, ge=1, le=1000)
    method: str
    sold_on: date
    supplier_id: int
    agronomist_id: int | None = None
    offtaker_id: int | None = None

    @field_validator("method")
    @classmethod
    def _method(cls, method: str) -> str:
        if method not in SALE_METHODS:
            raise ValueError(f"must be one of {list(SALE_METHODS)}")
        return method
