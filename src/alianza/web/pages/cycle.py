"""The cycle's pages: calls, the pipeline (a board by state, or a list), and one subproject with
its appraisal, committee, decisions, tranches, history and the moves this user may make.

Every move is a form posted to ``/subprojects/{id}/<action>``; it calls the cycle's service
and goes back to the subproject's page (303) with a message. A move the service refuses shows
the page again with the refusal (409, 422 for bad input) and changes nothing (the request's
session is rolled back). Which moves a user is offered, and why one is refused, comes from
``platform.subprojects.steps.next_steps``, as in the API.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from alianza.platform.access import Actor, Permission
from alianza.platform.agreements import service as agreements
from alianza.platform.agreements.schemas import PRICE_MECHANISMS
from alianza.platform.calls import service as calls_service
from alianza.platform.errors import Forbidden, Invalid, NotFound, Refused
from alianza.platform.registry import service as registry
from alianza.platform.rules import rule_name
from alianza.platform.subprojects import service as cycle
from alianza.platform.subprojects import steps
from alianza.platform.subprojects.models import PlanVersion
from alianza.platform.subprojects.plans import stored_report
from alianza.platform.subprojects.states import APPROVED, STATES, State
from alianza.problems import Message, Problem
from alianza.web import i18n
from alianza.web.api.cycle import default_funds_account, subproject_detail
from alianza.web.auth import CurrentActor
from alianza.web.errors import translate_message
from alianza.web.i18n import N_
from alianza.web.pages.plans import report_context
from alianza.web.templating import render

router = APIRouter(include_in_schema=False)

BOARD_CARDS = 12  # cards shown in a board column; the rest through the list view
LIST_LIMIT = 25

STEP_LABELS = {
    "eligibility": N_("Check eligibility"),
    "plan": N_("Submit a business plan"),
    "evaluation": N_("Start the evaluation"),
    "score": N_("Score a criterion"),
    "decision": N_("Decide"),
    "counterpart": N_("Record a counterpart contribution"),
    "counterpart_confirm": N_("Confirm the counterpart is paid"),
    "schedule_tranches": N_("Schedule the tranches"),
    "agreement": N_("Sign the alliance agreement"),
    "release": N_("Release the tranche"),
    "justify": N_("Justify the tranche"),
    "verify": N_("Verify the tranche's milestone"),
    "complete": N_("Complete the execution"),
    "monitoring": N_("Start post-project monitoring"),
}
DONE = {
    "eligibility": N_("Eligibility checked."),
    "evaluation": N_("The evaluation has started."),
    "score": N_("Score recorded."),
    "decision": N_("Decision recorded."),
    "counterpart": N_("Counterpart contribution recorded."),
    "counterpart_confirm": N_("Counterpart confirmed."),
    "schedule_tranches": N_("Tranches scheduled."),
    "agreement": N_("Agreement signed."),
    "release": N_("Tranche released."),
    "justify": N_("Tranche justified."),
    "verify": N_("Milestone verified."),
    "complete": N_("Execution completed."),
    "monitoring": N_("Post-project monitoring started."),
}
PRICE_MECHANISM_LABELS = {
    "fixed": N_("Fixed price"),
    "reference_premium": N_("Reference price plus a premium"),
    "floor": N_("Reference price plus a premium, with a floor"),
}
GRADE_ROWS = 3  # quality grades (with their premiums) offered in the agreement form
PERIOD_ROWS = 8  # delivery periods offered in the agreement form (two years by quarter)
# Rows a "More ... rows" button adds, and the most the form offers (a form past that is split).
MORE_ROWS = {"grades": 2, "periods": 4}
MOST_ROWS = 60
AUDIT_ACTIONS = {
    "create": N_("created"),
    "transition": N_("moved"),
    "release": N_("released"),
    "justify": N_("justified"),
    "verify": N_("verified"),
}


def _t(request: Request, message: str, **variables: Any) -> str:
    return i18n.gettext(i18n.locale_of(request), message, **variables)


def refusal_text(
    request: Request, rule: str | None, reason: str, permission: str | None = None
) -> str:
    """A refusal as a person reads it: the permission missing, or the rule and its reason
    (a service's :class:`~alianza.problems.Message`), in the page's language."""
    if permission is not None:
        return _t(
            request,
            N_("Your role does not have the permission “%(permission)s”."),
            permission=permission,
        )
    said = i18n.say(i18n.locale_of(request), reason)
    if rule is None:
        return said
    label = i18n.say(i18n.locale_of(request), rule_name(rule))
    return _t(request, N_("Refused by the rule “%(rule)s”: %(reason)s"), rule=label, reason=said)


# --- calls ----------------------------------------------------------------------------------


@router.get("/calls", response_class=HTMLResponse, name="calls")
def calls_page(request: Request, actor: CurrentActor) -> HTMLResponse:
    return render(request, "cycle/calls.html", {"calls": calls_service.calls(actor)})


@router.get("/calls/{call_id}", response_class=HTMLResponse, name="call")
def call_page(request: Request, actor: CurrentActor, call_id: int) -> HTMLResponse:
    call = calls_service.get_call(actor, call_id)
    context: dict[str, Any] = {"call": call, "sheet": calls_service.scoring_sheet(call)}
    if actor.can(Permission.CYCLE_READ):
        page = cycle.list_subprojects(actor, call_id=call.id, limit=1000)
        context.update(
            counts=cycle.count_by_state(actor, call_id=call.id),
            by_state=_by_state(page.items),
            states=STATES,
            names=steps.party_names(actor, [s.organization_id for s in page.items]),
        )
    return render(request, "cycle/call.html", context)


# --- the pipeline ---------------------------------------------------------------------------


def _by_state(subprojects: list[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {state.value: [] for state in STATES}
    for subproject in subprojects:
        grouped.setdefault(subproject.state, []).append(subproject)
    return grouped


@router.get("/subprojects", response_class=HTMLResponse, name="subprojects")
def subprojects_page(
    request: Request,
    actor: CurrentActor,
    view: Annotated[str, Query(pattern="^(board|list)$")] = "board",
    call_id: int | None = None,
    state: State | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = LIST_LIMIT,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    counts = cycle.count_by_state(actor, call_id=call_id)
    columns: list[tuple[str, list[Any], int]] = []
    shown: list[Any] = []
    page = None
    if view == "board":
        for each in STATES:
            if state is not None and each is not state:
                continue
            found = cycle.list_subprojects(actor, state=each, call_id=call_id, limit=BOARD_CARDS)
            columns.append((each.value, found.items, found.total))
            shown.extend(found.items)
    else:
        page = cycle.list_subprojects(
            actor, state=state, call_id=call_id, limit=limit, offset=offset
        )
        shown = sorted(page.items, key=lambda s: (STATES.index(State(s.state)), -s.id))
        grouped = _by_state(shown)
        columns = [(key, items, len(items)) for key, items in grouped.items() if items]
    query = {
        k: v
        for k, v in {
            "view": view,
            "call_id": call_id,
            "state": state.value if state else None,
        }.items()
        if v is not None
    }
    return render(
        request,
        "cycle/subprojects.html",
        {
            "view": view,
            "calls": calls_service.calls(actor),
            "call_id": call_id,
            "state": state,
            "states": STATES,
            "counts": counts,
            "columns": columns,
            "page": page,
            "limit": limit,
            "offset": offset,
            "query": query,
            "names": steps.party_names(actor, [s.organization_id for s in shown]),
            "grants": steps.latest_grants(actor, [s.id for s in shown]),
            "call_codes": {c.id: (c.code, c.currency) for c in calls_service.calls(actor)},
        },
    )


# --- one subproject -------------------------------------------------------------------------


def appraisal_view(version: PlanVersion, locale: str) -> dict[str, Any]:
    """A stored plan version's appraisal report, shown with the plan appraisal page's pieces."""
    context = report_context(stored_report(version), locale)
    context.pop("financing_chart", None)
    return context


def subproject_context(request: Request, actor: Actor, subproject_id: int) -> dict[str, Any]:
    detail = subproject_detail(actor, subproject_id)
    subproject = detail["subproject"]
    locale = i18n.locale_of(request)
    latest = detail["latest"]
    users = steps.user_names(
        actor,
        [s.user_id for s in detail["scores"]]
        + [d.decided_by for d in detail["decisions"]]
        + [h.user_id for h in detail["history"]],
    )
    release_accounts = []
    if actor.can(Permission.TRANCHES_RELEASE) and any(
        s.action == "release" and s.allowed for s in detail["steps"]
    ):
        release_accounts = steps.funds_accounts(actor, detail["call"].currency)
    counterpart_accounts = []
    if any(s.action == "counterpart" and s.allowed for s in detail["steps"]):
        counterpart_accounts = steps.counterpart_accounts(
            actor, subproject, detail["call"].currency
        )
    support_organizations = []
    if any(s.action == "agreement" and s.allowed for s in detail["steps"]):
        support_organizations = [
            (o.id, o.name) for o in registry.organizations(actor.widened(), kind="ta_provider")
        ]
    trail = steps.audit_trail(actor, subproject.id) if actor.can(Permission.AUDIT_READ) else None
    criteria = {c.name: c.weight for c in calls_service.scoring_sheet(detail["call"]).criteria}
    detail.update(
        appraisal=appraisal_view(latest, locale) if latest is not None else None,
        users=users,
        release_accounts=release_accounts,
        counterpart_accounts=counterpart_accounts,
        counterpart=steps.counterpart_progress(actor, subproject)
        if subproject.state in APPROVED
        else None,
        price_mechanisms=[(m, PRICE_MECHANISM_LABELS[m]) for m in PRICE_MECHANISMS],
        grade_rows=GRADE_ROWS,
        period_rows=PERIOD_ROWS,
        support_organizations=support_organizations,
        form_action=None,
        form_values={},
        form_errors={},
        trail=trail,
        criteria=criteria,
        today=date.today(),
        in_two_years=date.today() + timedelta(days=730),
        step_labels=STEP_LABELS,
        audit_actions=AUDIT_ACTIONS,
        refusal_text=lambda r: refusal_text(request, r.rule, r.reason, r.permission),
        rule_text=lambda rule, reason: refusal_text(request, rule, reason),
        grant=Decimal(latest.grant) if latest is not None else None,
        state_order=[s.value for s in STATES],
    )
    return detail


@router.get("/subprojects/{subproject_id}", response_class=HTMLResponse, name="subproject")
def subproject_page(
    request: Request, actor: CurrentActor, subproject_id: int, done: str | None = None
) -> HTMLResponse:
    context = subproject_context(request, actor, subproject_id)
    if done in DONE:
        context["flashes"] = [("success", _t(request, DONE[done]))]
    return render(request, "cycle/subproject.html", context)


def _move(
    request: Request,
    actor: Actor,
    subproject_id: int,
    action: str,
    do: Any,
    values: dict[str, Any] | None = None,
    field_of: Any = None,
    form_context: dict[str, Any] | None = None,
) -> Response:
    """Do a move; on success back to the page, on a refusal the page again with why (the
    session rolled back: nothing changed). ``values`` are the form's entries, shown again in
    the form of ``action``; ``field_of`` maps a problem's field path to the form field it
    is shown at (by default the same); ``form_context`` what else the form needs to be shown
    again (its row counts)."""
    try:
        do()
        actor.session.flush()
    except (Forbidden, NotFound):
        raise
    except Refused as refused:
        actor.session.rollback()
        status = 422 if isinstance(refused, Invalid) else 409
        locale = i18n.locale_of(request)
        if isinstance(refused, Invalid):
            problems = [(p.field, translate_message(p.message, locale)) for p in refused.problems]
        else:
            problems = [(refused.field or "", refusal_text(request, refused.rule, refused.reason))]
        if field_of is not None:
            problems = [(field_of(field), message) for field, message in problems]
        context = subproject_context(request, actor, subproject_id)
        context["flashes"] = [
            ("error", f"{field}: {message}" if field else message) for field, message in problems
        ]
        errors: dict[str, str] = {}
        for field, message in problems:
            errors[field] = f"{errors[field]}; {message}" if field in errors else message
        context.update(form_action=action, form_values=values or {}, form_errors=errors)
        context.update(form_context or {})
        return render(request, "cycle/subproject.html", context, status_code=status)
    path = request.app.url_path_for("subproject", subproject_id=subproject_id)
    return RedirectResponse(
        f"{request.scope.get('root_path', '')}{path}?done={action}", status_code=303
    )


OnForm = Annotated[date, Form()]


@router.post("/subprojects/{subproject_id}/eligibility", name="subproject_eligibility")
def eligibility(request: Request, actor: CurrentActor, subproject_id: int, on: OnForm) -> Response:
    return _move(
        request,
        actor,
        subproject_id,
        "eligibility",
        lambda: cycle.check_eligibility(actor, subproject_id, on),
    )


@router.post("/subprojects/{subproject_id}/evaluation", name="subproject_evaluation")
def evaluation(request: Request, actor: CurrentActor, subproject_id: int, on: OnForm) -> Response:
    return _move(
        request,
        actor,
        subproject_id,
        "evaluation",
        lambda: cycle.start_evaluation(actor, subproject_id, on),
    )


def _decimal(text: str, field: str) -> Decimal:
    try:
        return Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise Invalid("form", [Problem(field, Message("give a number"), "invalid")]) from None


@router.post("/subprojects/{subproject_id}/scores", name="subproject_score")
def score(
    request: Request,
    actor: CurrentActor,
    subproject_id: int,
    criterion: Annotated[str, Form()],
    score: Annotated[str, Form()],
) -> Response:
    return _move(
        request,
        actor,
        subproject_id,
        "score",
        lambda: cycle.score(actor, subproject_id, criterion, _decimal(score, "score")),
    )


@router.post("/subprojects/{subproject_id}/decision", name="subproject_decision")
def decision(
    request: Request,
    actor: CurrentActor,
    subproject_id: int,
    on: OnForm,
    outcome: Annotated[str, Form()],
    conditions: Annotated[str, Form()] = "",
) -> Response:
    return _move(
        request,
        actor,
        subproject_id,
        "decision",
        lambda: cycle.decide(actor, subproject_id, outcome, on, conditions),
    )


@router.post(
    "/subprojects/{subproject_id}/counterpart/confirm", name="subproject_counterpart_confirm"
)
def counterpart(request: Request, actor: CurrentActor, subproject_id: int, on: OnForm) -> Response:
    return _move(
        request,
        actor,
        subproject_id,
        "counterpart_confirm",
        lambda: cycle.confirm_counterpart_paid(actor, subproject_id, on),
    )


@router.post("/subprojects/{subproject_id}/counterpart", name="subproject_counterpart")
def record_counterpart(
    request: Request,
    actor: CurrentActor,
    subproject_id: int,
    on: OnForm,
    kind: Annotated[str, Form()],
    amount: Annotated[str, Form()],
    from_account_id: Annotated[int | None, Form()] = None,
) -> Response:
    return _move(
        request,
        actor,
        subproject_id,
        "counterpart",
        lambda: cycle.record_counterpart(
            actor, subproject_id, kind, from_account_id, _decimal(amount, "amount"), on
        ),
        values={"kind": kind, "amount": amount, "from_account_id": from_account_id, "on": on},
    )


def _entry(form: Any, name: str) -> str:
    return str(form.get(name) or "").strip()


def _number(text: str) -> str | None:
    """A number as typed (a decimal comma read as a point); empty -> None. The schema
    validates it, so that a wrong one is reported at its field."""
    return text.replace(",", ".") if text else None


def agreement_terms(form: Any) -> tuple[dict[str, Any], list[int]]:
    """The agreement form as :class:`AgreementIn` data: rows left empty are left out. Also the
    form row of each schedule period kept (to show a period's error at its row). A row begun
    but incomplete is refused here, its problems named by the form's own rows
    (``grade[1]``, ``schedule[2].quantity``)."""
    grades = [str(g).strip() for g in form.getlist("grade")]
    premiums = [str(p).strip() for p in form.getlist("grade_premium")]
    problems = []
    quality_grades: list[str] = []
    grade_premiums: dict[str, str | None] = {}
    for row, (grade, premium) in enumerate(zip(grades, premiums, strict=False)):
        if not grade and not premium:
            continue
        if not grade:
            problems.append(Problem(f"grade[{row}]", Message("give the grade's name"), "missing"))
            continue
        quality_grades.append(grade)
        if premium:
            grade_premiums[grade] = _number(premium)
    if problems:
        raise Invalid("agreement", problems)
    schedule, rows = [], []
    starts = form.getlist("period_start")
    ends = form.getlist("period_end")
    quantities = form.getlist("quantity")
    for row, (start, end, quantity) in enumerate(zip(starts, ends, quantities, strict=False)):
        entries: dict[str, str | None] = {
            "period_start": str(start).strip(),
            "period_end": str(end).strip(),
            "quantity": str(quantity).strip(),
        }
        if not any(entries.values()):
            continue
        # a row begun and left incomplete: each missing entry at its field (the form's row)
        problems.extend(
            Problem(f"schedule[{row}].{name}", Message("This field is required."), "missing")
            for name, value in entries.items()
            if not value
        )
        entries["quantity"] = _number(entries["quantity"] or "")
        schedule.append(entries)
        rows.append(row)
    if problems:
        raise Invalid("agreement", problems)
    mechanism = _entry(form, "price_mechanism")
    terms = {
        "product": _entry(form, "product"),
        "unit": _entry(form, "unit"),
        "quality_grades": quality_grades,
        "price_mechanism": mechanism,
        "fixed_price": _number(_entry(form, "fixed_price")),
        "premium": _number(_entry(form, "premium")),
        "floor_price": _number(_entry(form, "floor_price")),
        "grade_premiums": grade_premiums,
        "payment_terms_days": _entry(form, "payment_terms_days"),
        "buyer_ta_duties": _entry(form, "buyer_ta_duties"),
        "support_organization_id": _entry(form, "support_organization_id") or None,
        "signed_on": _entry(form, "signed_on"),
        "starts_on": _entry(form, "starts_on"),
        "ends_on": _entry(form, "ends_on"),
        "schedule": schedule,
    }
    return terms, rows


SCHEDULE_ROW = re.compile(r"^schedule\[(\d+)\]")


@router.post("/subprojects/{subproject_id}/agreement", name="subproject_agreement")
async def sign_agreement(request: Request, actor: CurrentActor, subproject_id: int) -> Response:
    form = await request.form()
    values: dict[str, Any] = {
        name: [str(v) for v in form.getlist(name)]
        for name in ("grade", "grade_premium", "period_start", "period_end", "quantity")
    }
    values.update({name: str(value) for name, value in form.items() if name not in values})
    more = values.pop("more", None)
    if more in MORE_ROWS:  # more rows asked for: the form again with its entries, nothing signed
        context = subproject_context(request, actor, subproject_id)
        context.update(form_action="agreement", form_values=values, form_errors={})
        context.update(_agreement_rows(values, more))
        return render(request, "cycle/subproject.html", context)
    rows: list[int] = []

    def do() -> None:
        terms, kept = agreement_terms(form)
        rows.extend(kept)
        agreements.sign_agreement(actor, subproject_id, terms)

    def field_of(path: str) -> str:
        """``schedule[k]...`` names the k-th period entered: the form's row rows[k]."""
        found = SCHEDULE_ROW.match(path)
        if found is None or int(found.group(1)) >= len(rows):
            return path
        return f"schedule[{rows[int(found.group(1))]}]{path[found.end() :]}"

    return _move(
        request, actor, subproject_id, "agreement", do, values, field_of, _agreement_rows(values)
    )


def _agreement_rows(values: dict[str, Any], more: str | None = None) -> dict[str, int]:
    """The agreement form's row counts: every row entered is shown again, and ``more`` adds
    :data:`MORE_ROWS` empty ones (grades or periods), up to :data:`MOST_ROWS`."""
    grades = max(GRADE_ROWS, len(values.get("grade", [])))
    periods = max(PERIOD_ROWS, len(values.get("period_start", [])))
    if more == "grades":
        grades += MORE_ROWS[more]
    elif more == "periods":
        periods += MORE_ROWS[more]
    return {"grade_rows": min(grades, MOST_ROWS), "period_rows": min(periods, MOST_ROWS)}


@router.post("/subprojects/{subproject_id}/tranches", name="subproject_tranches")
async def schedule(request: Request, actor: CurrentActor, subproject_id: int) -> Response:
    form = await request.form()
    amounts = [str(a) for a in form.getlist("amount")]
    milestones = [str(m) for m in form.getlist("milestone")]

    def do() -> None:
        tranches = [
            {"amount": _decimal(a, "amount"), "milestone": m.strip()}
            for a, m in zip(amounts, milestones, strict=False)
            if a.strip() or m.strip()
        ]
        cycle.schedule_tranches(actor, subproject_id, tranches)

    # the form is read on the event loop; the database work runs in a worker thread
    return await run_in_threadpool(_move, request, actor, subproject_id, "schedule_tranches", do)


@router.post("/subprojects/{subproject_id}/tranches/{number}/release", name="tranche_release")
def release(
    request: Request,
    actor: CurrentActor,
    subproject_id: int,
    number: int,
    on: OnForm,
    from_account_id: Annotated[int | None, Form()] = None,
) -> Response:
    return _move(
        request,
        actor,
        subproject_id,
        "release",
        lambda: cycle.release_tranche(
            actor,
            subproject_id,
            number,
            from_account_id or default_funds_account(actor, subproject_id),
            on,
        ),
    )


@router.post("/subprojects/{subproject_id}/tranches/{number}/justify", name="tranche_justify")
def justify(
    request: Request,
    actor: CurrentActor,
    subproject_id: int,
    number: int,
    on: OnForm,
    evidence: Annotated[str, Form()] = "",
) -> Response:
    return _move(
        request,
        actor,
        subproject_id,
        "justify",
        lambda: cycle.justify_tranche(actor, subproject_id, number, evidence, on),
    )


@router.post("/subprojects/{subproject_id}/tranches/{number}/verify", name="tranche_verify")
def verify(
    request: Request, actor: CurrentActor, subproject_id: int, number: int, on: OnForm
) -> Response:
    return _move(
        request,
        actor,
        subproject_id,
        "verify",
        lambda: cycle.verify_milestone(actor, subproject_id, number, on),
    )


@router.post("/subprojects/{subproject_id}/complete", name="subproject_complete")
def complete(request: Request, actor: CurrentActor, subproject_id: int, on: OnForm) -> Response:
    return _move(
        request, actor, subproject_id, "complete", lambda: cycle.complete(actor, subproject_id, on)
    )


@router.post("/subprojects/{subproject_id}/monitoring", name="subproject_monitoring")
def monitoring(request: Request, actor: CurrentActor, subproject_id: int, on: OnForm) -> Response:
    return _move(
        request,
        actor,
        subproject_id,
        "monitoring",
        lambda: cycle.start_monitoring(actor, subproject_id, on),
    )
