"""Calls for proposals and their rules."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alianza.platform.db import Base
from alianza.platform.types import Money, Rate


class Call(Base):
    """A call for proposals: who may apply, for what, how it is financed and scored."""

    __tablename__ = "calls"
    __table_args__ = (UniqueConstraint("programme_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    max_grant_share = mapped_column(Rate(), nullable=False)
    min_counterpart_share = mapped_column(Rate(), nullable=False)
    ceiling_per_family = mapped_column(Money(), nullable=False)
    ceiling_per_alliance = mapped_column(Money(), nullable=False)
    max_families: Mapped[int | None] = mapped_column(Integer)
    district_ids: Mapped[list[int]] = mapped_column(JSON)
    value_chains: Mapped[list[str]] = mapped_column(JSON)
    windows: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    member_rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    scoring_sheet: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
