"""Validated input for the rollout and the field team."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field, field_validator

from alianza.platform.rollout.models import PHASES


def _phase(value: str) -> str:
    if value not in PHASES:
        raise ValueError(f"must be one of {list(PHASES)}")
    return value


class RolloutAreaIn(BaseModel):
    """A district or extension planning area entering the rollout (in set-up by default)."""

    place_id: int
    phase: str = "setup"
    phase_since: date
    target_farmers: int | None = Field(default=None, ge=1)
    exit_adoption_share: Decimal = Field(default=Decimal("0.60"), gt=0, le=1, decimal_places=8)

    _phase = field_validator("phase")(_phase)


class PhaseMoveIn(BaseModel):
    to_phase: str
    changed_on: date
    note: str = Field(default="", max_length=500)

    _phase = field_validator("to_phase")(_phase)


class MilestoneIn(BaseModel):
    phase: str
    title: str = Field(min_length=1, max_length=200)
    due_on: date | None = None

    _phase = field_validator("phase")(_phase)


class AgronomistIn(BaseModel):
    """A roving agronomist: a district, the villages of their caseload, a commission rate."""

    name: str = Field(min_length=2, max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    district_id: int
    village_ids: list[int] = Field(default_factory=list, max_length=500)
    commission_rate: Decimal = Field(ge=0, le=1, decimal_places=8)
    user_id: int | None = None


class LeadFarmerIn(BaseModel):
    farmer_id: int
    demo_site: bool = False
    since: date
