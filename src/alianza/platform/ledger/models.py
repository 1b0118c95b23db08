"""Double-entry ledger: accounts (one currency each), postings, and their entries.

A posting's entries sum to zero; an account's balance at a date is the sum of its entries up to
that date. Rows are never updated or deleted (the migration installs triggers that refuse it);
a correction is a reversing posting.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alianza.platform.db import Base
from alianza.platform.types import Money


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("programme_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    organization_id: Mapped[int | None] = mapped_column(index=True)
    farmer_id: Mapped[int | None] = mapped_column(index=True)
    allows_overdraft: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Posting(Base):
    __tablename__ = "postings"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    posted_on: Mapped[date] = mapped_column(Date)
    memo: Mapped[str] = mapped_column(String(500))
    reverses_posting_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id"), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    entries: Mapped[list[Entry]] = relationship(back_populates="posting", order_by="Entry.id")


class Entry(Base):
    """One leg of a posting; ``posted_on`` repeats the posting's date so balances need no join."""

    __tablename__ = "entries"
    __table_args__ = (
        Index("ix_entries_account_date", "account_id", "posted_on"),
        Index("ix_entries_posted_on", "posted_on"),  # the entries after a month-end snapshot
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    posted_on: Mapped[date] = mapped_column(Date)
    amount = mapped_column(Money(), nullable=False)

    posting: Mapped[Posting] = relationship(back_populates="entries")


class SnapshotDate(Base):
    """A month end for which :class:`BalanceSnapshot` rows hold every account's balance."""

    __tablename__ = "snapshot_dates"
    __table_args__ = (UniqueConstraint("programme_id", "as_of"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    as_of: Mapped[date] = mapped_column(Date)


class BalanceSnapshot(Base):
    """An account's balance at the end of a snapshot date: a cache derived from entries.

    Balances at a date read the latest month-end snapshot and add the few entries after it.
    A posting dated on or before a snapshot date adds its amount to that snapshot (under the
    same account lock), so snapshots always equal the sum of the entries.
    """

    __tablename__ = "balance_snapshots"
    __table_args__ = (
        UniqueConstraint("account_id", "as_of"),
        Index("ix_balance_snapshots_programme_as_of", "programme_id", "as_of"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    as_of: Mapped[date] = mapped_column(Date)
    balance = mapped_column(Money(), nullable=False)
