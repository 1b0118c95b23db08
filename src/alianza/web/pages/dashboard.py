"""The programme dashboard: the cycle's funnel, grants committed vs disbursed, PO sales by
quarter, inclusion shares, balances and alerts, as charts (each with its data table and CSV).

``GET /dashboard`` (``portfolio.read``), ``?on=YYYY-MM-DD`` for the figures of another day.
The figures are those of ``GET /api/v1/dashboard`` (:func:`alianza.web.api.dashboard.
dashboard_figures`), within the signed-in actor's scope.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from alianza.web import i18n
from alianza.web.api.dashboard import DashboardOut, cached_figures
from alianza.web.auth import CurrentActor
from alianza.web.i18n import N_
from alianza.web.labels import STATES
from alianza.web.templating import render

router = APIRouter(include_in_schema=False)

ALERT_KINDS = {
    "side_selling": N_("Side-selling risk"),
    "buyer_default": N_("Buyer default risk"),
}
ACCOUNT_KINDS = {
    "funder": N_("Funders"),
    "project_funds": N_("Project funds"),
    "po": N_("Producer organizations"),
    "po_revolving_fund": N_("Revolving funds"),
    "po_in_kind": N_("In-kind contributions"),
    "member": N_("Members"),
    "buyer": N_("Buyers"),
    "financial_institution": N_("Financial institutions"),
}


def _t(locale: str, message: str, **variables: Any) -> str:
    return i18n.gettext(locale, message, **variables)


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def funnel_chart(figures: DashboardOut, locale: str) -> dict[str, Any]:
    """Subprojects in each state of the cycle, in the cycle's order."""
    return {
        "type": "bar",
        "format": "number",
        "label_title": _t(locale, N_("State")),
        "labels": [_t(locale, STATES[row.state]) for row in figures.subprojects_by_state],
        "datasets": [
            {
                "label": _t(locale, N_("Subprojects")),
                "data": [row.count for row in figures.subprojects_by_state],
            }
        ],
    }


def grants_chart(figures: DashboardOut, locale: str) -> dict[str, Any] | None:
    """Committed and disbursed by call, in the reporting currency (calls differ in currency)."""
    rows = figures.grants_by_call
    if not rows:
        return None
    return {
        "type": "bar",
        "format": "money",
        "currency": figures.reporting_currency,
        "label_title": _t(locale, N_("Call")),
        "labels": [row.call for row in rows],
        "datasets": [
            {
                "label": _t(locale, N_("Committed")),
                "data": [_float(row.committed_reporting) for row in rows],
            },
            {
                "label": _t(locale, N_("Disbursed")),
                "data": [_float(row.disbursed_reporting) for row in rows],
            },
        ],
    }


def sales_charts(figures: DashboardOut, locale: str) -> list[dict[str, Any]]:
    """PO sales by quarter, one chart per currency (amounts of two currencies never add up),
    stacked by PO: the five POs that sold most, the others together."""
    by_currency: dict[str, list[Any]] = defaultdict(list)
    for row in figures.sales_by_po_by_quarter:
        by_currency[row.currency].append(row)
    charts = []
    for currency, rows in sorted(by_currency.items()):
        quarters = sorted({(row.year, row.quarter) for row in rows})
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows:
            totals[row.organization] += row.amount
        top = sorted(totals, key=lambda name: (-totals[name], name))[:5]
        others = _t(locale, N_("Other POs"))
        series: dict[str, dict[tuple[int, int], Decimal]] = {
            name: defaultdict(Decimal) for name in [*top, others]
        }
        for row in rows:
            name = row.organization if row.organization in top else others
            series[name][(row.year, row.quarter)] += row.amount
        charts.append(
            {
                "currency": currency,
                "spec": {
                    "type": "stacked",
                    "format": "money",
                    "currency": currency,
                    "label_title": _t(locale, N_("Quarter")),
                    "labels": [
                        _t(locale, N_("%(year)s-Q%(quarter)s"), quarter=q, year=y)
                        for y, q in quarters
                    ],
                    "datasets": [
                        {"label": name, "data": [float(values[k]) for k in quarters]}
                        for name, values in series.items()
                        if values
                    ],
                },
            }
        )
    return charts


def inclusion_chart(figures: DashboardOut, locale: str) -> dict[str, Any] | None:
    rows = figures.inclusion_by_call
    if not rows:
        return None
    return {
        "type": "bar",
        "format": "percent",
        "label_title": _t(locale, N_("Call")),
        "labels": [row.call for row in rows],
        "datasets": [
            {"label": _t(locale, N_("Women")), "data": [float(r.women_share) for r in rows]},
            {"label": _t(locale, N_("Youth")), "data": [float(r.youth_share) for r in rows]},
            {
                "label": _t(locale, N_("Minorities")),
                "data": [float(r.minority_share) for r in rows],
            },
        ],
    }


def alerts_chart(figures: DashboardOut, locale: str) -> dict[str, Any] | None:
    counts = {kind: 0 for kind in ALERT_KINDS}
    for alert in figures.alerts:
        counts[alert.kind] = counts.get(alert.kind, 0) + 1
    labels = [_t(locale, ALERT_KINDS.get(kind, kind)) for kind in counts]
    values = list(counts.values())
    labels.append(_t(locale, N_("Delayed tranches")))
    values.append(len(figures.delayed_tranches))
    if not any(values):
        return None
    return {
        "type": "doughnut",
        "format": "number",
        "label_title": _t(locale, N_("Alert")),
        "labels": labels,
        "datasets": [{"label": _t(locale, N_("Alerts")), "data": values}],
    }


def parse_day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@router.get("/dashboard", response_class=HTMLResponse, name="dashboard")
def dashboard_page(
    request: Request,
    actor: CurrentActor,
    on: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    locale = i18n.locale_of(request)
    day = parse_day(on)
    figures = cached_figures(request, actor, day or date.today())
    context = {
        "figures": figures,
        "bad_date": on is not None and on != "" and day is None,
        "funnel_chart": funnel_chart(figures, locale),
        "grants_chart": grants_chart(figures, locale),
        "sales_charts": sales_charts(figures, locale),
        "inclusion_chart": inclusion_chart(figures, locale),
        "alerts_chart": alerts_chart(figures, locale),
        "alert_kinds": ALERT_KINDS,
        "account_kinds": ACCOUNT_KINDS,
        "subprojects_total": sum(row.count for row in figures.subprojects_by_state),
        "members_total": sum(row.members for row in figures.inclusion_by_call),
    }
    return render(request, "dashboard/dashboard.html", context)
