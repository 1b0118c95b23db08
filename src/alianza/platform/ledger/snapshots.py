"""Month-end balance snapshots: how balances of every account at a date stay fast.

Balance at D = snapshot at the last month end before D + entries in (that month end, D].
Snapshots are created on first use, from the previous snapshot plus the entries in between,
and kept exact: a posting dated on or before existing snapshot dates adds to them.

Concurrency on PostgreSQL: a posting takes ROW EXCLUSIVE on ``balance_snapshots`` (writers do
not block each other); creating a snapshot takes SHARE ROW EXCLUSIVE, which waits for postings
in flight and holds new ones back until the snapshot is committed, so no posting is missed.
It runs in its own short transaction; if it cannot get the lock within a second (say the
caller's own transaction is posting), balances are summed from the entries instead.
SQLite serialises writers, so there it runs in the caller's transaction.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Connection, event, func, insert, select, text, union_all
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, SessionTransaction

from alianza.platform.ledger.models import Account, BalanceSnapshot, Entry, SnapshotDate


def month_end_before(day: date) -> date:
    """The last month end on or before ``day``."""
    last = calendar.monthrange(day.year, day.month)[1]
    if day.day == last:
        return day
    return day.replace(day=1) - timedelta(days=1)


POSTED = "alianza.ledger.posted"  # session.info key: this transaction holds the posting lock


@event.listens_for(Session, "after_transaction_end")
def _forget_posting_lock(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(POSTED, None)


def lock_for_posting(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE balance_snapshots IN ROW EXCLUSIVE MODE"))
        session.info[POSTED] = True


def snapshot_dates_from(session: Session, programme_id: int, posted_on: date) -> list[date]:
    """The programme's snapshot dates on or after ``posted_on`` (usually none: postings are
    dated today, snapshots are month ends in the past)."""
    return list(
        session.scalars(
            select(SnapshotDate.as_of).where(
                SnapshotDate.programme_id == programme_id, SnapshotDate.as_of >= posted_on
            )
        )
    )


def adjust_for_posting(
    session: Session,
    programme_id: int,
    posted_on: date,
    legs: list[tuple[int, Decimal]],
    dates: list[date] | None = None,
) -> None:
    """Add a new posting's legs to every snapshot dated on or after it (``dates``, when the
    caller read them already)."""
    if dates is None:
        dates = snapshot_dates_from(session, programme_id, posted_on)
    dates = [as_of for as_of in dates if as_of >= posted_on]
    if not dates:
        return
    per_account: dict[int, Decimal] = {}
    for account_id, amount in legs:
        per_account[account_id] = per_account.get(account_id, Decimal(0)) + amount
    rows = [
        {"programme_id": programme_id, "account_id": account_id, "as_of": as_of, "balance": amount}
        for as_of in dates
        for account_id, amount in per_account.items()
    ]
    # One upsert: concurrent postings to an account that has no row yet at that date add up
    # instead of one of them failing the unique (account_id, as_of); the row lock of the
    # update serialises them.
    dialect = session.get_bind().dialect.name
    upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = upsert(BalanceSnapshot)
    statement = statement.on_conflict_do_update(
        index_elements=[BalanceSnapshot.account_id, BalanceSnapshot.as_of],
        set_={"balance": BalanceSnapshot.balance + statement.excluded.balance},
    )
    session.execute(statement, rows)


def _create(connection: Connection, programme_id: int, as_of: date) -> None:
    exists = connection.scalar(
        select(SnapshotDate.id).where(
            SnapshotDate.programme_id == programme_id, SnapshotDate.as_of == as_of
        )
    )
    if exists is not None:
        return
    previous = connection.scalar(
        select(func.max(SnapshotDate.as_of)).where(
            SnapshotDate.programme_id == programme_id, SnapshotDate.as_of < as_of
        )
    )
    in_programme = select(Account.id).where(Account.programme_id == programme_id)
    later = select(Entry.account_id.label("account_id"), Entry.amount.label("amount")).where(
        Entry.account_id.in_(in_programme), Entry.posted_on <= as_of
    )
    if previous is not None:
        later = later.where(Entry.posted_on > previous)
        carried = select(
            BalanceSnapshot.account_id.label("account_id"), BalanceSnapshot.balance.label("amount")
        ).where(BalanceSnapshot.programme_id == programme_id, BalanceSnapshot.as_of == previous)
        source = union_all(later, carried).subquery()
    else:
        source = later.subquery()
    totals = select(source.c.account_id, func.sum(source.c.amount)).group_by(source.c.account_id)
    rows = [
        {"programme_id": programme_id, "account_id": account_id, "as_of": as_of, "balance": total}
        for account_id, total in connection.execute(totals)
    ]
    if rows:
        connection.execute(insert(BalanceSnapshot), rows)
    connection.execute(insert(SnapshotDate), [{"programme_id": programme_id, "as_of": as_of}])


def ensure_snapshot(session: Session, programme_id: int, as_of: date) -> bool:
    """Make sure the snapshot at month end ``as_of`` exists; False if it could not be made now."""
    exists = session.scalar(
        select(SnapshotDate.id).where(
            SnapshotDate.programme_id == programme_id, SnapshotDate.as_of == as_of
        )
    )
    if exists is not None:
        return True
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        _create(session.connection(), programme_id, as_of)
        return True
    if session.info.get(POSTED):
        return False  # our own uncommitted postings hold the lock a snapshot must wait for
    engine = bind.engine if isinstance(bind, Connection) else bind
    try:
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '1s'"))
            connection.execute(text("LOCK TABLE balance_snapshots IN SHARE ROW EXCLUSIVE MODE"))
            _create(connection, programme_id, as_of)
    except OperationalError:
        return False
    return True
