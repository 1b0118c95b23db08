"""Background simulations over the API: submit a scenario, follow its job, download its outputs.

``POST /simulations`` takes a JSON body ``{"scenario": {...} | "yaml text", "overrides":
{"farmers", "seasons", "seed", "chunk", "charts"}}`` or a multipart form (``file`` the scenario,
YAML or JSON, and optional fields ``farmers``, ``seasons``, ``seed``); it queues a job that a
worker process runs (the server never simulates). A bad scenario is a 422 listing every problem
with its field path. Every endpoint needs ``simulations.run``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from alianza.platform.access import Actor, Permission
from alianza.platform.errors import Invalid
from alianza.platform.jobs import service as jobs
from alianza.platform.jobs.models import JobState
from alianza.platform.jobs.schemas import JobOut
from alianza.problems import Message, Problem
from alianza.web import i18n
from alianza.web.api.plans import read_at_most
from alianza.web.auth import CurrentActor

# A job's id as the database holds it (a 32-bit integer on PostgreSQL).
JobId = Annotated[int, PathParam(ge=1, le=2_147_483_647)]

router = APIRouter(prefix="/simulations", tags=["simulations"])

MAX_SCENARIO_BYTES = 5 * 1024 * 1024
TOO_LARGE = Message("the file is larger than 5 MB")  # MAX_SCENARIO_BYTES
OVERRIDE_FIELDS = ("farmers", "seasons", "seed")


class SimulationFile(BaseModel):
    name: str
    bytes: int
    media_type: str


class SimulationOut(JobOut):
    """A simulation job: its state and progress; once succeeded, its summary and files."""

    scenario: str | None = None
    progress: float = 0.0  # share of the farmers simulated, 0 to 1
    summary: dict[str, Any] | None = None
    files: list[SimulationFile] = []


class SimulationPage(BaseModel):
    items: list[SimulationOut]
    total: int


def data_dir(request: Request) -> Path:
    """Where this app's jobs keep their outputs (its settings' data directory)."""
    return Path(request.app.state.settings.directory)


def simulation_out(actor: Actor, job: Any, request: Request, with_outputs: bool) -> SimulationOut:
    shown = JobOut.of(job)
    out = SimulationOut.model_validate(shown.model_dump())
    out.message = i18n.say(i18n.locale_of(request), shown.message)  # in the reader's language
    out.scenario = (job.parameters.get("scenario") or {}).get("name")
    out.progress = shown.fraction_done
    if with_outputs and job.state is JobState.SUCCEEDED:
        outputs = jobs.job_outputs(actor, job.id, data_dir(request))
        out.summary = outputs.summary
        out.files = [
            SimulationFile(name=f.name, bytes=f.bytes, media_type=f.media_type)
            for f in outputs.files
        ]
    return out


def overrides_from_form(form: Any) -> dict[str, Any]:
    """The form's overrides as integers where given; a field that is no number: a problem."""
    overrides: dict[str, Any] = {}
    problems = []
    for name in OVERRIDE_FIELDS:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            try:
                overrides[name] = int(value.strip())
            except ValueError:
                problems.append(Problem(f"overrides.{name}", Message("must be a whole number")))
    if problems:
        raise Invalid("overrides", problems)
    return overrides


async def scenario_from_request(request: Request) -> tuple[Any, dict[str, Any]]:
    """The scenario document and overrides sent: a multipart file, or the JSON body."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=20)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid(
                "request",
                [Problem("file", Message("send the scenario as a file in the field 'file'"))],
            )
        content = await upload.read(MAX_SCENARIO_BYTES + 1)
        if len(content) > MAX_SCENARIO_BYTES:
            raise Invalid("request", [Problem("file", TOO_LARGE)])
        return content, overrides_from_form(form)
    body = await read_at_most(request, MAX_SCENARIO_BYTES + 1)
    if len(body) > MAX_SCENARIO_BYTES:
        raise Invalid("request", [Problem("", Message("the body is larger than 5 MB"))])
    try:
        data = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Invalid("request", [Problem("", Message("the body is not valid JSON"))]) from None
    if not isinstance(data, dict) or "scenario" not in data:
        raise Invalid("request", [Problem("scenario", Message("required: the scenario document"))])
    overrides = data.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise Invalid(
            "request", [Problem("overrides", Message("a mapping of farmers, seasons, seed"))]
        )
    return data["scenario"], overrides


SUBMIT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The scenario (docs/simulation.md, catalogue inline) and overrides, as "
        "JSON, or a YAML/JSON file with the overrides as form fields.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["scenario"],
                    "properties": {
                        "scenario": {"type": "object"},
                        "overrides": {
                            "type": "object",
                            "properties": {
                                "farmers": {"type": "integer", "minimum": 1},
                                "seasons": {"type": "integer", "minimum": 1},
                                "seed": {"type": "integer", "minimum": 0},
                                "chunk": {"type": "integer", "minimum": 1},
                                "charts": {"type": "boolean"},
                            },
                        },
                    },
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "farmers": {"type": "integer"},
                        "seasons": {"type": "integer"},
                        "seed": {"type": "integer"},
                    },
                }
            },
        },
    }
}


@router.post(
    "",
    name="api_simulations_submit",
    status_code=201,
    openapi_extra=SUBMIT_BODY,
    summary="Queue a simulation",
)
async def submit(request: Request, actor: CurrentActor) -> SimulationOut:
    """Queue a simulation of the scenario sent; the job's page follows its progress."""
    actor.require(Permission.SIMULATIONS_RUN)
    document, overrides = await scenario_from_request(request)

    def submitted() -> SimulationOut:  # the database work, in a worker thread
        job = jobs.submit_simulation(actor, document, overrides)
        return simulation_out(actor, job, request, with_outputs=False)

    return await run_in_threadpool(submitted)


@router.get("", name="api_simulations", summary="The programme's simulations")
def list_simulations(
    request: Request,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> SimulationPage:
    actor.require(Permission.SIMULATIONS_RUN)
    page = jobs.list_jobs(actor, limit, offset)
    return SimulationPage(
        items=[simulation_out(actor, job, request, False) for job in page.items], total=page.total
    )


@router.get("/{job_id}", name="api_simulation", summary="One simulation")
def get_simulation(request: Request, actor: CurrentActor, job_id: JobId) -> SimulationOut:
    """The job's state and progress; once it succeeded, its summary and files."""
    actor.require(Permission.SIMULATIONS_RUN)
    return simulation_out(actor, jobs.get_job(actor, job_id), request, with_outputs=True)


@router.get(
    "/{job_id}/files/{name}",
    name="api_simulation_file",
    summary="Download an output of a simulation",
    response_class=FileResponse,
)
def simulation_file(
    request: Request, actor: CurrentActor, job_id: JobId, name: str
) -> FileResponse:
    """One output of a succeeded job (Parquet tables, summary.json, PNG charts), by name."""
    actor.require(Permission.SIMULATIONS_RUN)
    found = jobs.job_file(actor, job_id, name, data_dir(request))
    return FileResponse(found.path, media_type=found.media_type, filename=found.name)


@router.post("/{job_id}/cancel", name="api_simulation_cancel", summary="Cancel a simulation")
def cancel(request: Request, actor: CurrentActor, job_id: JobId) -> SimulationOut:
    actor.require(Permission.SIMULATIONS_RUN)
    return simulation_out(actor, jobs.cancel_job(actor, job_id), request, with_outputs=False)
