"""The ledger: ``GET /ledger/accounts`` (balances by account, with kind and currency) and
``GET /ledger/accounts/{id}/postings`` (an account's postings, newest first), for ledger.read,
each limited to the accounts the caller's scope holds."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from alianza.platform.ledger import service as ledger
from alianza.platform.ledger.models import Posting
from alianza.web.auth import CurrentActor

router = APIRouter(prefix="/ledger", tags=["ledger"])

Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many items.")]
MAX_ID = 2**63 - 1  # the largest id a database holds (SQLite's and PostgreSQL's BIGINT)
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Skip this many items.")]
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]


class AccountOut(BaseModel):
    id: int
    name: str
    kind: str
    currency: str
    balance: Decimal


class AccountPage(BaseModel):
    items: list[AccountOut]
    total: int


class EntryOut(BaseModel):
    account_id: int
    amount: Decimal


class PostingOut(BaseModel):
    id: int
    kind: str
    posted_on: date
    memo: str
    reverses_posting_id: int | None
    created_at: datetime
    amount: Decimal  # what the posting moved in or out of the account asked about
    entries: list[EntryOut]


class PostingPage(BaseModel):
    items: list[PostingOut]
    total: int


def posting_out(posting: Posting, account_id: int) -> PostingOut:
    legs = [EntryOut(account_id=e.account_id, amount=e.amount) for e in posting.entries]
    return PostingOut(
        id=posting.id,
        kind=posting.kind,
        posted_on=posting.posted_on,
        memo=posting.memo,
        reverses_posting_id=posting.reverses_posting_id,
        created_at=posting.created_at,
        amount=sum((leg.amount for leg in legs if leg.account_id == account_id), Decimal("0.00")),
        entries=legs,
    )


@router.get("/accounts", name="api_ledger_accounts", summary="Balances by account")
def accounts(
    actor: CurrentActor,
    limit: Limit = 50,
    offset: Offset = 0,
    at: Annotated[date | None, Query(description="Balances at the end of this day.")] = None,
) -> AccountPage:
    """The accounts the caller's scope holds, by id, with their balances (all postings, or
    to the end of ``at``)."""
    rows = ledger.balances(actor, at)
    items = [
        AccountOut(
            id=r.account_id, name=r.name, kind=r.kind, currency=r.currency, balance=r.balance
        )
        for r in rows[offset : offset + limit]
    ]
    return AccountPage(items=items, total=len(rows))


@router.get(
    "/accounts/{account_id}/postings", name="api_ledger_postings", summary="An account's postings"
)
def postings(
    actor: CurrentActor, account_id: RecordId, limit: Limit = 50, offset: Offset = 0
) -> PostingPage:
    """The postings that moved money in or out of the account, newest first, with their
    entries; ``amount`` is this account's side (negative: out of it)."""
    page = ledger.postings(actor, account_id, limit, offset)
    return PostingPage(items=[posting_out(p, account_id) for p in page.items], total=page.total)
