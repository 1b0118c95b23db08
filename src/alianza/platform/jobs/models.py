"""The job table: one row per background job, from queued to succeeded, failed or cancelled.

A job's message (what the worker or a cancellation says of it) is kept twice: ``message``, its
English text (readable in SQL and by the CLI), and ``message_parts``, the
:class:`~alianza.problems.Message` it was written as (its template and values), so that a page
can say it in the reader's language (:attr:`Job.translatable_message`). ``message_parts`` is
null for a message written as plain text and for jobs older than migration 0011.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from alianza.platform.db import Base
from alianza.problems import from_parts, message_parts

# What the message column keeps at most (an exception's text can be long).
MESSAGE_LENGTH = 4000


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
    # The Message the text was written as: {"template": ..., "values": {...}} (see the module).
    message_parts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Relative to the data directory (jobs/<id>), so that the directory can move.
    output_dir: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The worker running the job (host:pid) and when it last said it was alive.
    worker: Mapped[str | None] = mapped_column(String(120))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def translatable_message(self) -> str:
        """The job's message as it was written: a :class:`~alianza.problems.Message` (its
        template and values) that a page says in the reader's language, or the plain text of a
        message that has no parts (written as text, or before migration 0011)."""
        return from_parts(self.message, self.message_parts)

    @translatable_message.setter
    def translatable_message(self, message: str) -> None:
        for column, value in message_columns(message).items():
            setattr(self, column, value)


def message_columns(message: str) -> dict[str, Any]:
    """The columns that keep ``message`` (a :class:`~alianza.problems.Message` or plain text):
    its English text and, for a Message, its parts; for an ``UPDATE`` or a row alike."""
    return {"message": str(message)[:MESSAGE_LENGTH], "message_parts": message_parts(message)}
