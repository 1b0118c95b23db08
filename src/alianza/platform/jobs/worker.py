"""The worker: a process of its own (``alianza worker``) that claims queued jobs and runs them.

A simulation job runs through the same runners as ``alianza simulate``: on the Dask scheduler
configured (``ALIANZA_DASK_SCHEDULER``), else on a Dask ``LocalCluster`` the worker starts once
and keeps (``local_workers`` processes; 0 simulates in the worker's own process). Its outputs go
to ``jobs/<id>/`` in the data directory. While it runs, a reporter thread writes the progress to
the job's row at most once a ``progress_interval`` and beats at least once a
``heartbeat_interval`` (even while one long chunk computes), and learns from the row when the job
was cancelled; the job then stops at its next chunk.

The web server never simulates: it starts one worker with :func:`start_worker_process` and stops
it with :meth:`WorkerProcess.stop` (SIGTERM; the job in hand fails as "stopped" at its next
chunk, and a worker killed outright leaves a job that :func:`~alianza.platform.jobs.service.
mark_interrupted` fails once its heartbeat is stale).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from alianza.platform.db import Database
from alianza.platform.errors import Invalid
from alianza.platform.jobs.config import JobsConfig, jobs_config
from alianza.platform.jobs.models import JobState
from alianza.platform.jobs.service import (
    claim_next_job,
    fail_job,
    finish_job,
    mark_interrupted,
    record_progress,
    simulation_scenario,
)
from alianza.problems import Message

log = logging.getLogger("alianza.jobs")
STOPPED = Message("stopped: the worker was shut down before the job finished; submit it again")


class JobStopped(Exception):
    """The job in hand must stop: it was cancelled (or taken for interrupted), or the worker is
    stopping."""


def default_worker_name() -> str:
    """host:pid, which the job's row keeps so that an operator knows which process ran it."""
    return f"{socket.gethostname()}:{os.getpid()}"


class _Reporter(threading.Thread):
    """Writes one running job's progress and heartbeat to its row from a thread of its own, and
    tells the runner's progress callback (:meth:`advance`) when the job must stop."""

    def __init__(self, worker: Worker, job_id: int) -> None:
        super().__init__(name=f"job-{job_id}-reporter", daemon=True)
        self.worker = worker
        self.job_id = job_id
        self.done = 0
        self._written = 0
        self._beaten = time.monotonic()
        self._halt = threading.Event()
        self.no_longer_running = threading.Event()

    def advance(self, farmers: int) -> None:
        """The runners' progress callback: ``farmers`` more simulated (a chunk's worth)."""
        if self.no_longer_running.is_set() or self.worker.stopping.is_set():
            raise JobStopped()
        self.done += farmers

    def run(self) -> None:
        while not self._halt.wait(self.worker.progress_interval):
            if self.worker.orphaned():
                self.worker.stop()
            due = time.monotonic() - self._beaten >= self.worker.heartbeat_interval
            if self.done != self._written or due:
                self._write()

    def _write(self) -> None:
        done = self.done
        try:
            with self.worker.database.session() as session:
                state = record_progress(session, self.job_id, done)
        except Exception:  # a database hiccup: the next beat tries again
            log.exception("job %s: could not record progress", self.job_id)
            return
        self._written, self._beaten = done, time.monotonic()
        if state is not JobState.RUNNING:
            self.no_longer_running.set()

    def halt(self) -> None:
        self._halt.set()
        if self.is_alive():
            self.join()


@dataclass
class Worker:
    """Claims queued jobs from ``database`` one at a time and runs them (see the module)."""

    database: Database
    config: JobsConfig = field(default_factory=jobs_config)
    # Dask worker processes of the local cluster when no scheduler is configured (0: simulate in
    # this process, for tests and the smallest machines).
    local_workers: int = 1
    progress_interval: float = 1.0
    heartbeat_interval: float = 5.0
    name: str = field(default_factory=default_worker_name)
    # The process to outlive not (the web server that started this worker), if any.
    parent_pid: int | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    _client: Any = None
    _cluster: Any = None

    # --- running jobs -------------------------------------------------------------------------

    def run_once(self) -> int | None:
        """Claim the oldest queued job and run it to its end; its id, or None when nothing was
        queued. A job's failure is written to its row, never raised."""
        with self.database.session() as session:
            job = claim_next_job(session, self.name)
            if job is None:
                return None
            job_id, parameters = job.id, job.parameters
        folder = self.config.data_dir / "jobs" / str(job_id)
        reporter = _Reporter(self, job_id)
        reporter.start()
        log.info("job %s: started on %s", job_id, self.name)
        started = time.perf_counter()
        try:
            farmers, seasons = self._simulate(parameters, folder, reporter)
        except JobStopped:
            reporter.halt()
            shutil.rmtree(folder, ignore_errors=True)
            if self.stopping.is_set():
                self._fail(job_id, STOPPED)
            log.info("job %s: stopped", job_id)
            return job_id
        except Invalid as refusal:  # the scenario no longer passes (validation changed)
            reporter.halt()
            problems = "; ".join(str(p) for p in refusal.problems)
            self._fail(job_id, Message("invalid scenario: %(problems)s", problems=problems))
            return job_id
        except Exception as error:
            reporter.halt()
            shutil.rmtree(folder, ignore_errors=True)
            if self.stopping.is_set():  # Ctrl-C reaches the local cluster's processes too
                self._fail(job_id, STOPPED)
                return job_id
            log.exception("job %s: failed", job_id)
            self._fail(
                job_id, Message("%(kind)s: %(error)s", kind=type(error).__name__, error=str(error))
            )
            self.close()  # the next job gets a fresh Dask client, should this one be broken
            return job_id
        reporter.halt()
        elapsed = time.perf_counter() - started
        # Decimals, so that the count and the seconds are written for the reader's locale.
        message = Message(
            "%(farmers)s farmers x %(seasons)s seasons in %(seconds)s s",
            farmers=Decimal(farmers),
            seasons=seasons,
            seconds=Decimal(f"{elapsed:.1f}"),
        )
        with self.database.session() as session:
            finished = finish_job(session, job_id, message)
        if not finished:  # cancelled while the outputs were written
            shutil.rmtree(folder, ignore_errors=True)
        log.info("job %s: %s", job_id, "succeeded" if finished else "cancelled")
        return job_id

    def _fail(self, job_id: int, message: str) -> None:
        with self.database.session() as session:
            fail_job(session, job_id, message)
        log.info("job %s: failed: %s", job_id, message)

    def _simulate(
        self, parameters: Mapping[str, Any], folder: Path, reporter: _Reporter
    ) -> tuple[int, int]:
        """Run a simulation job's scenario into ``folder`` as ``alianza simulate`` does; the
        farmers and seasons simulated."""
        from alianza.ladder.outputs import write_outputs
        from alianza.ladder.runner import farmers_per_market, run_dask, run_local

        scenario, overrides = simulation_scenario(
            parameters["scenario"], parameters.get("overrides")
        )
        shutil.rmtree(folder, ignore_errors=True)  # a claimed job starts from an empty folder
        client = self.client()
        if client is None:
            result = run_local(scenario, overrides.chunk, folder, reporter.advance)
        else:
            result = run_dask(scenario, client, overrides.chunk, folder, reporter.advance)
        if reporter.no_longer_running.is_set() or self.stopping.is_set():
            raise JobStopped()
        write_outputs(result, folder, charts=overrides.charts)
        return int(farmers_per_market(scenario).sum()), scenario.seasons

    def client(self) -> Any:
        """The Dask client the worker keeps (None: simulate in this process)."""
        if self._client is None and (self.config.dask_scheduler or self.local_workers > 0):
            from dask.distributed import Client

            if self.config.dask_scheduler:
                self._client = Client(self.config.dask_scheduler)
            else:
                from alianza.ladder.runner import local_cluster

                self._cluster = local_cluster(self.local_workers)
                self._client = Client(self._cluster)
        return self._client

    # --- the loop -------------------------------------------------------------------------------

    def sweep(self) -> list[int]:
        """Fail the jobs of dead workers (:func:`mark_interrupted`)."""
        with self.database.session() as session:
            interrupted = mark_interrupted(session, self.config.stale_after, self.config.data_dir)
        for job_id in interrupted:
            log.warning("job %s: marked failed, its worker stopped beating", job_id)
        return interrupted

    def run_forever(self, poll_interval: float = 2.0) -> None:
        """Run jobs until :meth:`stop` (or the parent process is gone); between jobs, look for
        new ones every ``poll_interval`` seconds and sweep the jobs of dead workers."""
        log.info("worker %s: waiting for jobs", self.name)
        while not self.stopping.is_set() and not self.orphaned():
            try:
                self.sweep()
                while not (self.stopping.is_set() or self.orphaned()) and self.run_once():
                    pass  # one job after another while some are queued
            except Exception:  # the database restarting, say: the worker keeps trying
                log.exception("worker %s: could not reach the jobs; trying again", self.name)
            self.stopping.wait(poll_interval)

    def orphaned(self) -> bool:
        """Whether the process that started this worker is gone (it was re-parented)."""
        return self.parent_pid is not None and os.getppid() != self.parent_pid

    def stop(self) -> None:
        """Ask the worker to stop: it leaves its loop, and the job in hand stops at its next
        chunk (failed as "stopped")."""
        self.stopping.set()

    def close(self) -> None:
        """Close the Dask client and the local cluster the worker started."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def run_worker(
    database: Database, *, once: bool = False, poll_interval: float = 2.0, **options: Any
) -> int | None:
    """Run a :class:`Worker` in this process until SIGTERM/SIGINT (or one job with ``once``);
    what ``alianza worker`` does. Returns the id of the job run with ``once``."""
    worker = Worker(database, **options)

    def stop(_signal: int, _frame: Any) -> None:
        worker.stop()

    previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        if once:
            worker.sweep()
            return worker.run_once()
        worker.run_forever(poll_interval)
        return None
    finally:
        worker.close()
        for number, handler in previous.items():
            signal.signal(number, handler)


# --- a worker for the web server ------------------------------------------------------------------


@dataclass
class WorkerProcess:
    """A worker subprocess started by :func:`start_worker_process`."""

    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> int:
        """Stop the worker (SIGTERM, then SIGKILL after ``timeout`` seconds); its exit code.
        A job it was running fails as "stopped", or, if it had to be killed, as "interrupted"
        at the next start-up once its heartbeat is stale."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_worker_process(
    database_url: str | None = None,
    *,
    local_workers: int | None = None,
    environment: Mapping[str, str] | None = None,
) -> WorkerProcess:
    """Start ``alianza worker`` as a child process of this one (the web server calls it at
    start-up, so that ``make run`` needs no second terminal); it exits when told to
    (:meth:`WorkerProcess.stop`) or when this process is gone.

    ``database_url`` (default: the platform's) and ``environment`` reach it through its
    environment, never its command line (which every user of the machine can read)."""
    command = [sys.executable, "-m", "alianza", "worker", "--parent-pid", str(os.getpid())]
    if local_workers is not None:
        command += ["--workers", str(local_workers)]
    env = {**os.environ, **(environment or {})}
    if database_url is not None:
        env["ALIANZA_DATABASE_URL"] = database_url
    return WorkerProcess(subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL))


@contextmanager
def background_worker(database_url: str | None = None, **options: Any) -> Iterator[WorkerProcess]:
    """A worker subprocess for as long as the block runs: the web app's lifespan is
    ``with background_worker(): yield`` (options as for :func:`start_worker_process`)."""
    process = start_worker_process(database_url, **options)
    try:
        yield process
    finally:
        process.stop()
