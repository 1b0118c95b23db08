"""Where jobs write their outputs and which Dask scheduler runs them: the one place the jobs
read their configuration (to be pointed at the settings object once it exists)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from alianza.platform.db import data_dir


@dataclass(frozen=True)
class JobsConfig:
    """``data_dir``: outputs go to ``data_dir/jobs/<id>/``; ``dask_scheduler``: the address of
    a Dask scheduler (``tcp://host:8786``), or None for a local cluster started by the worker;
    ``stale_after``: a running job whose worker has not beaten for this long is taken for
    interrupted (a worker beats every few seconds, see :mod:`alianza.platform.jobs.worker`)."""

    data_dir: Path
    dask_scheduler: str | None = None
    stale_after: timedelta = timedelta(seconds=60)


def jobs_config() -> JobsConfig:
    """The jobs' configuration: the platform's data directory and ``ALIANZA_DASK_SCHEDULER``."""
    return JobsConfig(
        data_dir=data_dir(), dask_scheduler=os.environ.get("ALIANZA_DASK_SCHEDULER") or None
    )
