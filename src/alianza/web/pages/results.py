"""The results framework page: ``GET /results`` (``portfolio.read``), the figures of
``GET /api/v1/results`` as a table, one row per indicator and period."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from alianza.appraisal.translations import Texts
from alianza.platform.results.render import formatted, period_target, unit_text
from alianza.platform.results.schemas import GROUP_LABELS, GROUPS
from alianza.platform.results.service import build_report
from alianza.web import i18n
from alianza.web.auth import CurrentActor
from alianza.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/results", response_class=HTMLResponse, name="results")
def results_page(request: Request, actor: CurrentActor) -> HTMLResponse:
    texts = Texts(i18n.locale_of(request))
    report = build_report(actor)
    rows = []
    for indicator in report.indicators:
        for i, value in enumerate(indicator.values):
            rows.append(
                {
                    "first": i == 0,
                    "span": len(indicator.values),
                    "name": texts(indicator.name),
                    "definition": texts(indicator.definition),
                    "unit": unit_text(indicator, texts),
                    "period": value.period,
                    "baseline": formatted(indicator.baseline, indicator, texts),
                    "target": formatted(period_target(indicator, i), indicator, texts),
                    "value": formatted(value.value, indicator, texts),
                    "groups": [
                        formatted(value.by_group[g], indicator, texts)
                        if g in value.by_group
                        else ""
                        for g in GROUPS
                    ],
                }
            )
    context = {
        "report": report,
        "rows": rows,
        "group_labels": [texts(GROUP_LABELS[g]) for g in GROUPS],
    }
    return render(request, "results/results.html", context)
