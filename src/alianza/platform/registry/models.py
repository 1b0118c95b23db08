"""Who and where: geography, markets, organizations, farmers and their memberships."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from alianza.platform.db import Base
from alianza.platform.types import Quantity

# A farmer is "youth" up to this age (inclusive), the common bound of AfDB/IFAD programmes.
YOUTH_MAX_AGE = 35


class Place(Base):
    """A node of the geography: country → district → municipality/EPA → village."""

    __tablename__ = "places"
    __table_args__ = (UniqueConstraint("programme_id", "parent_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    code: Mapped[str | None] = mapped_column(String(40))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("places.id"), index=True)


class Market(Base):
    __tablename__ = "markets"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"))


class Organization(Base):
    """A producer organization, buyer, TA provider, financial institution or implementing partner."""

    __tablename__ = "organizations"
    __table_args__ = (UniqueConstraint("programme_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    registration_number: Mapped[str | None] = mapped_column(String(80))
    place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id"), index=True)
    founded_year: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Farmer(Base):
    __tablename__ = "farmers"
    __table_args__ = (
        Index("ix_farmers_programme_phone", "programme_id", "phone"),
        Index("ix_farmers_programme_national_id", "programme_id", "national_id"),
        Index("ix_farmers_programme_name", "programme_id", "name", "id"),  # lists by name
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str] = mapped_column(String(10))
    birth_year: Mapped[int] = mapped_column(Integer)
    minority: Mapped[bool] = mapped_column(Boolean)
    household_size: Mapped[int] = mapped_column(Integer)
    land_hectares = mapped_column(Quantity(), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(30))
    national_id: Mapped[str | None] = mapped_column(String(40))
    village_id: Mapped[int] = mapped_column(ForeignKey("places.id"), index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def age(self, on: date) -> int:
        """Age reached in the year of ``on`` (birth year is all a field survey records)."""
        return on.year - self.birth_year

    def is_youth(self, on: date) -> bool:
        return self.age(on) <= YOUTH_MAX_AGE


class Membership(Base):
    """A farmer's membership of an organization; a farmer may belong to several."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("farmer_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    farmer_id: Mapped[int] = mapped_column(ForeignKey("farmers.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    joined_on: Mapped[date | None] = mapped_column(Date)
