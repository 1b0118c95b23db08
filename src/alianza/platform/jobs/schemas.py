"""What a simulation job takes besides its scenario, and what a page shows of a job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alianza.platform.jobs.models import Job, JobKind, JobState


class SimulationOverrides(BaseModel):
    """The command line's overrides of a scenario (``alianza simulate --farmers --seasons
    --seed --chunk``); what is not given keeps the scenario's value."""

    model_config = ConfigDict(extra="forbid")

    farmers: int | None = Field(default=None, ge=1, description="Number of farmers.")
    seasons: int | None = Field(default=None, ge=1, le=400, description="Number of seasons.")
    seed: int | None = Field(default=None, ge=0, description="Seed of every random stream.")
    chunk: int = Field(default=10_000, ge=1, description="Farmers per chunk (whole markets).")
    charts: bool = Field(default=True, description="Write the PNG charts.")


class JobOut(BaseModel):
    """A job as a page or the API shows it (the parameters stay in the database)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: JobKind
    state: JobState
    progress_done: int
    progress_total: int
    message: str
    created_by: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None

    @property
    def fraction_done(self) -> float:
        """Progress between 0 and 1 (farmers simulated over farmers in all)."""
        return self.progress_done / self.progress_total if self.progress_total else 0.0

    @classmethod
    def of(cls, job: Job) -> JobOut:
        """The job as shown, its ``message`` the :class:`~alianza.problems.Message` it was
        written as (a page says it in the reader's language)."""
        out = cls.model_validate(job)
        out.message = job.translatable_message  # set after validation, which makes it plain str
        return out


@dataclass(frozen=True)
class JobFile:
    """One downloadable output of a job: its name in the job's folder, where it is, its size,
    and the media type to serve it with."""

    name: str
    path: Path
    bytes: int
    media_type: str


@dataclass(frozen=True)
class JobOutputs:
    """What a finished simulation job produced: the summary (``summary.json``, as written by
    :func:`alianza.ladder.outputs.write_outputs`) and its files."""

    job_id: int
    summary: dict[str, Any]
    files: list[JobFile]
