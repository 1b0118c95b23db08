"""Kits on the platform: catalogue versions (the ``alianza.ladder`` catalogue format), prices
per district, suppliers' stock per district, and kit sales."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from alianza.platform.db import Base
from alianza.platform.types import Money

SALE_METHODS = ("cash", "mobile_money", "prepayment")
SALE_STATES = ("pending", "paid")


class KitCatalogue(Base):
    """One version of the programme's kit catalogue; ``document`` is the catalogue as
    :class:`alianza.ladder.catalogue.Catalogue` validates it. Versions are never edited: a
    change is a new version, and every sale names the version it was made at."""

    __tablename__ = "kit_catalogues"
    __table_args__ = (UniqueConstraint("programme_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class KitPrice(Base):
    """A kit's price in a district (local currency) under one catalogue version."""

    __tablename__ = "kit_prices"
    __table_args__ = (
        UniqueConstraint("catalogue_id", "district_id", "kit_code"),
        CheckConstraint("price >= 0", name="price"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    catalogue_id: Mapped[int] = mapped_column(ForeignKey("kit_catalogues.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    kit_code: Mapped[str] = mapped_column(String(60))
    currency: Mapped[str] = mapped_column(String(3))
    price = mapped_column(Money(), nullable=False)


class SupplierStock(Base):
    """Units of a kit a supplier holds in a district; a sale takes them, a delivery adds."""

    __tablename__ = "supplier_stock"
    __table_args__ = (
        UniqueConstraint("supplier_id", "district_id", "kit_code"),
        CheckConstraint("quantity >= 0", name="quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    kit_code: Mapped[str] = mapped_column(String(60))
    quantity: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class KitSale(Base):
    """A farmer's purchase of a kit: the catalogue version and price it was made at, how it is
    paid (cash, mobile money, an off-taker's prepayment), the agronomist's commission and the
    supplier whose stock it took. A mobile-money sale is ``pending`` until its payment arrives
    (matched by ``reference``, the account number the farmer types)."""

    __tablename__ = "kit_sales"
    __table_args__ = (
        UniqueConstraint("programme_id", "reference"),
        CheckConstraint("units >= 1", name="units"),
        CheckConstraint("method IN ('cash', 'mobile_money', 'prepayment')", name="method"),
        CheckConstraint("status IN ('pending', 'paid')", name="status"),
        Index("ix_kit_sales_farmer_id_sold_on", "farmer_id", "sold_on"),
        Index("ix_kit_sales_village_id", "village_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    reference: Mapped[str] = mapped_column(String(20))
    farmer_id: Mapped[int] = mapped_column(ForeignKey("farmers.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    catalogue_id: Mapped[int] = mapped_column(ForeignKey("kit_catalogues.id"))
    kit_code: Mapped[str] = mapped_column(String(60))
    units: Mapped[int] = mapped_column(Integer)
    unit_price = mapped_column(Money(), nullable=False)
    amount = mapped_column(Money(), nullable=False)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    agronomist_id: Mapped[int | None] = mapped_column(ForeignKey("agronomists.id"), index=True)
    commission = mapped_column(Money(), nullable=False)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    offtaker_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    sold_on: Mapped[date] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    sale_posting_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id"))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
