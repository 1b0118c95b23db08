"""Mobile money: the intake endpoints the providers call, and the review queue.

- ``POST /payments/notifications/{provider}``: the generic signed JSON (see
  ``alianza.platform.payments.shapes``); stores the payment (``received``) and answers it and
  whether it was a duplicate.
- ``POST /payments/daraja/{provider}/{token}/confirmation``: Safaricom Daraja's C2B
  confirmation, authenticated by the provider's secret token in the URL; answers
  ``{"ResultCode": 0, "ResultDesc": "Accepted"}``.
- ``GET /payments/parked`` and ``POST /payments/{id}/match`` for payments.review.

The intake endpoints only store (one INSERT and its commit, in one trip to a worker thread,
with no session or user machinery: a provider is authenticated by its signature or token),
so a burst of notifications is answered at the rate the database takes inserts. The
:class:`PaymentPoster` of each worker process (started with the app) then matches or parks
the received payments in batches (``payments.post_received``); a payment stored and not yet
posted is ``received``, and is posted after a restart if the process died in between.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import time
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from alianza.platform.db import Database
from alianza.platform.errors import NotFound, Refused
from alianza.platform.payments import service as payments
from alianza.platform.payments.models import MobilePayment
from alianza.platform.payments.shapes import DARAJA_ACCEPTED, check_signature, from_daraja
from alianza.problems import Message
from alianza.settings import PaymentProvider, Settings
from alianza.web.auth import CurrentActor

router = APIRouter(prefix="/payments", tags=["payments"])
MAX_ID = 2**63 - 1
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
log = logging.getLogger("alianza.web")


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


def _provider(settings: Settings, name: str) -> PaymentProvider:
    provider = settings.payment_providers.get(name)
    if provider is None:
        raise NotFound(Message("no payment provider %(name)s", name=name))
    return provider


class PaymentPoster:
    """Posts the received payments of the providers' programmes, in this worker process: woken
    by the intake after each stored notification (and every ``POLL_SECONDS`` regardless, for
    payments another process stored), it runs ``payments.post_received`` in a worker thread
    until no batch is full. Another process posting the same programme makes it wait a little
    and look again."""

    POLL_SECONDS = 1.0
    BUSY_SECONDS = 0.05
    # woken, wait this long for the notifications arriving meanwhile: one batch of them
    GATHER_SECONDS = 0.02

    def __init__(self, open_database: Any, programmes: list[str]) -> None:
        self.open_database = open_database
        self.programmes = programmes
        self.identities: dict[str, tuple[int, int]] = {}
        self._identities_lock = threading.Lock()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def identity(self, database: Database, programme: str) -> tuple[int, int]:
        """The programme's and the intake user's ids, read once per process."""
        with self._identities_lock:
            known = self.identities.get(programme)
        if known is None:
            with database.session() as session:
                known = payments.intake_identity(session, programme)
            with self._identities_lock:
                self.identities[programme] = known
        return known

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def start(self) -> None:
        if self.programmes and self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def post_once(self, programme: str) -> payments.PostingRun:
        """One batch of ``programme``'s received payments, in its own transaction."""
        database = self.open_database()
        identity = self.identity(database, programme)
        with database.session() as session:
            return payments.post_received(payments.intake_actor_of(session, identity))

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.POLL_SECONDS)
            except TimeoutError:
                pass
            await asyncio.sleep(self.GATHER_SECONDS)
            self._wake.clear()
            for programme in self.programmes:
                try:
                    while True:
                        run = await anyio.to_thread.run_sync(self.post_once, programme)
                        if run.busy:
                            await asyncio.sleep(self.BUSY_SECONDS)
                        elif run.posted < payments.POSTING_BATCH:
                            break
                except asyncio.CancelledError:
                    raise
                except Exception:  # logged; the payments stay received and are tried again
                    log.exception("posting received payments of %s failed", programme)
                    await asyncio.sleep(self.POLL_SECONDS)


def payment_poster(app: FastAPI, settings: Settings) -> PaymentPoster:
    """The app's poster (made once, with the app)."""
    poster: PaymentPoster | None = getattr(app.state, "payment_poster", None)
    if poster is None:
        programmes = sorted({p.programme for p in settings.payment_providers.values()})
        poster = PaymentPoster(app.state.open_database, programmes)
        app.state.payment_poster = poster
    return poster


def _accept(
    request: Request, config: PaymentProvider, fields: dict[str, Any], raw: dict[str, Any]
) -> payments.Receipt:
    """Store one notification, in its own transaction (run in a worker thread)."""
    database: Database = request.app.state.open_database()
    poster = payment_poster(request.app, request.app.state.settings)
    identity = poster.identity(database, config.programme)
    with database.session() as session:
        actor = payments.intake_actor_of(session, identity)
        return payments.accept(actor, fields, config.country, raw=raw)


def _receipt_response(receipt: payments.Receipt) -> Response:
    # serialised here (pydantic's own JSON), not validated again by the response model
    body = ReceiptOut(payment=payment_out(receipt.payment), duplicate=receipt.duplicate)
    return Response(body.model_dump_json(), media_type="application/json")


@router.post("/notifications/{provider}", response_model=ReceiptOut)
async def notification(
    request: Request,
    provider: Annotated[str, Path(max_length=40)],
    x_alianza_timestamp: Annotated[str | None, Header()] = None,
    x_alianza_signature: Annotated[str | None, Header()] = None,
) -> Response:
    """A payment notification in the generic signed shape: stored (``received``) and
    answered; matched or parked moments later (or at once if stored before)."""
    settings: Settings = request.app.state.settings
    config = _provider(settings, provider)
    if not config.secret:
        raise NotFound(Message("provider %(name)s takes no signed notifications", name=provider))
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
        raise Refused(Message("the body is not JSON"), rule="notification shape") from None
    if not isinstance(data, dict) or data.get("provider") != provider:
        raise Refused(
            Message("the body names another provider than %(name)s", name=provider),
            rule="notification shape",
            field="provider",
        )
    # the database work in a worker thread: one slow commit does not stall the event loop
    receipt = await run_in_threadpool(_accept, request, config, data, data)
    if not receipt.duplicate:
        payment_poster(request.app, settings).wake()
    return _receipt_response(receipt)


@router.post("/daraja/{provider}/{token}/confirmation")
async def daraja_confirmation(
    request: Request,
    provider: Annotated[str, Path(max_length=40)],
    token: Annotated[str, Path(max_length=200)],
) -> dict[str, Any]:
    """Safaricom Daraja's C2B confirmation: stored (``received``), posted moments later."""
    settings: Settings = request.app.state.settings
    config = settings.payment_providers.get(provider)
    if (
        config is None
        or not config.url_token
        or not hmac.compare_digest(config.url_token.encode(), token.encode())
    ):
        raise NotFound(Message("no such confirmation URL"))
    try:
        payload = json.loads(await request.body())
    except ValueError:
        raise Refused(Message("the body is not JSON"), rule="notification shape") from None
    fields = from_daraja(provider, config.currency, payload, config.timezone)
    receipt = await run_in_threadpool(_accept, request, config, fields, payload)
    if not receipt.duplicate:
        payment_poster(request.app, settings).wake()
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
