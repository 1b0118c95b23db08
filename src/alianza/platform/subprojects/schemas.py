"""The subproject cycle's states, transitions and validated input."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, model_validator

# state -> the states it may move to
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "profile_submitted": ("eligible", "ineligible"),
    "eligible": ("business_plan_submitted",),
    "ineligible": (),
    "business_plan_submitted": ("under_evaluation",),
    "under_evaluation": ("approved", "approved_with_conditions", "rejected"),
    "approved": ("counterpart_paid",),
    "approved_with_conditions": ("counterpart_paid",),
    "rejected": (),
    "counterpart_paid": ("agreement_signed",),
    "agreement_signed": ("in_execution",),
    "in_execution": ("completed",),
    "completed": ("post_project_monitoring",),
    "post_project_monitoring": (),
}
STATES = tuple(TRANSITIONS)
DECISIONS = ("approved", "approved_with_conditions", "rejected")
APPROVED = ("approved", "approved_with_conditions")


class ProfileIn(BaseModel):
    call_id: int
    organization_id: int
    buyer_id: int
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
