"""The simulation pages: pick an example scenario or upload one, queue it as a background job,
follow its progress, then read its charts and download its outputs.

- ``GET /simulations`` (``simulations``): the form and the programme's jobs;
  ``POST /simulations`` queues a job (every problem of a bad scenario with its field path).
- ``GET /simulations/{id}`` (``simulation``): the job; its status fragment
  (``GET /simulations/{id}/status``) polls itself every 2 s with htmx while the job is queued or
  running, and once it succeeded shows the summary's figures as charts and the downloads.
- ``GET /simulations/{id}/files/{name}`` (``simulation_file``), ``POST /simulations/{id}/cancel``.

A worker process runs the jobs (``alianza worker``; ``make run`` starts one): never this server.
The example scenarios are read from the repository's ``examples/scenarios`` folder (they are not
part of the installed package): where it is absent, the page offers the upload only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

import alianza
from alianza.ladder.catalogue import CatalogueError, read_structured_file
from alianza.platform.access import Actor, Permission
from alianza.platform.errors import Invalid
from alianza.platform.jobs import service as jobs
from alianza.platform.jobs.models import FINAL_STATES, JobState
from alianza.platform.jobs.schemas import JobOut
from alianza.problems import Problem
from alianza.web import i18n
from alianza.web.api.simulations import (
    MAX_SCENARIO_BYTES,
    TOO_LARGE,
    data_dir,
    overrides_from_form,
)
from alianza.web.auth import CurrentActor
from alianza.web.errors import translate_problem
from alianza.web.i18n import N_
from alianza.web.templating import render

# A job's id as the database holds it (a 32-bit integer on PostgreSQL).
JobId = Annotated[int, PathParam(ge=1, le=2_147_483_647)]

router = APIRouter(prefix="/simulations", include_in_schema=False)

# The repository's examples (a source checkout or an editable install): src/alianza/../../
EXAMPLES = Path(alianza.__file__).resolve().parents[2] / "examples" / "scenarios"
JOB_STATES = {
    JobState.QUEUED: N_("Queued"),
    JobState.RUNNING: N_("Running"),
    JobState.SUCCEEDED: N_("Succeeded"),
    JobState.FAILED: N_("Failed"),
    JobState.CANCELLED: N_("Cancelled"),
}
GROUPS = {
    "all": N_("All farmers"),
    "female": N_("Women"),
    "male": N_("Men"),
    "youth": N_("Youth"),
    "non_youth": N_("Not youth"),
    "minority": N_("Minorities"),
    "non_minority": N_("Not minorities"),
}
FILES = {
    "farmers.parquet": N_("Figures by farmer (Parquet)"),
    "seasons.parquet": N_("Figures by season (Parquet)"),
    "markets.parquet": N_("Figures by market (Parquet)"),
    "districts.parquet": N_("Figures by district (Parquet)"),
    "distributions.parquet": N_("Distributions (Parquet)"),
    "breakdown.parquet": N_("Last season by group, district and market (Parquet)"),
    "simulation.xlsx": N_("Workbook: summary, by group, district, market and season (XLSX)"),
    "summary.json": N_("Summary (JSON)"),
    "income_fan.png": N_("Income fan chart (PNG)"),
    "highest_rung.png": N_("Highest rung reached chart (PNG)"),
    "poverty_by_group.png": N_("Poverty by group chart (PNG)"),
    "ladder_progression.png": N_("Ladder progression chart (PNG)"),
}


def example_scenarios() -> dict[str, Path]:
    """The example scenario files by name (none when the examples folder is not there)."""
    if not EXAMPLES.is_dir():
        return {}
    return {path.name: path for path in sorted(EXAMPLES.glob("*.yaml"))}


def example_document(path: Path) -> Any:
    """An example scenario as a job keeps it: a catalogue named by file is put inline."""
    document = read_structured_file(path)
    if isinstance(document, dict) and isinstance(document.get("catalogue"), str):
        catalogue = (path.parent / document["catalogue"]).resolve()
        document = {
            **document,
            "catalogue": read_structured_file(catalogue, str(path), "catalogue"),
        }
    return document


def _t(locale: str, message: str, **variables: Any) -> str:
    return i18n.gettext(locale, message, **variables)


def season_labels(count: int, locale: str) -> list[str]:
    return [_t(locale, N_("Season %(number)s"), number=n) for n in range(1, count + 1)]


def summary_charts(summary: dict[str, Any], locale: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The summary's figures as charts: (id, title, spec)."""
    charts = []
    series = summary.get("series") or {}
    # Income per person per day in PPP dollars, the unit of the poverty line.
    income = [
        (key, label)
        for key, label in (
            ("income_ppp_per_person_day_p10", N_("10th percentile")),
            ("income_ppp_per_person_day_median", N_("Median")),
            ("income_ppp_per_person_day_p90", N_("90th percentile")),
        )
        if key in series
    ]
    if income:
        count = len(series[income[0][0]])
        charts.append(
            (
                "chart-income",
                _t(locale, N_("Income per person per day (PPP dollars), season by season")),
                {
                    "type": "line",
                    "format": "money",
                    "currency": "USD",
                    "label_title": _t(locale, N_("Season")),
                    "labels": season_labels(count, locale),
                    "datasets": [
                        {"label": _t(locale, label), "data": series[key]} for key, label in income
                    ],
                },
            )
        )
    shares = [
        (key, label)
        for key, label in (
            ("share_above_poverty", N_("Above the poverty line")),
            ("share_commercial", N_("Commercial")),
        )
        if key in series
    ]
    if shares:
        count = len(series[shares[0][0]])
        charts.append(
            (
                "chart-shares",
                _t(locale, N_("Shares of farmers, season by season")),
                {
                    "type": "line",
                    "format": "percent",
                    "label_title": _t(locale, N_("Season")),
                    "labels": season_labels(count, locale),
                    "datasets": [
                        {"label": _t(locale, label), "data": series[key]} for key, label in shares
                    ],
                },
            )
        )
    kits = summary.get("kits_owned_final") or {}
    names = summary.get("kit_names") or {}
    if kits:
        charts.append(
            (
                "chart-kits",
                _t(locale, N_("Kits owned at the end")),
                {
                    "type": "bar",
                    "format": "number",
                    "label_title": _t(locale, N_("Kit")),
                    "labels": [names.get(kit, kit) for kit in kits],
                    "datasets": [{"label": _t(locale, N_("Farmers")), "data": list(kits.values())}],
                },
            )
        )
    final = summary.get("final_season") or {}
    groups = [group for group in GROUPS if group in final]
    if groups:
        charts.append(
            (
                "chart-groups",
                _t(locale, N_("Share above the poverty line in the last season, by group")),
                {
                    "type": "bar",
                    "format": "percent",
                    "label_title": _t(locale, N_("Group")),
                    "labels": [_t(locale, GROUPS[group]) for group in groups],
                    "datasets": [
                        {
                            "label": _t(locale, N_("Above the poverty line")),
                            "data": [final[group].get("share_above_poverty") for group in groups],
                        }
                    ],
                },
            )
        )
    return charts


def job_context(actor: Actor, request: Request, job_id: JobId) -> dict[str, Any]:
    locale = i18n.locale_of(request)
    job = jobs.get_job(actor, job_id)
    out = JobOut.of(job)
    context: dict[str, Any] = {
        "job": out,
        "scenario_name": (job.parameters.get("scenario") or {}).get("name") or "",
        "overrides": job.parameters.get("overrides") or {},
        "state_text": _t(locale, JOB_STATES[out.state]),
        "final": out.state in FINAL_STATES,
        "files": [],
        "charts": [],
        "summary": None,
        "file_labels": FILES,
    }
    if out.state is JobState.SUCCEEDED:
        outputs = jobs.job_outputs(actor, job_id, data_dir(request))
        context.update(
            summary=outputs.summary,
            files=outputs.files,
            charts=summary_charts(outputs.summary, locale),
        )
    return context


def list_context(actor: Actor, limit: int, offset: int) -> dict[str, Any]:
    page = jobs.list_jobs(actor, limit, offset)
    return {
        "jobs": [
            (JobOut.of(job), (job.parameters.get("scenario") or {}).get("name") or "")
            for job in page.items
        ],
        "total": page.total,
        "limit": limit,
        "offset": offset,
        "examples": list(example_scenarios()),
        "job_states": JOB_STATES,
        "examples_folder": EXAMPLES.is_dir(),
    }


@router.get("", response_class=HTMLResponse, name="simulations")
def simulations_page(
    request: Request,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> HTMLResponse:
    actor.require(Permission.SIMULATIONS_RUN)
    context = list_context(actor, limit, offset)
    context.update(problems=[], form={})
    return render(request, "simulations/simulations.html", context)


@router.post("", response_class=HTMLResponse, name="simulations_submit")
async def submit_simulation(
    request: Request,
    actor: CurrentActor,
    example: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
    farmers: Annotated[str, Form()] = "",
    seasons: Annotated[str, Form()] = "",
    seed: Annotated[str, Form()] = "",
) -> Response:
    actor.require(Permission.SIMULATIONS_RUN)
    locale = i18n.locale_of(request)
    form = {"example": example, "farmers": farmers, "seasons": seasons, "seed": seed}
    try:
        overrides = overrides_from_form(form)
        content = await file.read(MAX_SCENARIO_BYTES + 1) if file and file.filename else b""
        if content:
            if len(content) > MAX_SCENARIO_BYTES:
                raise Invalid("file", [Problem("file", TOO_LARGE)])
            document: Any = content
        elif example in example_scenarios():
            document = example_document(example_scenarios()[example])
        else:
            raise Invalid(
                "form",
                [
                    Problem(
                        "example",
                        i18n.gettext(
                            locale, N_("Pick an example scenario or upload a scenario file.")
                        ),
                    )
                ],
            )
        # the database work (and the scenario's validation) in a worker thread
        job = await run_in_threadpool(jobs.submit_simulation, actor, document, overrides)
    except (Invalid, CatalogueError) as error:
        problems = [translate_problem(p, locale) for p in error.problems]

        def refused() -> Response:
            context = list_context(actor, 20, 0)
            context.update(problems=problems, form=form)
            return render(request, "simulations/simulations.html", context, status_code=422)

        return await run_in_threadpool(refused)
    return RedirectResponse(
        request.app.url_path_for("simulation", job_id=str(job.id)), status_code=303
    )


@router.get("/{job_id}", response_class=HTMLResponse, name="simulation")
def simulation_page(request: Request, actor: CurrentActor, job_id: JobId) -> HTMLResponse:
    actor.require(Permission.SIMULATIONS_RUN)
    return render(request, "simulations/simulation.html", job_context(actor, request, job_id))


@router.get("/{job_id}/status", response_class=HTMLResponse, name="simulation_status")
def simulation_status(request: Request, actor: CurrentActor, job_id: JobId) -> HTMLResponse:
    """The job's status (and, once it succeeded, its results): the fragment htmx polls."""
    actor.require(Permission.SIMULATIONS_RUN)
    context = job_context(actor, request, job_id)
    response = render(request, "simulations/_status.html", context)
    if context["final"] and request.headers.get("hx-request"):
        # The job ended while the page polled: htmx reloads the page, whose charts are then
        # drawn as on any page load, and the address is that of the results (bookmarkable).
        response.headers["HX-Refresh"] = "true"
    return response


@router.get("/{job_id}/files/{name}", name="simulation_file")
def simulation_file(
    request: Request, actor: CurrentActor, job_id: JobId, name: str
) -> FileResponse:
    actor.require(Permission.SIMULATIONS_RUN)
    found = jobs.job_file(actor, job_id, name, data_dir(request))
    return FileResponse(found.path, media_type=found.media_type, filename=found.name)


@router.post("/{job_id}/cancel", name="simulation_cancel")
def cancel_simulation(request: Request, actor: CurrentActor, job_id: JobId) -> RedirectResponse:
    actor.require(Permission.SIMULATIONS_RUN)
    jobs.cancel_job(actor, job_id)
    return RedirectResponse(
        request.app.url_path_for("simulation", job_id=str(job_id)), status_code=303
    )
