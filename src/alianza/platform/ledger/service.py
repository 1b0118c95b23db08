"""Posting money: balanced, atomic, no overdraft on internal funds, corrections by reversal."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, Table, func, select, union_all

from alianza.platform.access import Actor, Page, Permission, get, paged, scoped
from alianza.platform.audit.service import (
    audit_row,
    now,
    record_for,
    snapshot,
    write_audit_rows,
)
from alianza.platform.db import bulk_insert, insert_rows
from alianza.platform.errors import NotFound, Refused
from alianza.platform.ledger import snapshots
from alianza.platform.ledger.models import Account, BalanceSnapshot, Entry, Posting
from alianza.platform.ledger.schemas import (
    ACCOUNT_KINDS,
    POSTING_RULES,
    REVERSAL,
    AccountIn,
    TransferIn,
)
from alianza.platform.validation import validated
from alianza.problems import Message

ZERO = Decimal("0.00")


def open_account(actor: Actor, data: AccountIn | dict[str, Any]) -> Account:
    """A new account of a kind, in one currency, in the actor's programme."""
    actor.require(Permission.LEDGER_POST)
    return _open_account(actor, validated(AccountIn, data))


def _open_account(actor: Actor, account_in: AccountIn) -> Account:
    # the holder must be a record of this programme (another programme's ids look absent)
    from alianza.platform.registry.models import Farmer, Organization

    if account_in.organization_id is not None:
        get(actor, Organization, account_in.organization_id)
    if account_in.farmer_id is not None:
        get(actor, Farmer, account_in.farmer_id)
    clash = actor.session.scalar(
        scoped(actor.widened(), select(Account.id)).where(Account.name == account_in.name)
    )
    if clash is not None:
        raise Refused(
            Message("an account named '%(name)s' exists", name=account_in.name),
            rule="unique account name",
        )
    account = Account(
        programme_id=actor.programme_id,
        allows_overdraft=ACCOUNT_KINDS[account_in.kind],
        created_at=now(),
        **account_in.model_dump(),
    )
    actor.session.add(account)
    record_for(actor, "create", account)
    return account


def get_account(actor: Actor, account_id: int) -> Account:
    return get(actor, Account, account_id)


def find_account(
    actor: Actor,
    kind: str,
    currency: str,
    *,
    organization_id: int | None = None,
    farmer_id: int | None = None,
) -> Account | None:
    """The account of ``kind`` in ``currency`` held for an organization or farmer, if any."""
    query = scoped(actor, select(Account)).where(
        Account.kind == kind,
        Account.currency == currency,
        Account.organization_id == organization_id
        if organization_id is not None
        else Account.organization_id.is_(None),
        Account.farmer_id == farmer_id if farmer_id is not None else Account.farmer_id.is_(None),
    )
    return actor.session.scalars(query.order_by(Account.id).limit(1)).first()


def organization_account(
    actor: Actor, kind: str, currency: str, organization_id: int, label: str = ""
) -> Account:
    """The organization's account of ``kind`` in ``currency``; opened on first use, named
    "{organization's name}{label} ({currency})". The service's own bookkeeping: read and opened
    programme-wide, whoever acts."""
    from alianza.platform.registry.models import Organization

    actor = actor.widened()
    account = find_account(actor, kind, currency, organization_id=organization_id)
    if account is None:
        organization = get(actor, Organization, organization_id)
        account = _open_account(
            actor,
            AccountIn(
                kind=kind,
                name=f"{organization.name}{label} ({currency})",
                currency=currency,
                organization_id=organization.id,
            ),
        )
    return account


def no_account(account_id: int) -> Message:
    return Message("no account %(id)s in this programme", id=account_id)


def unbalanced() -> Message:
    return Message("entries do not sum to zero")


def mixed_currencies(currencies: set[str]) -> Message:
    return Message(
        "accounts are in different currencies (%(currencies)s)",
        currencies=", ".join(sorted(currencies)),
    )


def _accounts(actor: Actor, account_ids: list[int]) -> dict[int, Account]:
    """The accounts of the programme with these ids (NotFound for any other)."""
    rows = actor.session.scalars(
        scoped(actor.widened(), select(Account)).where(Account.id.in_(sorted(set(account_ids))))
    ).all()
    found = {account.id: account for account in rows}
    for account_id in account_ids:
        if account_id not in found:
            raise NotFound(no_account(account_id))
    return found


def _lock_for_debit(actor: Actor, account_ids: list[int]) -> None:
    """Lock the accounts a posting draws on under the no-overdraft rule, FOR UPDATE in id order
    (no deadlocks), until the transaction ends.

    Only these: a posting that only credits an account (or draws on one that may be
    overdrawn) cannot break the rule, and locking every account of a posting would make every
    payment into *Kit sales* wait for the one before it."""
    if account_ids:
        actor.session.execute(
            select(Account.id)
            .where(Account.id.in_(sorted(set(account_ids))))
            .order_by(Account.id)
            .with_for_update()
        ).all()


def _lowest_balance_from(actor: Actor, account_id: int, start: date) -> Decimal:
    """The lowest balance the account has on any date from ``start`` on."""
    opening = actor.session.scalar(
        select(func.coalesce(func.sum(Entry.amount), ZERO)).where(
            Entry.account_id == account_id, Entry.posted_on <= start
        )
    )
    balance = Decimal(opening or 0)
    lowest = balance
    later = actor.session.execute(
        select(Entry.posted_on, func.sum(Entry.amount))
        .where(Entry.account_id == account_id, Entry.posted_on > start)
        .group_by(Entry.posted_on)
        .order_by(Entry.posted_on)
    )
    for _day, change in later:
        balance += Decimal(change)
        lowest = min(lowest, balance)
    return lowest


def _post(
    actor: Actor,
    kind: str,
    posted_on: date,
    memo: str,
    legs: list[tuple[int, Decimal]],
    reverses: int | None = None,
) -> Posting:
    """Write one balanced posting after locking its accounts and checking the overdraft rule."""
    if sum((amount for _, amount in legs), ZERO) != ZERO:
        raise Refused(unbalanced(), rule="balanced posting")
    snapshots.lock_for_posting(actor.session)
    accounts = _accounts(actor, [account_id for account_id, _ in legs])
    currencies = {account.currency for account in accounts.values()}
    if len(currencies) != 1:
        raise Refused(mixed_currencies(currencies), rule="one currency per posting")
    change: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for account_id, amount in legs:
        change[account_id] += amount
    _lock_for_debit(
        actor,
        [i for i, delta in change.items() if delta < 0 and not accounts[i].allows_overdraft],
    )
    for account_id, delta in change.items():
        account = accounts[account_id]
        if delta < 0 and not account.allows_overdraft:
            lowest = _lowest_balance_from(actor, account_id, posted_on)
            if lowest + delta < 0:
                raise Refused(
                    Message(
                        "account '%(name)s' would be overdrawn: %(needed)s %(currency)s needed, "
                        "%(available)s available from %(day)s on",
                        name=account.name,
                        needed=-delta,
                        currency=account.currency,
                        available=lowest,
                        day=posted_on,
                    ),
                    rule="no overdraft",
                )
    with actor.session.begin_nested():
        posting = Posting(
            programme_id=actor.programme_id,
            kind=kind,
            posted_on=posted_on,
            memo=memo,
            reverses_posting_id=reverses,
            created_by=actor.user_id,
            created_at=now(),
        )
        actor.session.add(posting)
        actor.session.flush()
        for account_id, amount in legs:
            actor.session.add(
                Entry(
                    posting_id=posting.id, account_id=account_id, posted_on=posted_on, amount=amount
                )
            )
        actor.session.flush()
        snapshots.adjust_for_posting(actor.session, actor.programme_id, posted_on, legs)
        after = snapshot(posting)
        after["entries"] = [
            {"account_id": account_id, "amount": str(amount)} for account_id, amount in legs
        ]
        record_for(actor, "post", posting, after=after)
    return posting


@dataclass(frozen=True)
class AccountRef:
    """What a posting needs to know of an account (read once, e.g. for a batch)."""

    id: int
    kind: str
    currency: str
    allows_overdraft: bool


@dataclass(frozen=True)
class NewPosting:
    """A posting to write with :func:`post_many`: ``legs`` are (account id, signed amount)."""

    kind: str
    posted_on: date
    memo: str
    legs: tuple[tuple[int, Decimal], ...]


def account_refs(actor: Actor, names: list[str]) -> dict[str, AccountRef]:
    """The programme's accounts of these names, as :class:`AccountRef` by name (one query)."""
    columns = cast(
        "Select[Any]",
        select(Account.id, Account.name, Account.kind, Account.currency, Account.allows_overdraft),
    )
    rows = actor.session.execute(
        scoped(actor.widened(), columns).where(Account.name.in_(sorted(set(names))))
    )
    return {
        name: AccountRef(account_id, kind, currency, bool(overdraft))
        for account_id, name, kind, currency, overdraft in rows
    }


def post_many(
    actor: Actor,
    postings: list[NewPosting],
    accounts: dict[int, AccountRef],
    audit: list[dict[str, Any]] | None = None,
) -> list[int]:
    """Write many postings in a few statements (the mobile-money intake, imports): the same
    rules as one posting at a time — balanced, one currency, the posting kind's accounts, no
    overdraft of internal funds — checked for all before anything is written. Returns the
    postings' ids in order. The postings' audit entries are written, or appended to ``audit``
    when given (the caller then writes them with its own in one statement).

    A batch drawing on an account that may not be overdrawn is checked conservatively: its
    lowest balance from the batch's first date must cover all the batch's draws on it."""
    if not postings:
        return []
    change: dict[int, Decimal] = defaultdict(lambda: ZERO)
    first_day: dict[int, date] = {}
    for posting in postings:
        if sum((amount for _, amount in posting.legs), ZERO) != ZERO:
            raise Refused(unbalanced(), rule="balanced posting")
        refs = []
        for account_id, _ in posting.legs:
            ref = accounts.get(account_id)
            if ref is None:
                raise NotFound(no_account(account_id))
            refs.append(ref)
        currencies = {ref.currency for ref in refs}
        if len(currencies) != 1:
            raise Refused(mixed_currencies(currencies), rule="one currency per posting")
        from_kinds, to_kinds = POSTING_RULES[posting.kind]
        for ref, (account_id, amount) in zip(refs, posting.legs, strict=True):
            allowed = from_kinds if amount < 0 else to_kinds
            if ref.kind not in allowed:
                raise Refused(
                    Message(
                        "a %(kind)s goes from %(from_kinds)s to %(to_kinds)s, not from %(account)s",
                        kind=posting.kind,
                        from_kinds="/".join(sorted(from_kinds)),
                        to_kinds="/".join(sorted(to_kinds)),
                        account=ref.kind,
                    )
                    if amount < 0
                    else Message(
                        "a %(kind)s goes from %(from_kinds)s to %(to_kinds)s, not to %(account)s",
                        kind=posting.kind,
                        from_kinds="/".join(sorted(from_kinds)),
                        to_kinds="/".join(sorted(to_kinds)),
                        account=ref.kind,
                    ),
                    rule=f"{posting.kind} accounts",
                )
            change[account_id] += amount
            first_day[account_id] = min(
                first_day.get(account_id, posting.posted_on), posting.posted_on
            )
    session = actor.session
    snapshots.lock_for_posting(session)
    guarded = [i for i, delta in change.items() if delta < 0 and not accounts[i].allows_overdraft]
    _lock_for_debit(actor, guarded)
    for account_id in guarded:
        lowest = _lowest_balance_from(actor, account_id, first_day[account_id])
        if lowest + change[account_id] < 0:
            raise Refused(
                Message(
                    "account %(id)s would be overdrawn: %(needed)s needed, %(available)s "
                    "available from %(day)s on",
                    id=account_id,
                    needed=-change[account_id],
                    available=lowest,
                    day=first_day[account_id],
                ),
                rule="no overdraft",
            )
    created_at = now()
    posting_ids = insert_rows(
        session,
        cast(Table, Posting.__table__),
        [
            {
                "programme_id": actor.programme_id,
                "kind": posting.kind,
                "posted_on": posting.posted_on,
                "memo": posting.memo,
                "reverses_posting_id": None,
                "created_by": actor.user_id,
                "created_at": created_at,
            }
            for posting in postings
        ],
    )
    bulk_insert(
        session,
        cast(Table, Entry.__table__),
        [
            {"posting_id": posting_id, "account_id": account_id, "posted_on": posting.posted_on,
             "amount": amount}
            for posting_id, posting in zip(posting_ids, postings, strict=True)
            for account_id, amount in posting.legs
        ],
    )  # fmt: skip
    dates = snapshots.snapshot_dates_from(
        session, actor.programme_id, min(p.posted_on for p in postings)
    )
    for posting in postings if dates else ():
        snapshots.adjust_for_posting(
            session, actor.programme_id, posting.posted_on, list(posting.legs), dates
        )
    rows = [
        audit_row(
            actor,
            "post",
            "postings",
            posting_id,
            after={
                "id": posting_id,
                "programme_id": actor.programme_id,
                "kind": posting.kind,
                "posted_on": posting.posted_on.isoformat(),
                "memo": posting.memo,
                "reverses_posting_id": None,
                "created_by": actor.user_id,
                "created_at": created_at.isoformat(),
                "entries": [
                    {"account_id": account_id, "amount": str(amount)}
                    for account_id, amount in posting.legs
                ],
            },
        )  # fmt: skip
        for posting_id, posting in zip(posting_ids, postings, strict=True)
    ]
    if audit is not None:
        audit.extend(rows)
    else:
        write_audit_rows(session, rows)
    return posting_ids


def transfer(actor: Actor, data: TransferIn | dict[str, Any]) -> Posting:
    """Post ``amount`` from one account to another, if the posting kind allows those accounts."""
    actor.require(Permission.LEDGER_POST)
    return post_transfer(actor, data)


def post_transfer(actor: Actor, data: TransferIn | dict[str, Any]) -> Posting:
    """:func:`transfer` for a service that checked its own permission (a tranche release, a
    buyer's payment): the accounts are the programme's, whoever acts."""
    transfer_in = validated(TransferIn, data)
    if transfer_in.from_account_id == transfer_in.to_account_id:
        raise Refused(Message("from and to are the same account"), field="to_account_id")
    source = get_account(actor.widened(), transfer_in.from_account_id)
    target = get_account(actor.widened(), transfer_in.to_account_id)
    from_kinds, to_kinds = POSTING_RULES[transfer_in.kind]
    if source.kind not in from_kinds or target.kind not in to_kinds:
        raise Refused(
            Message(
                "a %(kind)s goes from %(from_kinds)s to %(to_kinds)s, not from %(source)s to "
                "%(target)s",
                kind=transfer_in.kind,
                from_kinds="/".join(sorted(from_kinds)),
                to_kinds="/".join(sorted(to_kinds)),
                source=source.kind,
                target=target.kind,
            ),
            rule=f"{transfer_in.kind} accounts",
        )
    return _post(
        actor,
        transfer_in.kind,
        transfer_in.posted_on,
        transfer_in.memo,
        [(source.id, -transfer_in.amount), (target.id, transfer_in.amount)],
    )


def post_split(
    actor: Actor,
    kind: str,
    from_account_id: int,
    targets: list[tuple[int, Decimal]],
    posted_on: date,
    memo: str,
) -> Posting:
    """One posting from one account to several (a kit's price split between kit sales and
    the agronomist's commission), for a service that checked its own permission; every
    target's kind must be one the posting kind allows, every amount positive."""
    from_kinds, to_kinds = POSTING_RULES[kind]
    source = get_account(actor.widened(), from_account_id)
    if source.kind not in from_kinds:
        raise Refused(
            Message(
                "a %(kind)s goes from %(from_kinds)s, not from %(source)s",
                kind=kind,
                from_kinds="/".join(sorted(from_kinds)),
                source=source.kind,
            ),
            rule=f"{kind} accounts",
        )
    for account_id, amount in targets:
        target = get_account(actor.widened(), account_id)
        if target.kind not in to_kinds or account_id == from_account_id:
            raise Refused(
                Message(
                    "a %(kind)s goes to %(to_kinds)s, not to %(target)s",
                    kind=kind,
                    to_kinds="/".join(sorted(to_kinds)),
                    target=target.kind,
                ),
                rule=f"{kind} accounts",
            )
        if amount <= 0:
            raise Refused(Message("every part of a posting is positive"), rule="balanced posting")
    total = sum((amount for _, amount in targets), ZERO)
    return _post(actor, kind, posted_on, memo, [(from_account_id, -total), *targets])


def reverse(actor: Actor, posting_id: int, posted_on: date, memo: str = "") -> Posting:
    """Correct a posting by posting its opposite; the original stays as it was."""
    actor.require(Permission.LEDGER_POST)
    original = get(actor, Posting, posting_id)
    if original.kind == REVERSAL:
        raise Refused(Message("a reversal is not reversed; post the correct entry instead"))
    if posted_on < original.posted_on:
        raise Refused(
            Message(
                "a reversal cannot be dated before the posting (%(day)s)", day=original.posted_on
            )
        )
    already = actor.session.scalar(
        select(Posting.id).where(Posting.reverses_posting_id == posting_id)
    )
    if already is not None:
        raise Refused(
            Message(
                "posting %(posting)s was reversed by posting %(reversal)s",
                posting=posting_id,
                reversal=already,
            ),
            rule="reverse once",
        )
    legs = [(entry.account_id, -Decimal(entry.amount)) for entry in original.entries]
    return _post(
        actor, REVERSAL, posted_on, memo or f"reverses posting {posting_id}", legs, posting_id
    )


def balance(actor: Actor, account_id: int, at: date | None = None) -> Decimal:
    """The account's balance at the end of ``at`` (all postings when None)."""
    actor.require(Permission.LEDGER_READ)
    get_account(actor, account_id)
    query = select(func.coalesce(func.sum(Entry.amount), ZERO)).where(
        Entry.account_id == account_id
    )
    if at is not None:
        query = query.where(Entry.posted_on <= at)
    return Decimal(actor.session.scalar(query) or 0).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class AccountBalance:
    account_id: int
    name: str
    kind: str
    currency: str
    balance: Decimal


def balances(actor: Actor, at: date | None = None) -> list[AccountBalance]:
    """Every account the actor's scope reaches with its balance at the end of ``at``."""
    actor.require(Permission.LEDGER_READ)
    sums = select(Entry.account_id, func.sum(Entry.amount).label("total"))
    if at is not None:
        month_end = snapshots.month_end_before(at)
        if snapshots.ensure_snapshot(actor.session, actor.programme_id, month_end):
            # the month-end snapshot plus the entries after it
            recent = select(
                Entry.account_id.label("account_id"), Entry.amount.label("amount")
            ).where(Entry.posted_on > month_end, Entry.posted_on <= at)
            carried = select(
                BalanceSnapshot.account_id.label("account_id"),
                BalanceSnapshot.balance.label("amount"),
            ).where(
                BalanceSnapshot.programme_id == actor.programme_id,
                BalanceSnapshot.as_of == month_end,
            )
            parts = union_all(recent, carried).subquery()
            sums = select(parts.c.account_id, func.sum(parts.c.amount).label("total"))
            sums = sums.group_by(parts.c.account_id)
        else:
            sums = sums.where(Entry.posted_on <= at).group_by(Entry.account_id)
    else:
        sums = sums.group_by(Entry.account_id)
    subquery = sums.subquery()
    # Columns, not ORM entities: thousands of accounts load in milliseconds.
    rows = actor.session.execute(
        scoped(
            actor,
            select(
                Account.id, Account.name, Account.kind, Account.currency, subquery.c.total
            ).outerjoin(subquery, subquery.c.account_id == Account.id),
        ).order_by(Account.id)
    )
    zero = Decimal("0.00")
    return [
        AccountBalance(account_id, name, kind, currency, zero if total is None else total)
        for account_id, name, kind, currency, total in rows
    ]


def totals_by_currency(actor: Actor, at: date | None = None) -> dict[str, Decimal]:
    """Sum of all balances per currency: zero in a sound double-entry ledger."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in balances(actor, at):
        totals[row.currency] += row.balance
    return dict(totals)


def postings(actor: Actor, account_id: int | None = None, limit: int = 50, offset: int = 0) -> Page:
    """Postings the actor's scope reaches (of one account if given), newest first, paged."""
    actor.require(Permission.LEDGER_READ)
    query = select(Posting)
    if account_id is not None:
        get_account(actor, account_id)
        query = query.where(
            Posting.id.in_(select(Entry.posting_id).where(Entry.account_id == account_id))
        )
    return paged(actor, query.order_by(Posting.posted_on.desc(), Posting.id.desc()), limit, offset)
