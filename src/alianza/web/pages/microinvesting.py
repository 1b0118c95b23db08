"""Micro Investing pages: a district's rollout board (``rollout``, ``rollout_area``), an
agronomist's caseload and visit plan (``caseload``, ``agronomist``), a farmer's growth
(``farmer_growth``, with the upgrade path as a chart) and card (``farmer_card``), and the
payments review queue (``payments_review``, where a person matches a parked payment)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alianza.platform.access import Permission
from alianza.platform.errors import Forbidden, NotFound, Refused
from alianza.platform.fieldrecords.imports import SubmissionImportReport
from alianza.platform.kits import service as kits
from alianza.platform.payments import service as payments
from alianza.platform.registry.cards import farmer_card
from alianza.platform.rollout import service as rollout
from alianza.platform.rollout import team
from alianza.problems import Message, Problem, ProblemError
from alianza.web import i18n
from alianza.web.api.microinvesting import run_submission_import
from alianza.web.auth import CurrentActor
from alianza.web.i18n import N_
from alianza.web.pages.agreements import refusal_problems
from alianza.web.templating import render

router = APIRouter(include_in_schema=False)

PHASES = {
    "setup": N_("Set-up"),
    "launch": N_("Launch"),
    "growth": N_("Growth"),
    "exit": N_("Exit"),
}
PARK_REASONS = {
    "unknown_payer": N_("No sale has this reference and no farmer this phone"),
    "several_farmers": N_("Several farmers share this phone"),
    "no_pending_sale": N_("The farmer has no pending sale of this amount"),
    "sale_not_pending": N_("The sale is paid already or not by mobile money"),
    "amount_mismatch": N_("The amount differs from the sale's"),
    "currency_mismatch": N_("The currency differs from the sale's"),
}
SALE_METHODS = {
    "cash": N_("Cash"),
    "mobile_money": N_("Mobile money"),
    "prepayment": N_("Off-taker prepayment"),
}


def _today(as_of: str | None) -> date:
    try:
        return date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        return date.today()


@router.get("/rollout", response_class=HTMLResponse, name="rollout")
def rollout_page(request: Request, actor: CurrentActor) -> HTMLResponse:
    return render(
        request,
        "microinvesting/rollout.html",
        {
            "areas": rollout.areas(actor),
            "phases": PHASES,
            "mine": team.agronomist_of(actor),
        },
    )


@router.get("/rollout/{area_id}", response_class=HTMLResponse, name="rollout_area")
def area_page(
    request: Request, actor: CurrentActor, area_id: int, as_of: str | None = None
) -> HTMLResponse:
    day = _today(as_of)
    board = rollout.board(actor, area_id, day)
    return render(
        request,
        "microinvesting/area.html",
        {"board": board, "phases": PHASES, "phase_order": list(PHASES), "as_of": day},
    )


@router.get("/caseload", name="caseload")
def own_caseload(request: Request, actor: CurrentActor) -> Response:
    """The signed-in agronomist's caseload; others pick an agronomist from the rollout board."""
    mine = team.agronomist_of(actor)
    if mine is None:
        actor.require(Permission.ROLLOUT_READ)
        raise NotFound(
            Message("you are not an agronomist: open one from a district's rollout board")
        )
    return RedirectResponse(
        request.app.url_path_for("agronomist", agronomist_id=mine.id), status_code=303
    )


@router.get("/agronomists/{agronomist_id}", response_class=HTMLResponse, name="agronomist")
def agronomist_page(
    request: Request, actor: CurrentActor, agronomist_id: int, as_of: str | None = None
) -> HTMLResponse:
    day = _today(as_of)
    return render(
        request,
        "microinvesting/caseload.html",
        {"caseload": team.caseload(actor, agronomist_id, day), "as_of": day},
    )


def growth_chart(growth: kits.Growth) -> dict[str, object]:
    """Cumulative purchases and produce income by date, for the chart macro."""
    days = sorted({d for d, _ in growth.cumulative} | {d for d, _ in growth.income})
    spent = dict(growth.cumulative)
    earned = dict(growth.income)
    running_spent, running_earned = 0.0, 0.0
    spent_series, earned_series = [], []
    for day in days:
        running_spent = float(spent.get(day, running_spent))
        running_earned = float(earned.get(day, running_earned))
        spent_series.append(round(running_spent, 2))
        earned_series.append(round(running_earned, 2))
    return {
        "type": "line",
        "labels": [d.isoformat() for d in days],
        "datasets": [
            {"label": i18n.N_("Kit purchases (cumulative)"), "data": spent_series},
            {"label": i18n.N_("Produce sales (cumulative)"), "data": earned_series},
        ],
        "format": "money",
        "currency": growth.currency or "",
    }


def ladder_chart(growth: kits.Growth) -> dict[str, object]:
    """The upgrade path: each kit of the ladder in prerequisite order and the units owned."""
    return {
        "type": "bar",
        "labels": [growth.kit_name(k) for k in growth.path],  # the catalogue's names
        "datasets": [{"label": "", "data": [growth.owned.get(k, 0) for k in growth.path]}],
        "format": "number",
    }


@router.get("/farmers/{farmer_id}/growth", response_class=HTMLResponse, name="farmer_growth")
def growth_page(
    request: Request, actor: CurrentActor, farmer_id: int, as_of: str | None = None
) -> HTMLResponse:
    locale = i18n.locale_of(request)
    day = _today(as_of)
    growth = kits.growth(actor, farmer_id, day)
    chart = growth_chart(growth)
    for dataset in chart["datasets"]:  # type: ignore[attr-defined]
        dataset["label"] = i18n.gettext(locale, dataset["label"])
    ladder = ladder_chart(growth)
    ladder["datasets"][0]["label"] = i18n.gettext(locale, N_("Units owned"))  # type: ignore[index]
    return render(
        request,
        "microinvesting/growth.html",
        {
            "growth": growth,
            "chart": chart,
            "ladder": ladder,
            "as_of": day,
            "methods": SALE_METHODS,
        },
    )


@router.get("/farmers/{farmer_id}/card.{kind}", name="farmer_card")
def card(actor: CurrentActor, farmer_id: int, kind: str) -> Response:
    if kind not in ("pdf", "png"):
        raise NotFound(Message("no card as %(kind)s", kind=kind))
    found = farmer_card(actor, farmer_id)
    body = found.pdf() if kind == "pdf" else found.png()
    return Response(
        body,
        media_type="application/pdf" if kind == "pdf" else "image/png",
        headers={"Content-Disposition": f'inline; filename="farmer-{farmer_id}.{kind}"'},
    )


def _review(
    request: Request, actor: CurrentActor, problems: list[object] | None = None, status: int = 200
) -> HTMLResponse:
    page = payments.parked(actor, limit=100)
    return render(
        request,
        "microinvesting/review.html",
        {
            "parked": [(p, payments.candidates(actor, p, limit=5)) for p in page.items],
            "total": page.total,
            "reasons": PARK_REASONS,
            "problems": problems or [],
            "matched": request.query_params.get("matched"),
        },
        status_code=status,
    )


@router.get("/payments/review", response_class=HTMLResponse, name="payments_review")
def review_page(request: Request, actor: CurrentActor) -> HTMLResponse:
    return _review(request, actor)


@router.post("/payments/{payment_id}/match", name="payment_match")
def match_payment(
    request: Request,
    actor: CurrentActor,
    payment_id: int,
    sale_id: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    actor.require(Permission.PAYMENTS_REVIEW)
    locale = i18n.locale_of(request)
    try:
        payments.match(actor, payment_id, int(sale_id) if sale_id.isdigit() else 0, note)
    except (Forbidden, NotFound):
        raise
    except Refused as refused:
        return _review(request, actor, refusal_problems(refused, locale), 409)
    return RedirectResponse(
        f"{request.app.url_path_for('payments_review')}?matched={payment_id}", status_code=303
    )


FIELD_FORMS = {
    "visit": N_("Visits"),
    "inspection": N_("Site inspections"),
    "harvest": N_("Harvests and produce sales"),
    "kit_sale": N_("Kit sales"),
}
OUTCOME_LABELS = {
    "imported": N_("imported"),
    "skipped-duplicate": N_("already imported"),
    "refused": N_("refused"),
}


def _submissions_page(
    request: Request,
    form: str,
    report: SubmissionImportReport | None = None,
    problems: list[Problem] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "microinvesting/submissions.html",
        {
            "forms": FIELD_FORMS,
            "form": form,
            "report": report,
            "problems": problems or [],
            "outcome_labels": OUTCOME_LABELS,
        },
        status_code=status_code,
    )


@router.get("/field-submissions", response_class=HTMLResponse, name="field_submissions")
def submissions_form(request: Request, actor: CurrentActor) -> HTMLResponse:
    actor.require(Permission.FIELD_RECORD)
    return _submissions_page(request, "visit")


@router.post("/field-submissions", response_class=HTMLResponse, name="field_submissions_post")
def submissions_upload(
    request: Request,
    actor: CurrentActor,
    form: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
    programme_data: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    actor.require(Permission.FIELD_RECORD)
    chosen = form if form in FIELD_FORMS else "visit"
    try:
        report = run_submission_import(actor, chosen, file, programme_data)
    except ProblemError as error:
        return _submissions_page(request, chosen, problems=error.problems, status_code=422)
    except Refused as refusal:
        return _submissions_page(request, chosen, problems=refusal.problems, status_code=422)
    return _submissions_page(request, chosen, report, status_code=200 if report.written else 422)
