"""``GET /api/v1/dashboard``: the programme dashboard's figures as JSON (the page draws them).

Every figure comes from a platform service called with the actor, so a field officer's figures
are their districts' and a lender's their subprojects': the services are scoped.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from alianza.platform.access import Actor, Permission
from alianza.platform.agreements import service as agreements
from alianza.platform.errors import NotFound, Refused
from alianza.platform.portfolio import service as portfolio
from alianza.platform.programmes.service import to_reporting_currency
from alianza.platform.subprojects import service as subprojects
from alianza.problems import Words
from alianza.web import i18n
from alianza.web.auth import CurrentActor

router = APIRouter(prefix="/dashboard", tags=["dashboard"])

SALES_YEARS = 3  # the sales chart covers the three years up to the dashboard's date


class StateCount(BaseModel):
    state: str
    count: int


class CallGrantsOut(BaseModel):
    call_id: int
    call: str
    currency: str
    committed: Decimal
    disbursed: Decimal
    committed_reporting: Decimal | None  # None: no exchange rate on or before the date
    disbursed_reporting: Decimal | None


class QuarterSalesOut(BaseModel):
    organization_id: int
    organization: str
    year: int
    quarter: int
    currency: str
    quantity: Decimal
    amount: Decimal


class InclusionOut(BaseModel):
    call_id: int
    call: str
    members: int
    women_share: Decimal
    youth_share: Decimal
    minority_share: Decimal


class BalanceOut(BaseModel):
    kind: str
    currency: str
    amount: Decimal
    reporting_amount: Decimal | None  # None: no exchange rate on or before the date


class AlertOut(BaseModel):
    kind: str  # side_selling | buyer_default
    agreement_id: int
    # the service's Message as it is, so that the cached figures are said in each reader's
    # language: the page's template and the API's answer say it
    message: Words


class DelayedTrancheOut(BaseModel):
    subproject_id: int
    subproject: str
    number: int
    currency: str
    amount: Decimal
    signed_on: date
    days_late: int


class DashboardOut(BaseModel):
    """The figures of the programme dashboard as of ``on``, within the actor's scope."""

    on: date
    computed_at: datetime  # when these figures were read (they are kept a few seconds)
    reporting_currency: str
    sales_from: date
    subprojects_by_state: list[StateCount]
    grants_by_call: list[CallGrantsOut]
    sales_by_po_by_quarter: list[QuarterSalesOut]
    inclusion_by_call: list[InclusionOut]
    balances_by_kind: list[BalanceOut]
    alerts: list[AlertOut]
    delayed_tranches: list[DelayedTrancheOut]
    tranche_expected_days: int


def _reporting(actor: Actor, amount: Decimal, currency: str, on: date) -> Decimal | None:
    try:
        return to_reporting_currency(actor, amount, currency, on)
    except (Refused, NotFound):  # no rate yet for that currency: shown in its own currency only
        return None


def dashboard_figures(actor: Actor, on: date) -> DashboardOut:
    """Every figure of the dashboard, each from its scoped service."""
    actor.require(Permission.PORTFOLIO_READ)
    sales_from = date(on.year - SALES_YEARS, on.month, 1)
    grants = [
        CallGrantsOut(
            call_id=row.call_id,
            call=row.call,
            currency=row.currency,
            committed=row.committed,
            disbursed=row.disbursed,
            committed_reporting=_reporting(actor, row.committed, row.currency, on),
            disbursed_reporting=_reporting(actor, row.disbursed, row.currency, on),
        )
        for row in portfolio.grants_by_call(actor, on)
    ]
    return DashboardOut(
        on=on,
        computed_at=datetime.now(UTC),
        reporting_currency=actor.programme().reporting_currency,
        sales_from=sales_from,
        subprojects_by_state=[
            StateCount(state=state.value, count=count)
            for state, count in subprojects.count_by_state(actor).items()
        ],
        grants_by_call=grants,
        sales_by_po_by_quarter=[
            QuarterSalesOut.model_validate(row, from_attributes=True)
            for row in portfolio.sales_by_po_by_quarter(actor, sales_from, on)
        ],
        inclusion_by_call=[
            InclusionOut.model_validate(row, from_attributes=True)
            for row in portfolio.inclusion_by_call(actor, on)
        ],
        balances_by_kind=[
            BalanceOut.model_validate(row, from_attributes=True)
            for row in portfolio.balances_by_kind_in_reporting_currency(actor, on)
        ],
        alerts=[
            AlertOut.model_validate(row, from_attributes=True)
            for row in agreements.alerts(actor, on)
        ],
        delayed_tranches=[
            DelayedTrancheOut.model_validate(row, from_attributes=True)
            for row in portfolio.delayed_tranches(actor, on)
        ],
        tranche_expected_days=portfolio.TRANCHE_EXPECTED_DAYS,
    )


class FiguresCache:
    """The dashboard's figures, kept ``seconds`` for each programme, role, scope and date.

    The dashboard aggregates the whole programme (every member of every PO, every delivery):
    read by everyone who opens the home page, it would cost more than all other requests
    together. Its figures are shown with the moment they were read; 0 seconds turns the cache
    off. One computation per key at a time: the others wait for it rather than repeat it.
    """

    def __init__(
        self, seconds: float, size: int = 512, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, DashboardOut]] = OrderedDict()
        self._computing: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def _fresh(self, key: Hashable) -> DashboardOut | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= self.clock():
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def figures(self, actor: Actor, on: date) -> DashboardOut:
        actor.require(Permission.PORTFOLIO_READ)
        if self.seconds <= 0:
            return dashboard_figures(actor, on)
        # per user: a scope such as "assigned subprojects" is read from the user at query time
        key = (actor.programme_id, actor.user_id, actor.role, actor.scope, on)
        if (found := self._fresh(key)) is not None:
            return found
        with self._lock:
            computing = self._computing.setdefault(key, threading.Lock())
        with computing:
            if (found := self._fresh(key)) is not None:
                return found
            figures = dashboard_figures(actor, on)
            with self._lock:
                self._entries[key] = (self.clock() + self.seconds, figures)
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
                self._computing.pop(key, None)
        return figures


def cached_figures(request: Request, actor: Actor, on: date) -> DashboardOut:
    """The dashboard's figures through the app's :class:`FiguresCache`."""
    cache: FiguresCache = request.app.state.dashboard_cache
    return cache.figures(actor, on)


@router.get("", name="api_dashboard", summary="The programme dashboard's figures")
def dashboard(
    request: Request,
    actor: CurrentActor,
    on: Annotated[
        date | None, Query(description="The date of the figures (default: today).")
    ] = None,
) -> DashboardOut:
    """Subprojects by state (the funnel), grants committed vs disbursed by call (in each call's
    currency and in the programme's reporting currency), PO sales by quarter over the three
    years up to ``on``, shares of women, youth and minorities by call, balances by account kind,
    and alerts: side-selling and buyer default (agreements), and tranches released late
    (scheduled but not released ``number × tranche_expected_days`` days after the agreement).
    Needs ``portfolio.read``; every figure is limited to the caller's scope. The figures are
    kept ``ALIANZA_DASHBOARD_SECONDS`` (default 30) per scope: ``computed_at`` says when they
    were read."""
    figures = cached_figures(request, actor, on or date.today())
    locale = i18n.locale_of(request)
    alerts = [
        alert.model_copy(update={"message": i18n.say(locale, alert.message)})
        for alert in figures.alerts
    ]
    return figures.model_copy(update={"alerts": alerts})
