"""Validated input of the subproject cycle (its states are in :mod:`.states`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
    """A business plan in the alianza.appraisal format, in the call's currency. The plan is
    the one source of its financing: grant, counterpart and credit are read from it (items'
    grants and own contributions, the working capital's, the loans), never entered apart."""

    model_config = ConfigDict(extra="forbid")

    plan: dict[str, Any]


class TrancheIn(BaseModel):
    amount: Decimal = Field(gt=0, decimal_places=2)
    milestone: str = Field(min_length=1)
