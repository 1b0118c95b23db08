"""The job table: one row per background job, from queued to succeeded, failed or cancelled."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from alianza.platform.db import Base


class JobKind(enum.StrEnum):
    """What a job does (one kind today; the table is meant for other long work too)."""

    SIMULATION = "simulation"


class JobState(enum.StrEnum):
    """Where a job stands: queued -> running -> succeeded | failed; queued or running ->
    cancelled. The last three are final: nothing changes a finished job."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


def _values(enum_type: type[enum.Enum]) -> list[str]:
    return [str(member.value) for member in enum_type]


class Job(Base):
    """A background job of a programme: its parameters, state, progress and outputs."""

    __tablename__ = "jobs"
    __table_args__ = (
        # The worker's claim reads the oldest queued job; the page lists a programme's newest.
        Index("ix_jobs_state_id", "state", "id"),
        Index("ix_jobs_programme_id_id", "programme_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    kind: Mapped[JobKind] = mapped_column(
        Enum(
            JobKind,
            name="job_kind",
            native_enum=False,
            create_constraint=True,
            length=20,
            values_callable=_values,
        )
    )
    state: Mapped[JobState] = mapped_column(
        Enum(
            JobState,
            name="job_state",
            native_enum=False,
            create_constraint=True,
            length=20,
            values_callable=_values,
        )
    )
    # The scenario document itself (catalogue inline) and the overrides: a job never depends
    # on a file that may be gone (an upload's temporary file) by the time it runs.
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text, default="")
    # Relative to the data directory (jobs/<id>), so that the directory can move.
    output_dir: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The worker running the job (host:pid) and when it last said it was alive.
    worker: Mapped[str | None] = mapped_column(String(120))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
