"""Mobile-money payments as the providers notify them: one row per (provider, transaction id),
matched to the pending kit sale it pays or parked for a person to review."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from alianza.platform.db import Base
from alianza.platform.types import Money

PAYMENT_STATES = ("received", "matched", "parked", "resolved")


class MobilePayment(Base):
    """A payment notification, stored once: the unique (provider, transaction_id) makes a
    replayed or concurrent duplicate change nothing. ``status`` is received (stored by the
    HTTP intake, not posted yet), matched (to ``sale_id``), parked (``park_reason`` says why;
    the money waits in the suspense account) or resolved (matched later by a person,
    ``matched_by``)."""

    __tablename__ = "mobile_payments"
    __table_args__ = (
        UniqueConstraint("provider", "transaction_id"),
        CheckConstraint("status IN ('received', 'matched', 'parked', 'resolved')", name="status"),
        Index("ix_mobile_payments_programme_id_status", "programme_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    provider: Mapped[str] = mapped_column(String(40))
    transaction_id: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(30))
    amount = mapped_column(Money(), nullable=False)
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str | None] = mapped_column(String(40))
    paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10))
    park_reason: Mapped[str | None] = mapped_column(String(40))
    park_detail: Mapped[str | None] = mapped_column(String(500))
    farmer_id: Mapped[int | None] = mapped_column(ForeignKey("farmers.id"), index=True)
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("kit_sales.id"), unique=True)
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id"))
    resolution_posting_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id"))
    matched_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    matched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
