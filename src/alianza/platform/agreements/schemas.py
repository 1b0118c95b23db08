"""Validated input for agreements, deliveries and payments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field, model_validator

PRICE_MECHANISMS = ("fixed", "reference_premium", "floor")


class PeriodIn(BaseModel):
    period_start: date
    period_end: date
    quantity: Decimal = Field(gt=0, decimal_places=3)


class AgreementIn(BaseModel):
    """Terms of an alliance agreement. Prices per unit in the call's currency.

    fixed: price = fixed_price; reference_premium: price = reference + premium;
    floor: price = max(reference + premium, floor_price). ``grade_premiums`` adds per grade.
    """

    product: str = Field(min_length=1, max_length=120)
    unit: str = Field(default="kg", max_length=20)
    quality_grades: list[str] = Field(min_length=1)
    price_mechanism: str
    fixed_price: Decimal | None = Field(default=None, gt=0, decimal_places=2)
    premium: Decimal | None = Field(default=None, decimal_places=2)
    floor_price: Decimal | None = Field(default=None, gt=0, decimal_places=2)
    grade_premiums: dict[str, Decimal] = Field(default_factory=dict)
    payment_terms_days: int = Field(ge=0, le=365)
    buyer_ta_duties: str = ""
    support_organization_id: int | None = None
    signed_on: date
    starts_on: date
    ends_on: date
    schedule: list[PeriodIn] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> AgreementIn:
        if self.price_mechanism not in PRICE_MECHANISMS:
            raise ValueError(f"price_mechanism must be one of {PRICE_MECHANISMS}")
        if self.price_mechanism == "fixed" and self.fixed_price is None:
            raise ValueError("a fixed price mechanism needs fixed_price")
        if self.price_mechanism == "floor" and self.floor_price is None:
            raise ValueError("a floor price mechanism needs floor_price")
        if self.ends_on <= self.starts_on:
            raise ValueError("ends_on is not after starts_on")
        for grade in self.grade_premiums:
            if grade not in self.quality_grades:
                raise ValueError(f"grade_premiums names unknown grade {grade!r}")
        for period in self.schedule:
            if period.period_end < period.period_start or not (
                self.starts_on <= period.period_start and period.period_end <= self.ends_on
            ):
                raise ValueError(
                    f"schedule period {period.period_start}..{period.period_end} is outside the agreement"
                )
        return self


class DeliveryIn(BaseModel):
    delivered_on: date
    quantity: Decimal = Field(gt=0, decimal_places=3)
    grade: str
    reference_price: Decimal | None = Field(default=None, gt=0, decimal_places=2)
