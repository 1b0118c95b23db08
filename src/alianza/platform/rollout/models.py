"""Micro Investing's rollout and field team: the areas taken one by one through their phases,
their milestones, the agronomists who work them (with their caseload of villages) and the lead
farmers. Suppliers and off-takers are registry organizations (kinds ``supplier``, ``offtaker``);
groups (savings groups, clubs, incubators) too."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from alianza.platform.db import Base
from alianza.platform.types import Rate

# The phases of an area, in the order an area goes through them.
PHASES = ("setup", "launch", "growth", "exit")


class RolloutArea(Base):
    """A district or extension planning area (a ``district`` or ``municipality`` place) and the
    rollout phase it is in. ``exit_adoption_share`` is the tipping point: the share of the
    area's buying farmers who reinvest from their own profit at which support may end."""

    __tablename__ = "rollout_areas"
    __table_args__ = (
        UniqueConstraint("programme_id", "place_id"),
        CheckConstraint("phase IN ('setup', 'launch', 'growth', 'exit')", name="phase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    phase: Mapped[str] = mapped_column(String(10))
    phase_since: Mapped[date] = mapped_column(Date)
    target_farmers: Mapped[int | None] = mapped_column(Integer)
    exit_adoption_share = mapped_column(Rate(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PhaseChange(Base):
    """An area moving from one phase to the next (append-only: the rollout's history)."""

    __tablename__ = "rollout_phase_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("rollout_areas.id"), index=True)
    from_phase: Mapped[str | None] = mapped_column(String(10))
    to_phase: Mapped[str] = mapped_column(String(10))
    changed_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(500))
    changed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Milestone(Base):
    """Something an area's phase needs done (lead farmers found, demo sites set up, ...)."""

    __tablename__ = "rollout_milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("rollout_areas.id"), index=True)
    phase: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date | None] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)


class Agronomist(Base):
    """A roving agronomist: works a district's villages (:class:`CaseloadPlace`), visits groups,
    sells kits for a commission (``commission_rate`` of each sale's amount). ``user_id`` is the
    user who signs in as them, if any."""

    __tablename__ = "agronomists"
    # (the rate's bounds are checked on input: SQLite stores it as a scaled integer)
    __table_args__ = (UniqueConstraint("programme_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(30))
    district_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    commission_rate = mapped_column(Rate(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CaseloadPlace(Base):
    """A village in an agronomist's caseload (the groups there are theirs to visit)."""

    __tablename__ = "caseload_places"
    __table_args__ = (UniqueConstraint("agronomist_id", "place_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    agronomist_id: Mapped[int] = mapped_column(ForeignKey("agronomists.id"), index=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"), index=True)


class LeadFarmer(Base):
    """A farmer who leads others (an innovator), perhaps with a demo site on their land."""

    __tablename__ = "lead_farmers"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    farmer_id: Mapped[int] = mapped_column(ForeignKey("farmers.id"), unique=True)
    demo_site: Mapped[bool] = mapped_column(Boolean)
    since: Mapped[date] = mapped_column(Date)
