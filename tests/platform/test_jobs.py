"""Background jobs: a simulation submitted, claimed and run by a worker (in this process, on Dask
and as a real subprocess), refused when its scenario is bad, failed when its worker died, never
claimed twice, and invisible to other programmes."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import update
from sqlalchemy.orm import Session

from alianza.platform.access import Actor, act_as
from alianza.platform.audit.service import entries, now
from alianza.platform.db import Database
from alianza.platform.errors import Forbidden, Invalid, NotFound, Refused
from alianza.platform.jobs import service as jobs
from alianza.platform.jobs import worker as worker_module
from alianza.platform.jobs.config import JobsConfig
from alianza.platform.jobs.models import Job, JobState
from alianza.platform.jobs.schemas import JobOut
from alianza.platform.jobs.worker import Worker, background_worker
from alianza.platform.programmes.service import create_programme, create_user, grant_role
from alianza.problems import Message

REFERENCE = Path(__file__).parents[2] / "examples" / "scenarios" / "reference.yaml"
# A tiny run: 300 farmers in 20 markets of 15, chunks of 3-4 markets, 4 seasons.
TINY = {"farmers": 300, "seasons": 4, "chunk": 50, "charts": False}


@pytest.fixture(scope="module")
def scenario() -> dict[str, Any]:
    """The reference scenario as a document (its catalogue is inline)."""
    return yaml.safe_load(REFERENCE.read_text())


@pytest.fixture
def config(tmp_path: Path) -> JobsConfig:
    return JobsConfig(data_dir=tmp_path / "data")


def make_worker(database: Database, config: JobsConfig, **options: Any) -> Worker:
    options = {"local_workers": 0, "progress_interval": 0.01, **options}
    return Worker(database, config=config, **options)


def fresh(database: Database, job_id: int) -> Job:
    """The job's row as another session (a page's next request) reads it."""
    with database.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_a_worker_runs_a_submitted_simulation_to_its_end(
    database: Database,
    session: Session,
    admin: Actor,
    scenario: dict[str, Any],
    config: JobsConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = jobs.submit_simulation(admin, scenario, TINY)
    session.commit()
    assert (job.state, job.progress_done, job.progress_total) == (JobState.QUEUED, 0, 300)
    (created,) = entries(admin, entity="jobs")
    assert created.entity_id == job.id and created.after["id"] == job.id
    assert created.after["parameters"] == {"scenario": scenario["name"], "overrides": TINY}
    assert job.parameters["scenario"]["catalogue"]["kits"][0]["id"] == "level_0"
    session.commit()  # end the reads' transaction (on SQLite it holds the write lock)
    written: list[int] = []
    original = worker_module.record_progress

    def spy(session: Session, job_id: int, done: int, message: str | None = None) -> JobState:
        written.append(done)
        return original(session, job_id, done, message)

    monkeypatch.setattr(worker_module, "record_progress", spy)
    slow = worker_module._Reporter.advance

    def advance(self: Any, farmers: int) -> None:  # let the reporter see every chunk
        slow(self, farmers)
        time.sleep(0.05)

    monkeypatch.setattr(worker_module._Reporter, "advance", advance)
    assert make_worker(database, config).run_once() == job.id
    done = fresh(database, job.id)
    assert done.state is JobState.SUCCEEDED, done.message
    assert (done.progress_done, done.progress_total) == (300, 300)
    assert done.started_at is not None and done.finished_at is not None
    assert "300 farmers x 4 seasons" in done.message
    said = done.translatable_message  # the Message it was written as, to be said in any language
    assert isinstance(said, Message) and said == done.message
    assert said.template == "%(farmers)s farmers x %(seasons)s seasons in %(seconds)s s"
    assert (said.variables["farmers"], said.variables["seasons"]) == (Decimal(300), 4)
    progress = [done for done in written if done]  # beats at 0 while the first chunk runs
    assert progress == sorted(progress) and 0 < progress[0] < 300  # seen in between
    outputs = jobs.job_outputs(admin, job.id, config.data_dir)
    assert outputs.summary["final_season"]["all"]["farmers"] == 300
    names = {file.name for file in outputs.files}
    assert {"summary.json", "seasons.parquet", "farmers.parquet", "markets.parquet"} <= names
    summary_file = jobs.job_file(admin, job.id, "summary.json", config.data_dir)
    assert summary_file.media_type == "application/json" and summary_file.bytes > 0
    assert summary_file.path == config.data_dir / "jobs" / str(job.id) / "summary.json"
    (config.data_dir / "secret.txt").write_text("not a job's")
    (config.data_dir / "jobs" / str(job.id) / "link.txt").symlink_to(config.data_dir / "secret.txt")
    for name in (
        "../../secret.txt",
        "../secret.txt",
        str(config.data_dir / "secret.txt"),
        "link.txt",
        "",
        "..",
        "nothing.parquet",
    ):
        with pytest.raises(NotFound):
            jobs.job_file(admin, job.id, name, config.data_dir)
    session.rollback()  # end the reads' transaction (on SQLite it holds the write lock)
    assert make_worker(database, config).run_once() is None  # nothing left queued


def test_a_worker_runs_its_jobs_on_a_dask_scheduler(
    database: Database,
    session: Session,
    admin: Actor,
    scenario: dict[str, Any],
    config: JobsConfig,
) -> None:
    from dataclasses import replace

    from dask.distributed import LocalCluster

    job = jobs.submit_simulation(admin, scenario, {**TINY, "charts": True})
    session.commit()
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        worker = make_worker(database, replace(config, dask_scheduler=cluster.scheduler_address))
        try:
            assert worker.run_once() == job.id
        finally:
            worker.close()
    done = fresh(database, job.id)
    assert done.state is JobState.SUCCEEDED, done.message
    assert done.progress_done == 300
    names = {file.name for file in jobs.job_outputs(admin, job.id, config.data_dir).files}
    assert {"income_fan.png", "ladder_progression.png"} <= names
    assert jobs.job_file(admin, job.id, "income_fan.png", config.data_dir).media_type == "image/png"


def test_the_web_servers_worker_subprocess_runs_a_job_and_stops(
    database: Database,
    session: Session,
    admin: Actor,
    scenario: dict[str, Any],
    tmp_path: Path,
) -> None:
    job = jobs.submit_simulation(admin, scenario, TINY)
    session.commit()
    url = database.engine.url.render_as_string(hide_password=False)
    data = tmp_path / "worker-data"
    with background_worker(
        url, local_workers=0, environment={"ALIANZA_DATA_DIR": str(data)}
    ) as process:
        deadline = time.monotonic() + 120
        while fresh(database, job.id).state in (JobState.QUEUED, JobState.RUNNING):
            assert process.running(), "the worker exited"
            assert time.monotonic() < deadline, "the worker did not finish the job"
            time.sleep(0.2)
    code = process.process.returncode
    done = fresh(database, job.id)
    assert done.state is JobState.SUCCEEDED, done.message
    assert done.progress_done == done.progress_total == 300
    assert done.worker is not None and done.worker.endswith(f":{process.pid}")
    assert (data / "jobs" / str(job.id) / "summary.json").is_file()
    assert code == 0 and not process.running()


def test_a_bad_scenario_is_refused_with_every_field_at_fault(
    session: Session,
    admin: Actor,
    scenario: dict[str, Any],
) -> None:
    bad = {
        **scenario,
        "seasons": 0,
        "population": {**scenario["population"], "farmers": -1, "file": "farmers.csv"},
    }
    with pytest.raises(Invalid) as refused:
        jobs.submit_simulation(admin, bad, {"farmers": 0, "chunk": "many"})
    fields = {problem.field for problem in refused.value.problems}
    assert {
        "seasons",
        "population.farmers",
        "population.file",
        "overrides.farmers",
        "overrides.chunk",
    } <= fields
    with pytest.raises(Invalid) as refused:
        jobs.submit_simulation(admin, {**scenario, "catalogue": "../kits/catalogue.yaml"})
    assert [p.field for p in refused.value.problems] == ["catalogue"]
    assert "inline" in refused.value.problems[0].message
    kits = scenario["catalogue"]["kits"]
    broken = {
        **scenario,
        "catalogue": {**scenario["catalogue"], "kits": [{**kits[0], "price_usd": -10}, *kits[1:]]},
    }
    with pytest.raises(Invalid) as refused:
        jobs.submit_simulation(admin, broken)
    assert any(
        p.field.startswith("catalogue.kits[0]") and "price_usd" in p.field
        for p in refused.value.problems
    )
    for text in ("name: [unclosed", "- just\n- a list\n"):
        with pytest.raises(Invalid):
            jobs.submit_simulation(admin, text)
    assert jobs.list_jobs(admin).total == 0  # a refusal queues nothing
    # YAML text is taken as well as a mapping.
    assert jobs.submit_simulation(admin, REFERENCE.read_text(), TINY).progress_total == 300


def test_a_job_whose_worker_died_fails_at_start_up_and_a_finished_job_survives(
    database: Database,
    session: Session,
    admin: Actor,
    scenario: dict[str, Any],
    config: JobsConfig,
) -> None:
    succeeded = jobs.submit_simulation(admin, scenario, TINY)
    orphan = jobs.submit_simulation(admin, scenario, TINY)
    alive = jobs.submit_simulation(admin, scenario, TINY)
    session.commit()
    assert make_worker(database, config).run_once() == succeeded.id
    with database.session() as worker_session:
        assert jobs.claim_next_job(worker_session, "host:1").id == orphan.id
        assert jobs.claim_next_job(worker_session, "host:2").id == alive.id
        # host:1 died ten minutes ago; host:2 beat a moment ago
        worker_session.execute(
            update(Job)
            .where(Job.id == orphan.id)
            .values(heartbeat_at=now() - timedelta(minutes=10))
        )
    partial = config.data_dir / "jobs" / str(orphan.id)
    partial.mkdir(parents=True)
    (partial / "farmers.parquet").write_bytes(b"half")
    before = fresh(database, succeeded.id)
    database.dispose()  # the server restarts
    restarted = Database(database.engine.url.render_as_string(hide_password=False))
    try:
        with restarted.session() as start_up:
            assert jobs.mark_interrupted(start_up, timedelta(seconds=60), config.data_dir) == [
                orphan.id
            ]
        with restarted.session() as start_up:  # a second sweep finds nothing more
            assert jobs.mark_interrupted(start_up, timedelta(seconds=60), config.data_dir) == []
        failed = fresh(restarted, orphan.id)
        assert failed.state is JobState.FAILED and failed.finished_at is not None
        assert "interrupted" in failed.message and "host:1" in failed.message
        assert isinstance(failed.translatable_message, Message)
        assert failed.translatable_message.variables["worker"] == "host:1"
        assert not partial.exists()
        assert fresh(restarted, alive.id).state is JobState.RUNNING
        after = fresh(restarted, succeeded.id)
        assert (after.state, after.finished_at, after.message, after.progress_done) == (
            before.state,
            before.finished_at,
            before.message,
            before.progress_done,
        )
        with restarted.sessions() as reading:
            reader = act_as(reading, admin.user_id, admin.programme_id)
            assert jobs.job_outputs(reader, succeeded.id, config.data_dir).summary
    finally:
        restarted.dispose()


def test_two_workers_never_claim_the_same_job(
    database: Database,
    session: Session,
    admin: Actor,
    scenario: dict[str, Any],
) -> None:
    queued = {jobs.submit_simulation(admin, scenario, TINY).id for _ in range(8)}
    session.commit()
    start = threading.Barrier(4)
    claimed: list[int] = []
    errors: list[BaseException] = []

    def claim_all(name: str) -> None:
        try:
            start.wait()
            while True:
                with database.session() as worker_session:
                    job = jobs.claim_next_job(worker_session, name)
                    if job is None:
                        return
                    claimed.append(job.id)
                    time.sleep(0.01)  # hold the claim's lock a moment
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=claim_all, args=(f"host:{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(claimed) == sorted(queued)  # each once, none lost
    assert {fresh(database, job_id).state for job_id in queued} == {JobState.RUNNING}


def test_cancelling_stops_a_queued_or_running_job_and_refuses_a_finished_one(
    database: Database,
    session: Session,
    admin: Actor,
    scenario: dict[str, Any],
    config: JobsConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queued = jobs.submit_simulation(admin, scenario, TINY)
    session.commit()
    assert jobs.cancel_job(admin, queued.id).state is JobState.CANCELLED
    session.commit()
    assert make_worker(database, config).run_once() is None  # a cancelled job never starts
    with pytest.raises(Refused, match="is cancelled"):
        jobs.cancel_job(admin, queued.id)

    running = jobs.submit_simulation(admin, scenario, TINY)
    session.commit()
    from alianza.ladder import runner

    def cancelled_midway(scenario: Any, chunk: int, out: Path, progress: Any) -> Any:
        out.mkdir(parents=True, exist_ok=True)
        progress(50)
        with database.sessions() as other:
            jobs.cancel_job(act_as(other, admin.user_id, admin.programme_id), running.id)
            other.commit()
        for _ in range(100):
            time.sleep(0.02)
            progress(1)  # raises once the reporter has read the cancellation
        raise AssertionError("the cancellation was not noticed")

    monkeypatch.setattr(runner, "run_local", cancelled_midway)
    assert make_worker(database, config).run_once() == running.id
    stopped = fresh(database, running.id)
    assert stopped.state is JobState.CANCELLED and stopped.message == "cancelled"
    assert stopped.translatable_message.template == "cancelled"  # type: ignore[attr-defined]
    assert not (config.data_dir / "jobs" / str(running.id)).exists()
    with database.session() as worker_session:  # the worker cannot bring it back
        assert not jobs.finish_job(worker_session, running.id)
        assert not jobs.fail_job(worker_session, running.id, "late")
    assert fresh(database, running.id).state is JobState.CANCELLED


def test_a_failing_simulation_fails_its_job_with_the_reason(
    database: Database,
    session: Session,
    admin: Actor,
    scenario: dict[str, Any],
    config: JobsConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = jobs.submit_simulation(admin, scenario, TINY)
    session.commit()
    from alianza.ladder import runner

    def broken(*_args: Any) -> Any:
        raise MemoryError("out of memory")

    monkeypatch.setattr(runner, "run_local", broken)
    assert make_worker(database, config).run_once() == job.id
    failed = fresh(database, job.id)
    assert failed.state is JobState.FAILED and failed.message == "MemoryError: out of memory"
    said = failed.translatable_message  # the exception's text is a value, not a template
    assert isinstance(said, Message) and said.template == "%(kind)s: %(error)s"
    assert said.variables == {"kind": "MemoryError", "error": "out of memory"}
    with pytest.raises(Refused, match="outputs exist once it has succeeded"):
        jobs.job_outputs(admin, job.id, config.data_dir)


def test_a_jobs_message_comes_back_as_the_message_it_was_written_as(
    database: Database, session: Session, admin: Actor, scenario: dict[str, Any]
) -> None:
    """Template and values survive the database (a Decimal as a Decimal, a message within a
    message as a Message, anything else not JSON as its text); plain text stays plain text."""
    failed = jobs.submit_simulation(admin, scenario, TINY)
    legacy = jobs.submit_simulation(admin, scenario, TINY)
    session.commit()
    reason = Message("tranche %(number)s is not released yet", number=2)
    message = Message(
        "%(count)s farmers, %(share)s, %(seconds)s s, %(day)s: %(reason)s (%(error)s)",
        count=1200,
        share=Decimal("12500.50"),
        seconds=0.25,
        day=date(2026, 3, 1),
        reason=reason,
        error="ValueError: bad",
    )
    with database.session() as worker_session:
        jobs.claim_next_job(worker_session, "host:1")
        jobs.claim_next_job(worker_session, "host:1")
    with database.session() as worker_session:
        assert jobs.fail_job(worker_session, failed.id, message)
        assert jobs.fail_job(worker_session, legacy.id, "written as text")
    stored = fresh(database, failed.id)
    assert (
        stored.message
        == message
        == "1200 farmers, 12,500.50, 0.25 s, Mar 1, 2026: "
        + ("tranche 2 is not released yet (ValueError: bad)")
    )
    said = stored.translatable_message
    assert isinstance(said, Message) and said.template == message.template
    assert said.variables == {**message.variables, "day": "2026-03-01"}
    assert isinstance(said.variables["reason"], Message)
    assert said.variables["reason"].template == reason.template  # type: ignore[attr-defined]
    assert said.say("es", lambda template: template).startswith("1200 farmers, 12.500,50, 0,25 s")
    plain = fresh(database, legacy.id)
    assert plain.message_parts is None and plain.translatable_message == "written as text"
    assert not isinstance(plain.translatable_message, Message)
    assert JobOut.of(stored).message.template == message.template  # type: ignore[attr-defined]


def test_a_worker_told_to_stop_fails_the_job_in_hand_as_stopped(
    database: Database,
    session: Session,
    admin: Actor,
    scenario: dict[str, Any],
    config: JobsConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = jobs.submit_simulation(admin, scenario, TINY)
    session.commit()
    worker = make_worker(database, config)
    from alianza.ladder import runner

    def stopped_midway(scenario: Any, chunk: int, out: Path, progress: Any) -> Any:
        out.mkdir(parents=True, exist_ok=True)
        progress(50)
        worker.stop()  # what SIGTERM does (the web server shutting down)
        progress(50)
        raise AssertionError("the stop was not noticed")

    monkeypatch.setattr(runner, "run_local", stopped_midway)
    assert worker.run_once() == job.id
    stopped = fresh(database, job.id)
    assert stopped.state is JobState.FAILED and stopped.message.startswith("stopped:")
    assert not (config.data_dir / "jobs" / str(job.id)).exists()
    worker.run_forever(poll_interval=0.01)  # returns at once: the worker is stopping


def test_another_programmes_user_neither_sees_nor_cancels_the_job(
    session: Session,
    admin: Actor,
    scenario: dict[str, Any],
    config: JobsConfig,
) -> None:
    job = jobs.submit_simulation(admin, scenario, TINY)
    stranger = create_user(
        session, {"username": "mw", "display_name": "M", "password": "password1"}
    )
    other = create_programme(
        session, {"code": "MI-MW", "name": "Malawi MI", "reporting_currency": "USD"}, stranger
    )
    session.commit()
    assert jobs.list_jobs(admin).items == [job]
    page = jobs.list_jobs(other)
    assert (page.items, page.total) == ([], 0)
    for attempt in (jobs.get_job, jobs.cancel_job, jobs.job_outputs):
        with pytest.raises(NotFound, match=f"no job {job.id}"):
            attempt(other, job.id)
    with pytest.raises(NotFound):
        jobs.job_file(other, job.id, "summary.json", config.data_dir)
    shown = JobOut.of(jobs.get_job(admin, job.id))
    assert (shown.state, shown.fraction_done, shown.progress_total) == (JobState.QUEUED, 0.0, 300)


def test_a_role_without_simulations_run_may_look_but_not_submit_or_cancel(
    session: Session,
    admin: Actor,
    scenario: dict[str, Any],
) -> None:
    job = jobs.submit_simulation(admin, scenario, TINY)
    auditor = create_user(
        session, {"username": "vic", "display_name": "Vic", "password": "password1"}
    )
    grant_role(admin, auditor.id, {"role": "auditor"})
    session.commit()
    as_auditor = act_as(session, auditor.id, admin.programme_id)
    with pytest.raises(Forbidden, match="may not do simulations.run"):
        jobs.submit_simulation(as_auditor, scenario, TINY)
    with pytest.raises(Forbidden, match="may not do simulations.run"):
        jobs.cancel_job(as_auditor, job.id)
    assert jobs.get_job(as_auditor, job.id).id == job.id  # the programme's jobs are visible
    assert jobs.list_jobs(as_auditor, limit=10).total == 1


def test_list_jobs_pages_newest_first(
    session: Session,
    admin: Actor,
    scenario: dict[str, Any],
) -> None:
    ids = [jobs.submit_simulation(admin, scenario, TINY).id for _ in range(3)]
    first = jobs.list_jobs(admin, limit=2)
    second = jobs.list_jobs(admin, limit=2, offset=2)
    assert [job.id for job in first.items + second.items] == ids[::-1]
    assert first.total == second.total == 3
    with pytest.raises(Refused):
        jobs.list_jobs(admin, limit=0)
