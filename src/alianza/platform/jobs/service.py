"""Background jobs: what people do with them (submit, list, read, cancel, download) and what the
worker does (claim, report progress, finish, fail), plus the start-up sweep of interrupted jobs.

People act through an :class:`~alianza.platform.access.Actor`: jobs are the programme's, so every
user of a programme sees its jobs; submitting and cancelling need ``simulations.run``. The worker
is no user: its functions take a session and work on any programme's jobs, each change one short
transaction guarded by the job's state (``UPDATE ... WHERE state = 'running'``), so a job
cancelled or marked interrupted meanwhile is never brought back, and a finished job is never
touched.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from alianza.documents import PARSE_ERRORS
from alianza.ladder.catalogue import CatalogueError, pydantic_problems
from alianza.ladder.runner import farmers_per_market
from alianza.ladder.scenario import Scenario, validate_scenario, with_overrides
from alianza.platform.access import Actor, Page, Permission, get, paged, scoped
from alianza.platform.audit.service import now, record_for, snapshot
from alianza.platform.errors import Invalid, NotFound, Refused
from alianza.platform.jobs.config import jobs_config
from alianza.platform.jobs.models import (
    FINAL_STATES,
    Job,
    JobKind,
    JobState,
    message_columns,
)
from alianza.platform.jobs.schemas import JobFile, JobOutputs, SimulationOverrides
from alianza.problems import Message, Problem

# Where a scenario may name files; a job keeps its scenario, never the files, which may be gone
# (an upload's temporary file) or lie on another machine by the time the job runs.
_FILE_FIELDS = {
    "catalogue": Message(
        "give the catalogue inline, not as a file name: a job keeps its scenario, not the files "
        "it names"
    ),
    "population.file": Message(
        "give a population file inline, not as a file name: a job keeps its scenario, not the "
        "files it names"
    ),
}
MEDIA_TYPES = {
    ".parquet": "application/vnd.apache.parquet",
    ".json": "application/json",
    ".png": "image/png",
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


# --- the scenario a job runs ------------------------------------------------------------------


def _parsed(document: Any) -> Any:
    """A scenario given as YAML or JSON text, parsed; plain data passes through."""
    if isinstance(document, bytes):
        document = document.decode("utf-8", errors="replace")
    if not isinstance(document, str):
        return document
    try:
        return yaml.safe_load(document)  # JSON is YAML
    except PARSE_ERRORS as error:
        problem = Problem("", Message("not valid YAML/JSON: %(error)s", error=str(error)))
        raise Invalid("scenario", [problem]) from None


def _file_problems(document: Mapping[str, Any]) -> list[Problem]:
    problems = []
    population = document.get("population")
    named = {
        "catalogue": document.get("catalogue"),
        "population.file": population.get("file") if isinstance(population, Mapping) else None,
    }
    for field, value in named.items():
        if isinstance(value, str):
            problems.append(Problem(field, _FILE_FIELDS[field]))
    return problems


def _without_files(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document without the file names refused by :func:`_file_problems` (so that the rest
    is still checked, and no file on the server is ever opened on a user's word)."""
    rest = dict(document)
    if isinstance(rest.get("catalogue"), str):
        rest.pop("catalogue")
    population = rest.get("population")
    if isinstance(population, Mapping) and isinstance(population.get("file"), str):
        rest["population"] = {k: v for k, v in population.items() if k != "file"}
    return rest


def _follows_from(problem: Problem, refused: set[str]) -> bool:
    """Whether ``problem`` only repeats a file name refused: the field is not also "required",
    nor are the scenario's kits and products "unknown" to a catalogue not given inline."""
    if any(problem.field == field or problem.field.startswith(field + ".") for field in refused):
        return True
    return "catalogue" in refused and problem.message in ("unknown kit", "unknown product")


def simulation_scenario(
    document: Any, overrides: SimulationOverrides | Mapping[str, Any] | None = None
) -> tuple[Scenario, SimulationOverrides]:
    """The scenario a simulation job runs, validated by the ladder's own loader, with the
    overrides applied; :class:`Invalid` lists every problem of both (overrides under
    ``overrides.``)."""
    document = _parsed(document)
    if not isinstance(document, Mapping):
        raise Invalid(
            "scenario",
            [
                Problem(
                    "",
                    Message(
                        "a scenario is a mapping of its sections "
                        "(name, catalogue, population, policy, ...)"
                    ),
                )
            ],
        )
    problems = _file_problems(document)
    refused = {problem.field for problem in problems}
    scenario: Scenario | None = None
    try:
        scenario = validate_scenario(_without_files(document), Path("."), "scenario")
    except CatalogueError as error:
        problems.extend(p for p in error.problems if not _follows_from(p, refused))
    checked = overrides
    if not isinstance(overrides, SimulationOverrides):
        from pydantic import ValidationError

        try:
            checked = SimulationOverrides.model_validate(dict(overrides or {}))
        except ValidationError as error:  # in the same words as the scenario's problems
            checked = None
            problems.extend(pydantic_problems(error, {}, prefix="overrides."))
    if problems or scenario is None or checked is None:
        raise Invalid("scenario", problems or [Problem("", Message("not a valid scenario"))])
    assert isinstance(checked, SimulationOverrides)
    scenario = with_overrides(
        scenario, farmers=checked.farmers, seasons=checked.seasons, seed=checked.seed
    )
    return scenario, checked


def _as_json(document: Any) -> Any:
    """Plain JSON data (YAML may carry dates or integer keys)."""
    return json.loads(json.dumps(document, default=str))


# --- what people do -----------------------------------------------------------------------------


def submit_simulation(
    actor: Actor,
    scenario_document: Mapping[str, Any] | str | bytes,
    overrides: SimulationOverrides | Mapping[str, Any] | None = None,
) -> Job:
    """Queue a simulation of ``scenario_document`` (the scenario itself: a mapping, or YAML/JSON
    text, catalogue inline) with the ``overrides`` (farmers, seasons, seed, chunk, charts).

    Refused (:class:`Invalid`, every problem with its field path) unless the ladder's loader
    accepts the scenario; the worker runs it later (:mod:`alianza.platform.jobs.worker`)."""
    actor.require(Permission.SIMULATIONS_RUN)
    document = _parsed(scenario_document)
    scenario, checked = simulation_scenario(document, overrides)
    job = Job(
        programme_id=actor.programme_id,
        kind=JobKind.SIMULATION,
        state=JobState.QUEUED,
        parameters={
            "scenario": _as_json(document),
            "overrides": checked.model_dump(exclude_defaults=True),
        },
        progress_done=0,
        progress_total=int(farmers_per_market(scenario).sum()),
        message="",
        message_parts=None,
        created_by=actor.user_id,
        created_at=now(),
    )
    actor.session.add(job)
    actor.session.flush()  # the audit entry names the job by its id
    record_for(actor, "create", job, after=_audited(job))
    return job


def _audited(job: Job) -> dict[str, Any]:
    """The job as the audit log keeps it: the scenario by name, not the whole document."""
    fields = snapshot(job)
    scenario = job.parameters.get("scenario") or {}
    fields["parameters"] = {
        "scenario": scenario.get("name"),
        "overrides": job.parameters.get("overrides", {}),
    }
    return fields


def list_jobs(actor: Actor, limit: int = 50, offset: int = 0) -> Page:
    """The programme's jobs, newest first, one page at a time, as the worker has left them."""
    # populate_existing: a job already loaded in this session shows its progress of now.
    statement = select(Job).order_by(Job.id.desc()).execution_options(populate_existing=True)
    return paged(actor, statement, limit, offset)


def get_job(actor: Actor, job_id: int) -> Job:
    """One of the programme's jobs as the worker has left it (:class:`NotFound` for another
    programme's)."""
    job = get(actor, Job, job_id)
    actor.session.refresh(job)  # its progress of now, even when this session loaded it before
    return job


def cancel_job(actor: Actor, job_id: int) -> Job:
    """Cancel a queued or running job: a queued job never starts, a running one is stopped by
    its worker at its next progress report. A finished job is refused (nothing to cancel)."""
    actor.require(Permission.SIMULATIONS_RUN)
    get(actor, Job, job_id)
    job = actor.session.scalar(
        scoped(actor, select(Job))
        .where(Job.id == job_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert job is not None
    if job.state in FINAL_STATES:
        raise Refused(
            Message(
                "job %(id)s is %(state)s: only a queued or running job can be cancelled",
                id=job_id,
                state=job.state.value,
            ),
            rule="job states",
        )
    before = _audited(job)
    job.state = JobState.CANCELLED
    job.finished_at = now()
    job.translatable_message = Message("cancelled")
    record_for(actor, "cancel", job, before=before, after=_audited(job))
    return job


def output_folder(job: Job, data_dir: Path | None = None) -> Path:
    """The folder a job writes its outputs to: ``jobs/<id>`` in the data directory."""
    base = data_dir if data_dir is not None else jobs_config().data_dir
    return base / (job.output_dir or f"jobs/{job.id}")


def _finished_folder(actor: Actor, job_id: int, data_dir: Path | None) -> Path:
    job = get_job(actor, job_id)
    if job.state is not JobState.SUCCEEDED:
        raise Refused(
            Message(
                "job %(id)s is %(state)s: outputs exist once it has succeeded",
                id=job_id,
                state=job.state.value,
            ),
            rule="job outputs",
        )
    return output_folder(job, data_dir)


def _file(folder: Path, path: Path) -> JobFile:
    return JobFile(
        path.name,
        path,
        path.stat().st_size,
        MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream"),
    )


def job_outputs(actor: Actor, job_id: int, data_dir: Path | None = None) -> JobOutputs:
    """A succeeded job's summary (its ``summary.json``) and downloadable files (Parquet tables,
    the summary, the charts), by name."""
    folder = _finished_folder(actor, job_id, data_dir)
    summary_path = folder / "summary.json"
    if not summary_path.is_file():
        raise NotFound(
            Message(
                "the outputs of job %(id)s are gone from %(folder)s", id=job_id, folder=str(folder)
            )
        )
    files = [
        _file(folder, path)
        for path in sorted(folder.iterdir())
        if path.is_file() and not path.is_symlink()
    ]
    return JobOutputs(job_id, json.loads(summary_path.read_text()), files)


def job_file(actor: Actor, job_id: int, name: str, data_dir: Path | None = None) -> JobFile:
    """One output file of a succeeded job, by its name in the job's folder. A name that leads
    outside the folder (``../``, an absolute path, a link) is the same :class:`NotFound` as a
    file that does not exist."""
    folder = _finished_folder(actor, job_id, data_dir).resolve()
    missing = NotFound(Message("job %(id)s has no output '%(name)s'", id=job_id, name=name))
    if not name or Path(name).name != name or name in (".", ".."):
        raise missing
    path = folder / name
    if path.is_symlink() or not path.resolve().is_relative_to(folder) or not path.is_file():
        raise missing
    return _file(folder, path)


# --- what the worker does --------------------------------------------------------------------


def claim_next_job(session: Session, worker: str) -> Job | None:
    """The oldest queued job, now running on ``worker`` (None when nothing is queued).

    Atomic against other workers: on PostgreSQL the row is locked with ``FOR UPDATE SKIP
    LOCKED`` (a second worker takes the next job instead of waiting); on SQLite the session's
    transaction holds the database's write lock from its first statement (``BEGIN IMMEDIATE``,
    see :func:`alianza.platform.db.make_engine`). The caller commits at once."""
    job = session.scalar(
        select(Job)
        .where(Job.state == JobState.QUEUED)
        .order_by(Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if job is None:
        return None
    moment = now()
    job.state = JobState.RUNNING
    job.started_at = moment
    job.heartbeat_at = moment
    job.worker = worker
    job.output_dir = f"jobs/{job.id}"
    job.translatable_message = ""
    session.flush()
    return job


def _running(job_id: int) -> Any:
    return update(Job).where(Job.id == job_id, Job.state == JobState.RUNNING)


def record_progress(
    session: Session, job_id: int, done: int, message: str | None = None
) -> JobState:
    """Record a running job's progress (farmers simulated) and heartbeat, and its ``message``
    when given (a :class:`Message`, said in the reader's language); return the job's state, so
    that the worker stops a job that was cancelled or taken for interrupted meanwhile."""
    values: dict[str, Any] = {"progress_done": done, "heartbeat_at": now()}
    if message is not None:
        values.update(message_columns(message))
    session.execute(_running(job_id).values(**values))
    state = session.scalar(select(Job.state).where(Job.id == job_id))
    if state is None:
        raise NotFound(Message("no job %(id)s", id=job_id))
    return JobState(state)


def finish_job(session: Session, job_id: int, message: str = "") -> bool:
    """Mark a running job succeeded, its progress complete, with ``message`` (what it did, a
    :class:`Message`); False when it was no longer running (cancelled meanwhile: the
    cancellation stands)."""
    result = session.execute(
        _running(job_id).values(
            state=JobState.SUCCEEDED,
            progress_done=Job.progress_total,
            finished_at=now(),
            heartbeat_at=now(),
            **message_columns(message),
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def fail_job(session: Session, job_id: int, message: str) -> bool:
    """Mark a running job failed with ``message`` (what went wrong, for the page: a
    :class:`Message`, an exception's text among its values); False when it was no longer
    running."""
    result = session.execute(
        _running(job_id).values(
            state=JobState.FAILED, finished_at=now(), **message_columns(message)
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_interrupted(
    session: Session, stale_after: timedelta | None = None, data_dir: Path | None = None
) -> list[int]:
    """Mark failed every running job whose worker has not beaten for ``stale_after`` (its worker
    died: the machine restarted, the process was killed); return their ids.

    Called when the server and each worker start, and by an idle worker now and then. Only
    running jobs are touched (a finished job, its row and its outputs, stay as they are); the
    partial outputs of an interrupted job are removed."""
    config = jobs_config()
    stale_after = stale_after if stale_after is not None else config.stale_after
    cutoff = now() - stale_after
    stale = list(
        session.scalars(
            select(Job)
            .where(Job.state == JobState.RUNNING, Job.heartbeat_at < cutoff)
            .order_by(Job.id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
    )
    for job in stale:
        beat = job.heartbeat_at
        job.state = JobState.FAILED
        job.finished_at = now()
        if beat is None:
            job.translatable_message = Message(
                "interrupted: its worker (%(worker)s) stopped (last heard of never); "
                "submit it again",
                worker=str(job.worker),
            )
        else:
            job.translatable_message = Message(
                "interrupted: its worker (%(worker)s) stopped (last heard of %(last)s); "
                "submit it again",
                worker=str(job.worker),
                last=_iso(beat),
            )
        shutil.rmtree(output_folder(job, data_dir or config.data_dir), ignore_errors=True)
    session.flush()
    return [job.id for job in stale]


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat(sep=" ")
