"""Subprojects through the cycle: state history, plan versions, scores, decisions, tranches."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from alianza.platform.db import Base
from alianza.platform.types import Money
from alianza.problems import from_parts, message_parts


class Subproject(Base):
    """A PO's proposal under a call, from profile to post-project monitoring."""

    __tablename__ = "subprojects"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    # The financial institution lending alongside the grant, if any.
    lender_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    value_chain: Mapped[str] = mapped_column(String(60))
    funding_window: Mapped[str | None] = mapped_column(String(60))
    families: Mapped[int] = mapped_column(Integer)
    buyer_letter_of_interest: Mapped[bool] = mapped_column(Boolean)
    submitted_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(30), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EvaluatorAssignment(Base):
    """A committee member assigned to evaluate a subproject: they see and score only these."""

    __tablename__ = "evaluator_assignments"
    __table_args__ = (UniqueConstraint("subproject_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    subproject_id: Mapped[int] = mapped_column(ForeignKey("subprojects.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StateChange(Base):
    """One move of a subproject through the cycle, with its note: what the system said of the
    move (the eligibility rules broken, the plan version, the tranche released), or a person's
    words (a decision's conditions) kept as typed.

    The note is kept twice: ``note``, its English text (or the person's words), and
    ``note_parts``, the :class:`~alianza.problems.Message` the system wrote it as (template and
    values), so that a page says it in the reader's language (:attr:`translatable_note`);
    ``note_parts`` is null for a person's words and for moves older than migration 0012.
    """

    __tablename__ = "state_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    subproject_id: Mapped[int] = mapped_column(ForeignKey("subprojects.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    # The Message the note was written as: {"template": ..., "values": {...}} (see the class).
    note_parts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    @property
    def translatable_note(self) -> str:
        """The note as it was written: a Message that a page says in the reader's language, or
        the plain text of a person's note (or of a move older than migration 0012)."""
        return from_parts(self.note, self.note_parts)

    @translatable_note.setter
    def translatable_note(self, note: str) -> None:
        self.note = str(note)
        self.note_parts = message_parts(note)


class PlanVersion(Base):
    """One version of the business plan (alianza.appraisal format) with its appraisal."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("subproject_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    subproject_id: Mapped[int] = mapped_column(ForeignKey("subprojects.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    appraisal: Mapped[dict[str, Any]] = mapped_column(JSON)
    npv = mapped_column(Money())
    irr: Mapped[float | None] = mapped_column(Float)
    investment = mapped_column(Money(), nullable=False)
    grant = mapped_column(Money(), nullable=False)
    counterpart_cash = mapped_column(Money(), nullable=False)
    counterpart_in_kind = mapped_column(Money(), nullable=False)
    credit = mapped_column(Money(), nullable=False)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CommitteeScore(Base):
    __tablename__ = "committee_scores"
    __table_args__ = (UniqueConstraint("plan_version_id", "user_id", "criterion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    subproject_id: Mapped[int] = mapped_column(ForeignKey("subprojects.id"), index=True)
    plan_version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    criterion: Mapped[str] = mapped_column(String(60))
    score = mapped_column(Money(), nullable=False)  # 0-100, two decimals


class Decision(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    subproject_id: Mapped[int] = mapped_column(ForeignKey("subprojects.id"), index=True)
    plan_version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"))
    outcome: Mapped[str] = mapped_column(String(30))
    weighted_score = mapped_column(Money())
    conditions: Mapped[str] = mapped_column(Text)
    decided_on: Mapped[date] = mapped_column(Date)
    decided_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class CounterpartContribution(Base):
    __tablename__ = "counterpart_contributions"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    subproject_id: Mapped[int] = mapped_column(ForeignKey("subprojects.id"), index=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id"))
    kind: Mapped[str] = mapped_column(String(10))  # cash | in_kind
    amount = mapped_column(Money(), nullable=False)


class Tranche(Base):
    __tablename__ = "tranches"
    __table_args__ = (UniqueConstraint("subproject_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    subproject_id: Mapped[int] = mapped_column(ForeignKey("subprojects.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    amount = mapped_column(Money(), nullable=False)
    milestone: Mapped[str] = mapped_column(Text)
    released_on: Mapped[date | None] = mapped_column(Date)
    release_posting_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id"))
    justified_on: Mapped[date | None] = mapped_column(Date)
    evidence: Mapped[str | None] = mapped_column(Text)
    milestone_verified_on: Mapped[date | None] = mapped_column(Date)
