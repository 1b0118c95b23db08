"""Mobile money: the intake endpoints the providers call, and the review queue.

- ``POST /payments/notifications/{provider}``: the generic signed JSON (see
  ``alianza.platform.payments.shapes``); answers the stored payment and whether it was a
  duplicate.
- ``POST /payments/daraja/{provider}/{token}/confirmation``: Safaricom Daraja's C2B
  confirmation, authenticated by the provider's secret token in the URL; answers
  ``{"ResultCode": 0, "ResultDesc": "Accepted"}``.
- ``GET /payments/parked`` and ``POST /payments/{id}/match`` for payments.review.
"""

from __future__ import annotations

import hmac
import json
import time
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from alianza.platform.errors import NotFound, Refused
from alianza.platform.payments import service as payments
from alianza.platform.payments.models import MobilePayment
from alianza.platform.payments.shapes import DARAJA_ACCEPTED, check_signature, from_daraja
from alianza.settings import PaymentProvider
from alianza.web.auth import CurrentActor
from alianza.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/payments", tags=["payments"])
MAX_ID = 2**63 - 1
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


class PaymentOut(BaseModel):
    id: int
    provider: str
    transaction_id: str
    phone: str | None
    amount: Decimal
    currency: str
    reference: str | None
    paid_at: datetime
    status: str
    park_reason: str | None
    sale_id: int | None
    farmer_id: int | None


class ReceiptOut(BaseModel):
    payment: PaymentOut
    duplicate: bool


class PaymentPage(BaseModel):
    items: list[PaymentOut]
    total: int


class MatchIn(BaseModel):
    sale_id: int = Field(ge=1, le=MAX_ID)
    note: str = Field(default="", max_length=500)


def payment_out(payment: MobilePayment) -> PaymentOut:
    return PaymentOut.model_validate(payment, from_attributes=True)


def _provider(settings: SettingsDep, name: str) -> PaymentProvider:
    provider = settings.payment_providers.get(name)
    if provider is None:
        raise NotFound(f"no payment provider {name}")
    return provider


@router.post("/notifications/{provider}", response_model=ReceiptOut)
async def notification(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    provider: Annotated[str, Path(max_length=40)],
    x_alianza_timestamp: Annotated[str | None, Header()] = None,
    x_alianza_signature: Annotated[str | None, Header()] = None,
) -> ReceiptOut:
    """A payment notification in the generic signed shape."""
    config = _provider(settings, provider)
    if not config.secret:
        raise NotFound(f"provider {provider} takes no signed notifications")
    body = await request.body()
    check_signature(
        config.secret,
        x_alianza_timestamp,
        x_alianza_signature,
        body,
        time.time(),
        config.timestamp_window_seconds,
    )
    try:
        data = json.loads(body)
    except ValueError:
        raise Refused("the body is not JSON", rule="notification shape") from None
    if not isinstance(data, dict) or data.get("provider") != provider:
        raise Refused(
            f"the body names another provider than {provider}",
            rule="notification shape",
            field="provider",
        )
    # the database work in a worker thread: one slow commit does not stall the event loop
    receipt = await run_in_threadpool(
        lambda: payments.receive(
            payments.intake_actor(session, config.programme), data, config.country, raw=data
        )
    )
    return ReceiptOut(payment=payment_out(receipt.payment), duplicate=receipt.duplicate)


@router.post("/daraja/{provider}/{token}/confirmation")
async def daraja_confirmation(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    provider: Annotated[str, Path(max_length=40)],
    token: Annotated[str, Path(max_length=200)],
) -> dict[str, Any]:
    """Safaricom Daraja's C2B confirmation."""
    config = settings.payment_providers.get(provider)
    if (
        config is None
        or not config.url_token
        or not hmac.compare_digest(config.url_token.encode(), token.encode())
    ):
        raise NotFound("no such confirmation URL")
    try:
        payload = json.loads(await request.body())
    except ValueError:
        raise Refused("the body is not JSON", rule="notification shape") from None
    fields = from_daraja(provider, config.currency, payload, config.timezone)
    await run_in_threadpool(
        lambda: payments.receive(
            payments.intake_actor(session, config.programme), fields, config.country, raw=payload
        )
    )
    return DARAJA_ACCEPTED


@router.get("/parked", response_model=PaymentPage)
def parked(actor: CurrentActor, limit: Limit = 50, offset: Offset = 0) -> PaymentPage:
    """The review queue: parked payments, oldest first."""
    page = payments.parked(actor, limit, offset)
    return PaymentPage(items=[payment_out(p) for p in page.items], total=page.total)


@router.post("/{payment_id}/match", response_model=PaymentOut)
def match(
    actor: CurrentActor, payment_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: MatchIn
) -> PaymentOut:
    """Match a parked payment to the pending sale it pays (audited)."""
    return payment_out(payments.match(actor, payment_id, body.sale_id, body.note))
