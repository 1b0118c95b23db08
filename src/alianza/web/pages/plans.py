"""The plan appraisal pages: upload a plan, read its appraisal, download it as XLSX.

``GET /plans/appraise`` is the upload form; ``POST /plans/appraise`` shows the appraisal
(indicators, cash flows, sensitivity, charts), or every problem of a bad plan with its field
path (status 422); ``POST /plans/appraise/xlsx`` gives the workbook of the same appraisal
(the page carries the plan's text in a hidden field: nothing is stored on the server).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from alianza.appraisal import Appraisal, PlanError
from alianza.appraisal.report import UNNAMED_DONOR, IrrDetail, ProfileReport, ProjectReport
from alianza.web import i18n
from alianza.web.appraisal import (
    MAX_PLAN_BYTES,
    XLSX,
    appraise,
    parse_plan_text,
    read_plan_text,
    xlsx_bytes,
    xlsx_filename,
)
from alianza.web.auth import CurrentUser
from alianza.web.errors import translate_problem
from alianza.web.i18n import N_
from alianza.web.templating import render

router = APIRouter(prefix="/plans", include_in_schema=False)

# Labels of the report's figures (translated where they are shown).
CASH_FLOW_COLUMNS = {
    "year": N_("Year"),
    "sales": N_("Sales"),
    "own_use": N_("Own use"),
    "salvage": N_("Salvage"),
    "residual": N_("Residual value"),
    "operating": N_("Operating costs"),
    "general": N_("General costs"),
    "maintenance": N_("Maintenance"),
    "replacements": N_("Replacements"),
    "investment": N_("Investment"),
    "net": N_("Net flow"),
}
DRIVERS = {
    "price": N_("Price"),
    "yield": N_("Yield"),
    "cost": N_("Costs"),
    "investment": N_("Investment"),
}


def parse_discount_rate(text: str, locale: str) -> float | None:
    """A rate typed in percent ('6', '6.5' or '6,5') as a fraction (0.065); blank: None."""
    text = text.strip().removesuffix("%").strip()
    if not text:
        return None
    try:
        return float(text.replace(",", ".")) / 100
    except ValueError:
        raise PlanError(
            "form",
            [
                (
                    "discount_rate",
                    i18n.gettext(
                        locale, N_("Give the discount rate as a number: 6 means 6 percent.")
                    ),
                )
            ],
        ) from None


def irr_figure(detail: IrrDetail, value: float | None, locale: str) -> tuple[str, Any]:
    """An IRR as the page shows it: a rate when it is unique, else why there is none."""
    if detail.status == "unique":
        return "percent", value
    if detail.status == "multiple":
        return "text", i18n.gettext(locale, N_("several rates make the NPV zero"))
    return "text", i18n.gettext(locale, N_("none: no rate makes the NPV zero"))


def project_figures(report: ProjectReport, locale: str) -> list[tuple[str, str, Any]]:
    """The key figures of a project: (label, kind, value), kind saying how to format it."""
    investment, wc, people = report.investment, report.working_capital, report.beneficiaries
    financing = report.financing
    irr_kind, irr_value = irr_figure(report.irr_detail, report.irr, locale)
    applicant_kind, applicant_value = irr_figure(
        report.applicant_irr_detail, report.applicant_irr, locale
    )
    not_paid_back = i18n.gettext(locale, N_("not within the horizon"))

    def years(value: float | None) -> tuple[str, Any]:
        return ("decimal", value) if value is not None else ("text", not_paid_back)

    return [
        (N_("Net present value (NPV)"), "money", report.npv),
        (N_("Internal rate of return (IRR)"), irr_kind, irr_value),
        (N_("Benefit/cost ratio"), "decimal", report.benefit_cost_ratio),
        (N_("Payback (years)"), *years(report.payback_years)),
        (N_("Applicant's NPV"), "money", report.applicant_npv),
        (N_("Applicant's IRR"), applicant_kind, applicant_value),
        (N_("Applicant's payback (years)"), *years(report.applicant_payback_years)),
        (N_("Investment"), "money", investment.total),
        (N_("Own contribution"), "money", investment.own_contribution),
        (N_("Grants"), "money", financing.grants),
        (N_("Credit"), "money", financing.credit),
        (N_("Not financed"), "money", financing.unfinanced),
        (N_("Annual net income at full production"), "money", report.annual_net_income),
        (N_("Residual value"), "money", report.residual_value),
        (N_("Working capital"), "money", wc.amount),
        (N_("Working capital: months to cover"), "number", wc.period_months),
        (N_("Working capital to finance"), "money", wc.financed),
        (N_("Interest on working capital"), "money", wc.interest),
        (
            N_("Minimum debt-service coverage ratio"),
            "decimal",
            report.debt_service.minimum_dscr,
        ),
        (N_("Employment (person-years)"), "decimal", report.employment_person_years),
        (N_("Direct beneficiaries"), "number", people.direct),
        (N_("Indirect beneficiaries"), "number", people.indirect),
        (N_("Investment per beneficiary"), "money", report.investment_per_beneficiary),
        (N_("Annual cost per beneficiary"), "money", report.annual_cost_per_beneficiary),
    ]


def profile_figures(report: ProfileReport) -> list[tuple[str, str, Any]]:
    """The key figures of a profile's typical year."""
    recover = report.years_to_recover
    return [
        (N_("Investment"), "money", report.investment),
        (N_("Own contribution"), "money", report.own_contribution),
        (N_("Grants"), "money", report.grants),
        (N_("Income"), "money", report.income),
        (N_("Operating costs"), "money", report.operating_costs),
        (N_("General costs"), "money", report.general_costs),
        (N_("Maintenance"), "money", report.maintenance),
        (N_("Annual reserve for replacements"), "money", report.annual_reserve),
        (N_("Net income after the reserve"), "money", report.net_after_reserve),
        (
            N_("Years to recover the investment"),
            "decimal" if recover is not None else "text",
            recover if recover is not None else N_("never"),
        ),
        (N_("Employment (person-years)"), "decimal", report.employment_person_years),
        (N_("Direct beneficiaries"), "number", report.beneficiaries.direct),
        (N_("Investment per beneficiary"), "money", report.investment_per_beneficiary),
        (N_("Annual cost per beneficiary"), "money", report.annual_cost_per_beneficiary),
    ]


def _t(locale: str, message: str) -> str:
    return i18n.gettext(locale, message)


def cash_flow_chart(report: ProjectReport, locale: str) -> dict[str, Any]:
    """Benefits up, costs and investment down, a year a bar; the net flow as a line."""
    rows = report.cash_flow_table
    benefits = [round(r.sales + r.own_use + r.salvage + r.residual, 2) for r in rows]
    costs = [-round(r.operating + r.general + r.maintenance, 2) for r in rows]
    investment = [-round(r.investment + r.replacements, 2) for r in rows]
    return {
        "type": "stacked",
        "format": "money",
        "currency": report.currency,
        "label_title": _t(locale, N_("Year")),
        "labels": [str(r.year) for r in rows],
        "datasets": [
            {"label": _t(locale, N_("Benefits")), "data": benefits},
            {"label": _t(locale, N_("Costs")), "data": costs},
            {"label": _t(locale, N_("Investment and replacements")), "data": investment},
            {"label": _t(locale, N_("Net flow")), "data": [r.net for r in rows], "type": "line"},
        ],
    }


def sensitivity_view(report: ProjectReport, locale: str) -> dict[str, Any]:
    """The sensitivity table (NPV for each driver and change, and the switching value) and
    its chart (NPV against the change, a line per driver)."""
    changes, grid = report.sensitivity_grid()
    rows = [
        {
            "driver": DRIVERS.get(driver, driver),
            "npv": [row.npv for row in driver_rows],
            "switching": report.switching_values[driver],
        }
        for driver, driver_rows in grid.items()
    ]
    npv = {(driver, row.change): row.npv for driver, rs in grid.items() for row in rs}
    # The chart's x axis: the changes around the plan as planned (0%).
    axis = [*[c for c in changes if c < 0], 0.0, *[c for c in changes if c > 0]]
    chart = {
        "type": "line",
        "format": "money",
        "currency": report.currency,
        "label_title": _t(locale, N_("Change")),
        "labels": [_percent_label(c, locale) for c in axis],
        "datasets": [
            {
                "label": _t(locale, DRIVERS.get(driver, driver)),
                "data": [report.npv if c == 0.0 else npv[(driver, c)] for c in axis],
            }
            for driver in grid
        ],
    }
    return {"changes": changes, "rows": rows, "chart": chart}


def _percent_label(change: float, locale: str) -> str:
    from babel.numbers import format_percent

    sign = "+" if change > 0 else ""
    return sign + format_percent(change, format="#,##0%", locale=locale)


def financing_chart(report: ProjectReport, locale: str) -> dict[str, Any] | None:
    """Who pays for the investment and the working capital: each donor's grant, the own
    contribution, the credit, and what has no source."""
    f = report.financing
    parts = [
        (_t(locale, N_("Grant")) if donor == UNNAMED_DONOR else donor, amount)
        for donor, amount in f.grants_by_donor.items()
    ]
    parts += [
        (_t(locale, N_("Own contribution")), f.counterpart),
        (_t(locale, N_("Credit")), f.credit),
        (_t(locale, N_("Not financed")), f.unfinanced),
    ]
    parts = [(label, value) for label, value in parts if value > 0]
    if not parts:
        return None
    return {
        "type": "doughnut",
        "format": "money",
        "currency": report.currency,
        "label_title": _t(locale, N_("Source")),
        "labels": [label for label, _ in parts],
        "datasets": [{"label": _t(locale, N_("Amount")), "data": [value for _, value in parts]}],
    }


def profile_chart(report: ProfileReport, locale: str) -> dict[str, Any]:
    items = [
        (N_("Income"), report.income),
        (N_("Operating costs"), report.operating_costs),
        (N_("General costs"), report.general_costs),
        (N_("Maintenance"), report.maintenance),
        (N_("Annual reserve for replacements"), report.annual_reserve),
    ]
    return {
        "type": "bar",
        "format": "money",
        "currency": report.currency,
        "label_title": "",
        "labels": [_t(locale, label) for label, _ in items],
        "datasets": [{"label": _t(locale, N_("Amount")), "data": [value for _, value in items]}],
    }


def report_context(report: ProjectReport | ProfileReport, locale: str) -> dict[str, Any]:
    """What the appraisal's templates show of a report (the upload page and a stored plan
    version's page alike)."""
    context: dict[str, Any] = {"report": report, "currency": report.currency}
    if isinstance(report, ProjectReport):
        context.update(
            figures=project_figures(report, locale),
            columns=CASH_FLOW_COLUMNS,
            cash_flow_chart=cash_flow_chart(report, locale),
            sensitivity=sensitivity_view(report, locale),
            financing_chart=financing_chart(report, locale),
        )
    else:
        context.update(figures=profile_figures(report), profile_chart=profile_chart(report, locale))
    return context


def appraisal_context(appraisal: Appraisal, locale: str) -> dict[str, Any]:
    return report_context(appraisal.report(), locale)


@router.get("/appraise", response_class=HTMLResponse, name="plans_appraise_form")
def appraise_form(request: Request, user: CurrentUser) -> HTMLResponse:
    return render(request, "plans/appraise_form.html", {"errors": {}, "discount_rate": ""})


@router.post("/appraise", response_class=HTMLResponse, name="plans_appraise")
async def appraise_plan(
    request: Request,
    user: CurrentUser,
    file: Annotated[UploadFile | None, File()] = None,
    discount_rate: Annotated[str, Form()] = "",
) -> HTMLResponse:
    locale = i18n.locale_of(request)
    filename = (file.filename if file else None) or "plan.yaml"
    try:
        content = await file.read(MAX_PLAN_BYTES + 1) if file else b""
        text = read_plan_text(content, filename, locale)
        rate = parse_discount_rate(discount_rate, locale)
        plan = parse_plan_text(text, filename, locale)
        appraisal = await run_in_threadpool(appraise, plan, rate, locale)
    except PlanError as error:
        problems = [translate_problem(problem, locale) for problem in error.problems]
        return render(
            request,
            "plans/appraise_problems.html",
            {"filename": filename, "problems": problems, "discount_rate": discount_rate},
            status_code=422,
        )
    context = appraisal_context(appraisal, locale)
    context.update(plan_text=text, plan_filename=filename, discount_rate=discount_rate)
    return render(request, "plans/appraisal.html", context)


@router.post("/appraise/xlsx", name="plans_appraise_xlsx")
async def appraise_xlsx(
    request: Request,
    user: CurrentUser,
    plan_text: Annotated[str, Form()],
    plan_filename: Annotated[str, Form()] = "plan.yaml",
    discount_rate: Annotated[str, Form()] = "",
) -> Response:
    """The workbook of the appraisal shown (its plan comes back from the page's form)."""
    locale = i18n.locale_of(request)
    plan = parse_plan_text(plan_text, plan_filename, locale)  # a bad plan: the error page
    appraisal = await run_in_threadpool(
        appraise, plan, parse_discount_rate(discount_rate, locale), locale
    )
    content = await run_in_threadpool(xlsx_bytes, appraisal, locale)
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{xlsx_filename(plan)}"'},
    )
