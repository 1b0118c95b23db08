"""Validated input for field records."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field, field_validator, model_validator

from alianza.platform.fieldrecords.models import VISIT_KINDS


def _no_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError("give money and quantities as a Decimal or a string, never a float")
    return value


class VisitIn(BaseModel):
    """A visit (to a group or a farmer) or a site inspection. An inspection names its farmer
    and carries its evidence: a photo reference and a GPS point (and, when the card was
    scanned, its QR code)."""

    kind: str = "visit"
    village_id: int
    farmer_id: int | None = None
    organization_id: int | None = None
    visited_on: date
    notes: str = Field(default="", max_length=5000)
    photo_ref: str | None = Field(default=None, max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    qr_code: str | None = Field(default=None, max_length=80)

    @field_validator("kind")
    @classmethod
    def _kind(cls, kind: str) -> str:
        if kind not in VISIT_KINDS:
            raise ValueError(f"must be one of {list(VISIT_KINDS)}")
        return kind

    @model_validator(mode="after")
    def _evidence(self) -> VisitIn:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("a GPS point has both latitude and longitude")
        if self.kind == "inspection":
            if self.farmer_id is None and not self.qr_code:
                raise ValueError("an inspection names its farmer (farmer_id or qr_code)")
            if not self.photo_ref:
                raise ValueError("an inspection carries a photo reference (photo_ref)")
            if self.latitude is None:
                raise ValueError("an inspection carries a GPS point (latitude, longitude)")
        return self


class HarvestIn(BaseModel):
    farmer_id: int
    kit_code: str = Field(min_length=1, max_length=60)
    harvested_on: date
    quantity: Decimal = Field(ge=0, max_digits=18, decimal_places=3)
    unit: str | None = Field(default=None, max_length=30)
    grade: str = Field(default="ungraded", min_length=1, max_length=20)

    _quantity = field_validator("quantity", mode="before")(_no_float)


class ProduceSaleIn(BaseModel):
    farmer_id: int
    kit_code: str = Field(min_length=1, max_length=60)
    sold_on: date
    quantity: Decimal = Field(ge=0, max_digits=18, decimal_places=3)
    unit: str | None = Field(default=None, max_length=30)
    grade: str = Field(default="ungraded", min_length=1, max_length=20)
    unit_price: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    buyer: str = Field(min_length=1, max_length=200)
    offtaker_id: int | None = None

    _numbers = field_validator("quantity", "unit_price", mode="before")(_no_float)
