"""A payment notification, as every provider's shape is read into."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field, field_validator

from alianza.platform.programmes.schemas import currency_code


class NotificationIn(BaseModel):
    """One mobile-money payment as a provider notifies it."""

    provider: str = Field(min_length=1, max_length=40)
    transaction_id: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(default=None, max_length=30)
    amount: Decimal = Field(gt=0, max_digits=18, decimal_places=2)
    currency: str
    reference: str | None = Field(default=None, max_length=40)
    paid_at: datetime

    _currency = field_validator("currency")(currency_code)

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError("give the amount as a string, never a float")
        return value

    @field_validator("paid_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give the time with its UTC offset")
        return value
