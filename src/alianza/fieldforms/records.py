"""Typed records of the four field forms, as parsed from an export (one per submission).

Checks that need only the submission are made here (a negative quantity, more sold than
harvested, a malformed GPS point, a missing instance ID, an unknown choice of a fixed list);
checks that need the database (is the farmer's QR code known, is the GPS point inside the
farmer's district) are the platform importer's: every record exposes ``farmer_id`` (read from
the QR code) and ``location`` (a `GeoPoint`) for them, and `alianza.fieldforms.geo
.point_in_district` does the geometry.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from alianza.fieldforms.geo import GeoPoint, parse_geopoint

# The farmer card's QR code holds "alianza:farmer:<farmer id>"; a bare farmer ID (typed in
# when a card will not scan) is accepted as well.
QR_PREFIX = "alianza:farmer:"
FARMER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,63}$")


def farmer_id_from_qr(text: str) -> str:
    """The farmer ID a card's QR code carries; ValueError if it carries none."""
    value = text.strip()
    if value.startswith(QR_PREFIX):
        value = value[len(QR_PREFIX) :]
    if not FARMER_ID.match(value):
        raise ValueError(f"{text!r} is not a farmer card code (expected {QR_PREFIX}<farmer id>)")
    return value


def _geopoint(value: Any) -> Any:
    if isinstance(value, str):
        return parse_geopoint(value)
    return value


Location = Annotated[GeoPoint, BeforeValidator(_geopoint)]
FarmerQr = Annotated[
    str, BeforeValidator(lambda v: farmer_id_from_qr(v) if isinstance(v, str) else v)
]


class Record(BaseModel):
    """What every submission carries: who recorded it, when, on which device, where."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    form: str
    instance_id: str = Field(min_length=1, description="meta/instanceID, e.g. uuid:...")
    row: int = Field(ge=1, description="Position of the submission in its file (from 1).")
    submitted_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    recorded_by: str | None = Field(default=None, description="ODK username or submitter.")
    device_id: str | None = None
    village: str = Field(min_length=1)
    location: Location | None = None

    @property
    def recorded_at(self) -> datetime | None:
        """When the enumerator finished the form (else when it reached the server)."""
        return self.ended_at or self.submitted_at


class VisitRecord(Record):
    form: Literal["visit"] = "visit"
    visit_date: date
    group: str | None = None
    visit_type: Literal["group_meeting", "farm_visit", "demo_site", "training"]
    farmer_id: FarmerQr | None = Field(default=None, description="From the card's QR code.")
    attendees: int | None = Field(default=None, ge=0)
    notes: str | None = None

    @model_validator(mode="after")
    def _farm_visit_has_farmer(self) -> VisitRecord:
        if self.visit_type == "farm_visit" and self.farmer_id is None:
            raise ValueError("farmer_qr: a farm visit needs the farmer's card scanned")
        return self


class InspectionRecord(Record):
    form: Literal["inspection"] = "inspection"
    inspection_date: date
    location: Location  # required: the inspection is checked against the farmer's district
    farmer_id: FarmerQr
    kit: str = Field(min_length=1)
    kit_condition: Literal["in_use", "needs_repair", "not_in_use", "not_found"]
    units_seen: int = Field(ge=0)
    photo: str = Field(min_length=1, description="File name of the photo (the attachment).")
    notes: str | None = None


class HarvestLine(BaseModel):
    """One product of a harvest: what was harvested, its grade, what was sold, to whom."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kit: str = Field(min_length=1)
    quantity: float = Field(ge=0, allow_inf_nan=False)
    grade: str = Field(min_length=1)
    quantity_sold: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    price: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    buyer: str | None = None

    @model_validator(mode="after")
    def _sold_fits(self) -> HarvestLine:
        if self.quantity_sold > self.quantity:
            raise ValueError(
                f"quantity_sold: {self.quantity_sold:g} is more than the {self.quantity:g} "
                "harvested"
            )
        if self.quantity_sold > 0 and (self.price is None or self.buyer is None):
            raise ValueError("price and buyer are required when something was sold")
        return self

    @property
    def sale_value(self) -> float:
        """quantity_sold x price (local currency)."""
        return self.quantity_sold * (self.price or 0.0)


class HarvestRecord(Record):
    form: Literal["harvest"] = "harvest"
    harvest_date: date
    farmer_id: FarmerQr
    products: list[HarvestLine] = Field(min_length=1)


class KitSaleRecord(Record):
    form: Literal["kit_sale"] = "kit_sale"
    sale_date: date
    group: str | None = None
    farmer_id: FarmerQr
    kit: str = Field(min_length=1)
    units: int = Field(ge=1)
    amount: float = Field(ge=0, allow_inf_nan=False)
    payment_method: Literal["cash", "mobile_money", "prepayment"]
    transaction_id: str | None = None
    prepaid_by: str | None = None
    supplier: str | None = Field(
        default=None, description="The supplier's choice name; none: the district's only one."
    )

    @model_validator(mode="after")
    def _payment_details(self) -> KitSaleRecord:
        if self.payment_method == "mobile_money" and not self.transaction_id:
            raise ValueError("transaction_id: required for a mobile-money payment")
        if self.payment_method == "prepayment" and not self.prepaid_by:
            raise ValueError("prepaid_by: required for an off-taker prepayment")
        return self


AnyRecord = VisitRecord | InspectionRecord | HarvestRecord | KitSaleRecord
RECORD_TYPES: dict[str, type[Record]] = {
    "visit": VisitRecord,
    "inspection": InspectionRecord,
    "harvest": HarvestRecord,
    "kit_sale": KitSaleRecord,
}
