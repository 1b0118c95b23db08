"""Validated input of the subproject cycle (its states are in :mod:`.states`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, model_validator


class ProfileIn(BaseModel):
    call_id: int
    organization_id: int
    buyer_id: int
    lender_id: int | None = None
    title: str = Field(min_length=1, max_length=200)
    value_chain: str = Field(min_length=1, max_length=60)
    funding_window: str | None = None
    families: int = Field(ge=1)
    buyer_letter_of_interest: bool
    submitted_on: date


class PlanIn(BaseModel):
    """A business plan in the alianza.appraisal format with its financing split (call currency)."""

    plan: dict[str, Any]
    grant: Decimal = Field(ge=0, decimal_places=2)
    counterpart_cash: Decimal = Field(ge=0, decimal_places=2)
    counterpart_in_kind: Decimal = Field(ge=0, decimal_places=2)
    credit: Decimal = Field(default=Decimal(0), ge=0, decimal_places=2)

    @model_validator(mode="after")
    def _something(self) -> PlanIn:
        if self.grant + self.counterpart_cash + self.counterpart_in_kind + self.credit <= 0:
            raise ValueError("the financing plan is empty")
        return self


class TrancheIn(BaseModel):
    amount: Decimal = Field(gt=0, decimal_places=2)
    milestone: str = Field(min_length=1)
