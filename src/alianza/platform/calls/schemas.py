"""A call's rules, validated (stored as JSON where they are lists or sheets)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field, field_validator, model_validator

from alianza.platform.programmes.schemas import currency_code
from alianza.problems import Message


class Window(BaseModel):
    """A financing window of a call (e.g. production up to 150k, value addition up to 300k)."""

    name: str = Field(min_length=1, max_length=60)
    ceiling_per_alliance: Decimal = Field(gt=0, decimal_places=2)


class MemberRules(BaseModel):
    """Conditions on a PO's members for its subproject to be eligible."""

    min_members: int = Field(default=1, ge=1)
    min_age: int = Field(default=16, ge=0)
    max_land_hectares: Decimal | None = Field(default=None, gt=0)


class Criterion(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    weight: Decimal = Field(gt=0)


class ScoringSheet(BaseModel):
    """Committee criteria with weights (scores 0-100) and the thresholds a plan must meet."""

    criteria: list[Criterion] = Field(min_length=1)
    pass_score: Decimal = Field(default=Decimal(60), ge=0, le=100)
    min_irr: float | None = None
    min_npv: Decimal | None = None
    min_women_share: Decimal | None = Field(default=None, ge=0, le=1)
    min_youth_share: Decimal | None = Field(default=None, ge=0, le=1)
    # A call for small grants may appraise a profile (one typical year) in place of a
    # business plan; by default the business-plan step needs a project with its horizon.
    accepts_profiles: bool = False

    @model_validator(mode="after")
    def _distinct(self) -> ScoringSheet:
        names = [c.name for c in self.criteria]
        if len(set(names)) != len(names):
            raise ValueError(Message("criteria names must be distinct"))
        return self


class CallIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=1, max_length=200)
    currency: str
    opens_on: date
    closes_on: date
    max_grant_share: Decimal = Field(gt=0, le=1)
    min_counterpart_share: Decimal = Field(ge=0, le=1)
    ceiling_per_family: Decimal = Field(gt=0, decimal_places=2)
    ceiling_per_alliance: Decimal = Field(gt=0, decimal_places=2)
    max_families: int | None = Field(default=None, ge=1)
    district_ids: list[int] = Field(min_length=1)
    value_chains: list[str] = Field(min_length=1)
    windows: list[Window] = Field(default_factory=list)
    member_rules: MemberRules = Field(default_factory=MemberRules)
    scoring_sheet: ScoringSheet

    _currency = field_validator("currency")(currency_code)

    @model_validator(mode="after")
    def _consistent(self) -> CallIn:
        if self.closes_on < self.opens_on:
            raise ValueError(Message("closes_on is before opens_on"))
        if self.max_grant_share + self.min_counterpart_share > 1:
            raise ValueError(Message("max_grant_share + min_counterpart_share exceed 1"))
        return self
