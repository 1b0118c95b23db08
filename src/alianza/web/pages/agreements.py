"""The agreements pages: the list (``agreements``) and one agreement (``agreement``) with its
terms, the delivery schedule against deliveries (a chart and its table), deliveries and
payments (paged), the side-selling and buyer-default alerts, and the forms that record a
delivery (deliveries.record) or a payment (payments.record).

A recording the platform refuses shows the page again with why (status 409, or 422 for bad
input); the request's transaction is rolled back, so nothing changes.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from alianza.platform.access import Actor, Permission
from alianza.platform.agreements import service as agreements
from alianza.platform.agreements.models import Agreement
from alianza.platform.errors import Forbidden, Invalid, NotFound, Refused
from alianza.problems import Problem
from alianza.web import i18n
from alianza.web.auth import CurrentActor
from alianza.web.errors import translate_problem
from alianza.web.i18n import N_
from alianza.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20

PRICE_MECHANISMS = {
    "fixed": N_("Fixed price"),
    "reference_premium": N_("Reference price plus a premium"),
    "floor": N_("Reference price plus a premium, with a floor price"),
}
# The refusals of recording a delivery or payment, in the reader's words (by the rule's code).
REFUSALS = {
    "quality_grades": N_("The grade must be one of the agreement's grades."),
    "agreement_period": N_("The date must lie within the agreement's period."),
    "price_mechanism": N_(
        "This agreement's price follows a reference price: give the reference price."
    ),
}
FORM_FIELDS = {
    "delivered_on": N_("Delivery date"),
    "quantity": N_("Quantity"),
    "grade": N_("Grade"),
    "reference_price": N_("Reference price"),
    "paid_on": N_("Payment date"),
    "amount": N_("Amount"),
}


def today() -> date:
    return date.today()


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def parse_number(text: str) -> Decimal | None:
    """A number as people type it: '1234.5', '1234,5' or '1,234.50'."""
    text = text.strip().replace(" ", "").replace("\u00a0", "")
    if "," in text and "." in text:
        text = (
            text.replace(",", "")
            if text.rfind(".") > text.rfind(",")
            else text.replace(".", "").replace(",", ".")
        )
    else:
        text = text.replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def form_problems(
    locale: str,
    values: dict[str, str],
    dates: tuple[str, ...],
    numbers: tuple[str, ...],
    optional: tuple[str, ...] = (),
) -> tuple[dict[str, Any], list[Problem]]:
    """The form's values parsed (dates, numbers), and the problems of those that are not."""
    parsed: dict[str, Any] = {}
    problems = []
    for name, text in values.items():
        if not text.strip():
            if name not in optional:
                problems.append(
                    Problem(name, i18n.gettext(locale, N_("This field is required.")), "missing")
                )
            parsed[name] = None
        elif name in dates:
            parsed[name] = parse_date(text)
            if parsed[name] is None:
                problems.append(
                    Problem(name, i18n.gettext(locale, N_("Give a date.")), "date_parsing")
                )
        elif name in numbers:
            parsed[name] = parse_number(text)
            if parsed[name] is None or parsed[name] <= 0:
                problems.append(
                    Problem(
                        name, i18n.gettext(locale, N_("Give a number greater than zero.")), "number"
                    )
                )
        else:
            parsed[name] = text.strip()
    return parsed, problems


def refusal_problems(refused: Refused, locale: str) -> list[Problem]:
    """The refusal's problems in the reader's language."""
    problems = []
    for problem in refused.problems:
        message = REFUSALS.get(problem.code)
        if message is not None:
            problems.append(Problem(problem.field, i18n.gettext(locale, message), problem.code))
        else:
            problems.append(translate_problem(problem, locale))
    return problems


def alert_text(alert: agreements.Alert, agreement: Agreement, locale: str) -> str:
    """An alert said in the reader's language, its figures formatted for the locale."""
    from babel.dates import format_date
    from babel.numbers import format_currency, format_decimal

    def day(value: date | None) -> str:
        return format_date(value, format="medium", locale=locale) if value else ""

    if alert.kind == "side_selling" and alert.scheduled:
        share = (alert.delivered or 0) / alert.scheduled
        return i18n.gettext(
            locale,
            N_(
                "%(start)s to %(end)s: delivered %(delivered)s of %(scheduled)s %(unit)s "
                "scheduled (%(share)s)."
            ),
            start=day(alert.period_start),
            end=day(alert.period_end),
            delivered=format_decimal(alert.delivered or 0, locale=locale),
            scheduled=format_decimal(alert.scheduled, locale=locale),
            unit=agreement.unit,
            share=f"{format_decimal(round(share * 100), locale=locale)} %",
        )
    if alert.kind == "buyer_default" and alert.unpaid is not None:
        return i18n.gettext(
            locale,
            N_("Delivery of %(delivered)s, due %(due)s: %(unpaid)s unpaid; days late: %(days)s."),
            days=format_decimal(alert.days_late or 0, locale=locale),
            delivered=day(alert.delivered_on),
            due=day(alert.due_on),
            unpaid=format_currency(alert.unpaid, agreement.currency, locale=locale),
        )
    return i18n.say(locale, alert.message)


ALERT_KINDS = {"side_selling": N_("Side-selling risk"), "buyer_default": N_("Buyer-default risk")}


@router.get("/agreements", response_class=HTMLResponse, name="agreements")
def agreements_page(
    request: Request, actor: CurrentActor, offset: int = 0, limit: int = PAGE_SIZE
) -> HTMLResponse:
    as_of = today()
    page = agreements.list_agreements(actor, limit, offset)
    return render(
        request,
        "agreements/list.html",
        {
            "overviews": agreements.overviews(actor, page.items, as_of),
            "total": page.total,
            "limit": limit,
            "offset": offset,
            "as_of": as_of,
            "mechanisms": PRICE_MECHANISMS,
        },
    )


def schedule_chart(
    progress: list[agreements.PeriodProgress], unit: str, locale: str, label: Any
) -> dict[str, Any]:
    return {
        "type": "bar",
        "format": "number",
        "label_title": i18n.gettext(locale, N_("Period")),
        "labels": [label(p) for p in progress],
        "datasets": [
            {
                "label": i18n.gettext(locale, N_("Scheduled (%(unit)s)"), unit=unit),
                "data": [float(p.scheduled) for p in progress],
            },
            {
                "label": i18n.gettext(locale, N_("Delivered (%(unit)s)"), unit=unit),
                "data": [float(p.delivered) for p in progress],
            },
        ],
    }


def agreement_view(
    request: Request,
    actor: Actor,
    agreement_id: int,
    *,
    deliveries_offset: int = 0,
    payments_offset: int = 0,
    problems: list[Problem] | None = None,
    form: str | None = None,
    values: dict[str, str] | None = None,
    flashes: list[tuple[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    from babel.dates import format_date

    locale = i18n.locale_of(request)
    as_of = today()
    agreement = agreements.get_agreement(actor, agreement_id)
    [overview] = agreements.overviews(actor, [agreement], as_of)
    progress = agreements.schedule_progress(actor, agreement_id)

    def period_label(period: agreements.PeriodProgress) -> str:
        return (
            f"{format_date(period.period_start, format='short', locale=locale)} – "
            f"{format_date(period.period_end, format='short', locale=locale)}"
        )

    alerts = [
        (alert, alert_text(alert, agreement, locale))
        for alert in agreements.alerts(actor, as_of, agreement_id)
    ]
    problems = problems or []
    return render(
        request,
        "agreements/agreement.html",
        {
            "agreement": agreement,
            "overview": overview,
            "as_of": as_of,
            "mechanism": PRICE_MECHANISMS.get(agreement.price_mechanism, agreement.price_mechanism),
            "needs_reference": agreement.price_mechanism != "fixed",
            "progress": [(period_label(p), p) for p in progress],
            "chart": schedule_chart(progress, agreement.unit, locale, period_label),
            "deliveries": agreements.deliveries(actor, agreement_id, PAGE_SIZE, deliveries_offset),
            "payments": agreements.payments(actor, agreement_id, PAGE_SIZE, payments_offset),
            "deliveries_offset": deliveries_offset,
            "payments_offset": payments_offset,
            "limit": PAGE_SIZE,
            "alerts": alerts,
            "alert_kinds": ALERT_KINDS,
            "problems": problems,
            "form": form,
            "values": values or {},
            "field_names": FORM_FIELDS,
            "errors": {p.field: p.message for p in problems if p.field},
            # the form's date: today, or the agreement's nearest day when today lies outside it
            "flashes": flashes or [],
            "today": min(max(as_of, agreement.starts_on), agreement.ends_on),
        },
        status_code=status_code,
    )


RECORDED = {
    "delivery": N_("The delivery is recorded."),
    "payment": N_("The payment is recorded."),
}


@router.get("/agreements/{agreement_id}", response_class=HTMLResponse, name="agreement")
def agreement_page(
    request: Request,
    actor: CurrentActor,
    agreement_id: int,
    deliveries_offset: int = 0,
    payments_offset: int = 0,
    recorded: str | None = None,
) -> HTMLResponse:
    locale = i18n.locale_of(request)
    flashes = (
        [("success", i18n.gettext(locale, RECORDED[recorded]))] if recorded in RECORDED else []
    )
    return agreement_view(
        request,
        actor,
        agreement_id,
        deliveries_offset=max(deliveries_offset, 0),
        payments_offset=max(payments_offset, 0),
        flashes=flashes,
    )


def refused_view(
    request: Request,
    actor: Actor,
    agreement_id: int,
    form: str,
    values: dict[str, str],
    problems: list[Problem],
    status_code: int,
) -> HTMLResponse:
    actor.session.rollback()  # nothing of a refused recording stays
    return agreement_view(
        request,
        actor,
        agreement_id,
        problems=problems,
        form=form,
        values=values,
        status_code=status_code,
    )


@router.post("/agreements/{agreement_id}/deliveries", name="agreement_delivery_record")
def record_delivery(
    request: Request,
    actor: CurrentActor,
    agreement_id: int,
    delivered_on: Annotated[str, Form(max_length=40)] = "",
    quantity: Annotated[str, Form(max_length=40)] = "",
    grade: Annotated[str, Form(max_length=40)] = "",
    reference_price: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    actor.require(Permission.DELIVERIES_RECORD)
    locale = i18n.locale_of(request)
    values = {
        "delivered_on": delivered_on,
        "quantity": quantity,
        "grade": grade,
        "reference_price": reference_price,
    }
    parsed, problems = form_problems(
        locale,
        values,
        ("delivered_on",),
        ("quantity", "reference_price"),
        optional=("reference_price",),
    )
    if problems:
        agreements.get_agreement(actor, agreement_id)  # out of scope: 404 before anything else
        return refused_view(request, actor, agreement_id, "delivery", values, problems, 422)
    try:
        agreements.record_delivery(actor, agreement_id, parsed)
    except (Forbidden, NotFound):
        raise
    except Refused as refused:
        status = 422 if isinstance(refused, Invalid) else 409
        return refused_view(
            request,
            actor,
            agreement_id,
            "delivery",
            values,
            refusal_problems(refused, locale),
            status,
        )
    return RedirectResponse(
        f"{request.app.url_path_for('agreement', agreement_id=agreement_id)}?recorded=delivery",
        status_code=303,
    )


@router.post("/agreements/{agreement_id}/payments", name="agreement_payment_record")
def record_payment(
    request: Request,
    actor: CurrentActor,
    agreement_id: int,
    paid_on: Annotated[str, Form(max_length=40)] = "",
    amount: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    actor.require(Permission.PAYMENTS_RECORD)
    locale = i18n.locale_of(request)
    values = {"paid_on": paid_on, "amount": amount}
    parsed, problems = form_problems(locale, values, ("paid_on",), ("amount",))
    if problems:
        agreements.get_agreement(actor, agreement_id)
        return refused_view(request, actor, agreement_id, "payment", values, problems, 422)
    try:
        agreements.record_payment(actor, agreement_id, parsed["amount"], parsed["paid_on"])
    except (Forbidden, NotFound):
        raise
    except Refused as refused:
        status = 422 if isinstance(refused, Invalid) else 409
        return refused_view(
            request,
            actor,
            agreement_id,
            "payment",
            values,
            refusal_problems(refused, locale),
            status,
        )
    return RedirectResponse(
        f"{request.app.url_path_for('agreement', agreement_id=agreement_id)}?recorded=payment",
        status_code=303,
    )
