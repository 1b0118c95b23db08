"""What agronomists record in the field: visits and site inspections (photo, GPS point, the
farmer card's QR code), harvests and produce sales per farmer and kit. Each row says who
recorded it and when; rows are appended, never edited."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from alianza.platform.db import Base
from alianza.platform.types import Money, Quantity

VISIT_KINDS = ("visit", "inspection")


class FieldVisit(Base):
    """A visit to a group or farmer, or a site inspection. An inspection carries the evidence
    the programme checks surveys with: a photo reference, a GPS point and the QR code scanned
    from the farmer's card (``qr_matches`` says whether it is that farmer's)."""

    __tablename__ = "field_visits"
    __table_args__ = (CheckConstraint("kind IN ('visit', 'inspection')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    village_id: Mapped[int] = mapped_column(ForeignKey("places.id"), index=True)
    farmer_id: Mapped[int | None] = mapped_column(ForeignKey("farmers.id"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    agronomist_id: Mapped[int | None] = mapped_column(ForeignKey("agronomists.id"), index=True)
    visited_on: Mapped[date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text)
    photo_ref: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    qr_code: Mapped[str | None] = mapped_column(String(80))
    qr_matches: Mapped[bool | None] = mapped_column(Boolean)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Harvest(Base):
    """A farmer's harvest from a kit: quantity (in the product's unit) and grade."""

    __tablename__ = "harvests"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    farmer_id: Mapped[int] = mapped_column(ForeignKey("farmers.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("places.id"), index=True)
    kit_code: Mapped[str] = mapped_column(String(60))
    harvested_on: Mapped[date] = mapped_column(Date)
    quantity = mapped_column(Quantity(), nullable=False)
    unit: Mapped[str] = mapped_column(String(30))
    grade: Mapped[str] = mapped_column(String(20))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProduceSale(Base):
    """A farmer's sale of produce from a kit: quantity, grade, price and buyer."""

    __tablename__ = "produce_sales"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    farmer_id: Mapped[int] = mapped_column(ForeignKey("farmers.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("places.id"), index=True)
    kit_code: Mapped[str] = mapped_column(String(60))
    sold_on: Mapped[date] = mapped_column(Date)
    quantity = mapped_column(Quantity(), nullable=False)
    unit: Mapped[str] = mapped_column(String(30))
    grade: Mapped[str] = mapped_column(String(20))
    unit_price = mapped_column(Money(), nullable=False)
    amount = mapped_column(Money(), nullable=False)
    currency: Mapped[str] = mapped_column(String(3))
    buyer: Mapped[str] = mapped_column(String(200))
    offtaker_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FieldSubmission(Base):
    """A form submission from ODK Collect / KoboToolbox that has been imported, by its instance
    ID: the record that makes a re-import of the same export add nothing."""

    __tablename__ = "field_submissions"
    __table_args__ = (UniqueConstraint("programme_id", "instance_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    instance_id: Mapped[str] = mapped_column(String(200))
    form: Mapped[str] = mapped_column(String(20))
    village_id: Mapped[int] = mapped_column(ForeignKey("places.id"), index=True)
    farmer_id: Mapped[int | None] = mapped_column(ForeignKey("farmers.id"), index=True)
    imported_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
