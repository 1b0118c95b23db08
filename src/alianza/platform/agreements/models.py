"""Alliance agreements, their delivery schedule, deliveries and buyer payments."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from alianza.platform.db import Base
from alianza.platform.types import Money, Quantity


class Agreement(Base):
    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    subproject_id: Mapped[int] = mapped_column(ForeignKey("subprojects.id"), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    support_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    product: Mapped[str] = mapped_column(String(120))
    unit: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    quality_grades: Mapped[list[str]] = mapped_column(JSON)
    price_mechanism: Mapped[str] = mapped_column(String(20))  # fixed | reference_premium | floor
    fixed_price = mapped_column(Money())
    premium = mapped_column(Money())
    floor_price = mapped_column(Money())
    grade_premiums: Mapped[dict[str, Any]] = mapped_column(JSON)
    payment_terms_days: Mapped[int] = mapped_column(Integer)
    buyer_ta_duties: Mapped[str] = mapped_column(Text)
    signed_on: Mapped[date] = mapped_column(Date)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)


class ScheduledDelivery(Base):
    """The quantity the PO commits to deliver in a period (what members' plans produce)."""

    __tablename__ = "scheduled_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    quantity = mapped_column(Quantity(), nullable=False)


class Delivery(Base):
    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    delivered_on: Mapped[date] = mapped_column(Date, index=True)
    quantity = mapped_column(Quantity(), nullable=False)
    grade: Mapped[str] = mapped_column(String(40))
    reference_price = mapped_column(Money())
    unit_price = mapped_column(Money(), nullable=False)
    amount = mapped_column(Money(), nullable=False)
    due_on: Mapped[date] = mapped_column(Date)


class BuyerPayment(Base):
    __tablename__ = "buyer_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount = mapped_column(Money(), nullable=False)
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id"))
