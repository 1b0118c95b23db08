"""Validated input for agreements, deliveries and payments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from alianza.problems import Message

PRICE_MECHANISMS = ("fixed", "reference_premium", "floor")


class PeriodIn(BaseModel):
    period_start: date
    period_end: date
    quantity: Decimal = Field(gt=0, decimal_places=3)

    @model_validator(mode="after")
    def _ordered(self) -> PeriodIn:
        if self.period_end < self.period_start:
            raise ValueError(
                Message(
                    "the period ends (%(end)s) before it starts (%(start)s)",
                    end=self.period_end,
                    start=self.period_start,
                )
            )
        return self


class AgreementIn(BaseModel):
    """Terms of an alliance agreement. Prices per unit in the call's currency.

    fixed: price = fixed_price; reference_premium: price = reference + premium;
    floor: price = max(reference + premium, floor_price). ``grade_premiums`` adds per grade.

    Each rule that ties two fields together is checked on the later field (pydantic validates
    fields in order), so that its error names that field: ``fixed_price``, ``ends_on``,
    ``schedule``...
    """

    product: str = Field(min_length=1, max_length=120)
    unit: str = Field(default="kg", max_length=20)
    quality_grades: list[str] = Field(min_length=1)
    price_mechanism: str
    fixed_price: Decimal | None = Field(default=None, gt=0, decimal_places=2, validate_default=True)
    premium: Decimal | None = Field(default=None, decimal_places=2)
    floor_price: Decimal | None = Field(default=None, gt=0, decimal_places=2, validate_default=True)
    grade_premiums: dict[str, Decimal] = Field(default_factory=dict)
    payment_terms_days: int = Field(ge=0, le=365)
    buyer_ta_duties: str = ""
    support_organization_id: int | None = None
    signed_on: date
    starts_on: date
    ends_on: date
    schedule: list[PeriodIn] = Field(min_length=1)

    @field_validator("price_mechanism")
    @classmethod
    def _known_mechanism(cls, mechanism: str) -> str:
        if mechanism not in PRICE_MECHANISMS:
            raise ValueError(
                Message(
                    "price_mechanism must be one of %(mechanisms)s",
                    mechanisms=str(PRICE_MECHANISMS),
                )
            )
        return mechanism

    @field_validator("fixed_price")
    @classmethod
    def _fixed_needs_price(cls, price: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if info.data.get("price_mechanism") == "fixed" and price is None:
            raise ValueError(Message("a fixed price mechanism needs fixed_price"))
        return price

    @field_validator("floor_price")
    @classmethod
    def _floor_needs_price(cls, price: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if info.data.get("price_mechanism") == "floor" and price is None:
            raise ValueError(Message("a floor price mechanism needs floor_price"))
        return price

    @field_validator("grade_premiums")
    @classmethod
    def _known_grades(cls, premiums: dict[str, Decimal], info: ValidationInfo) -> Any:
        grades = info.data.get("quality_grades")
        for grade in premiums:
            if grades is not None and grade not in grades:
                raise ValueError(
                    Message("grade_premiums names unknown grade '%(grade)s'", grade=grade)
                )
        return premiums

    @field_validator("ends_on")
    @classmethod
    def _after_start(cls, ends_on: date, info: ValidationInfo) -> date:
        starts_on = info.data.get("starts_on")
        if starts_on is not None and ends_on <= starts_on:
            raise ValueError(Message("ends_on is not after starts_on"))
        return ends_on

    @field_validator("schedule")
    @classmethod
    def _within_agreement(cls, schedule: list[PeriodIn], info: ValidationInfo) -> list[PeriodIn]:
        starts_on, ends_on = info.data.get("starts_on"), info.data.get("ends_on")
        if starts_on is None or ends_on is None:  # their own errors are reported
            return schedule
        for number, period in enumerate(schedule, start=1):
            if not (starts_on <= period.period_start and period.period_end <= ends_on):
                raise ValueError(
                    Message(
                        "schedule period %(number)s (%(start)s..%(end)s) is outside the agreement",
                        number=number,
                        start=period.period_start,
                        end=period.period_end,
                    )
                )
        return schedule


class DeliveryIn(BaseModel):
    delivered_on: date
    quantity: Decimal = Field(gt=0, decimal_places=3)
    grade: str
    reference_price: Decimal | None = Field(default=None, gt=0, decimal_places=2)
