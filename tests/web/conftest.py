"""Web tests: the app on a fresh migrated SQLite database, a TestClient on it, and for the
browser tests a live server (uvicorn in a thread) with Chromium driven by Playwright; the demo
programmes, seeded once per run in template databases (SQLite files, PostgreSQL templates) that
the fixtures needing a demo copy.

Chromium is Debian's (/usr/bin/chromium, or `chromium` on the PATH): where it is missing the
browser tests skip with a message, except under CI (CI set), where they fail."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from alianza.settings import Settings
from alianza.web.app import create_app
from tests.postgres import Server

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def settings_for(data_dir: Path, database: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{database}",
        secret_key="test-secret-key",
        default_locale="en",
        dashboard_seconds=0,  # tests read their own writes; test_dashboard.py tests the cache
    )


@pytest.fixture
def settings(tmp_path: Path, migrated_template: Path) -> Settings:
    database = tmp_path / "alianza.db"
    shutil.copy(migrated_template, database)
    return settings_for(tmp_path, database)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client that sees server errors as responses (as a browser would), lifespan run."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def bearer_for(client: TestClient, settings: Settings, username: str = "ana") -> str:
    """A user (administrator of a programme P1) and a bearer token of theirs."""
    from alianza.platform.db import Database
    from alianza.platform.programmes.service import create_programme, create_user

    database = Database(settings.database_url)
    with database.session() as session:
        user = create_user(
            session,
            {"username": username, "display_name": username.title(), "password": "s3cret-pass"},
        )
        create_programme(
            session, {"code": f"P-{username}", "name": "P", "reporting_currency": "USD"}, user
        )
    database.dispose()
    answer = client.post(
        "/api/v1/auth/token", data={"username": username, "password": "s3cret-pass"}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


@pytest.fixture
def user_client(client: TestClient, settings: Settings) -> TestClient:
    """``client`` signed in (a bearer token: pages and API alike)."""
    client.headers["Authorization"] = f"Bearer {bearer_for(client, settings)}"
    return client


# --- the browser ---------------------------------------------------------------------------------


def chromium_path() -> str | None:
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[str]:
    """The app on the demo programme, served by uvicorn on a free 127.0.0.1 port in a thread;
    yields its base URL (sign in as one of ROLE_USERS)."""
    import uvicorn

    folder = tmp_path_factory.mktemp("live")
    database = folder / "alianza.db"
    shutil.copy(demo_template, database)
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings_for(folder, database)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium under Playwright; skipped where absent (failed under CI)."""
    executable = chromium_path()
    if executable is None:
        message = "Chromium not found (apt-get install chromium): browser tests skipped"
        if os.environ.get("CI"):  # CI installs Chromium (.ci/run): its absence is a failure
            pytest.fail(message.replace("skipped", "cannot run in CI"))
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # pragma: no cover - playwright is a dev dependency
        if os.environ.get("CI"):
            pytest.fail(f"playwright is not installed: {error}")
        pytest.skip(f"playwright is not installed: {error}")
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    except Exception as error:
        playwright.stop()
        if os.environ.get("CI"):
            pytest.fail(f"Chromium at {executable} does not start: {error}")
        pytest.skip(f"Chromium at {executable} does not start: {error}")
    try:
        yield launched
    finally:
        launched.close()
        playwright.stop()


# --- a seeded demo programme and a client per role ------------------------------------------

DEMO_PASSWORD = "alianza-demo"
# One demo user per role (alianza.platform.demo: `alianza demo seed` makes them).
ROLE_USERS = {
    "administrator": "admin",
    "programme_manager": "gestora",
    "evaluator": "evaluadora",
    "field_officer": "tecnico",
    "po_representative": "cooperativa",
    "buyer": "comprador",
    "lender": "banco",
    "auditor": "auditora",
}


def seed_full_demo(url: str) -> None:
    """The demo's productive alliances (DEMO-PA), its POs past the calls' 25 members so that
    every state of the cycle is there, without the Micro Investing programme."""
    from alianza.platform.db import Database
    from alianza.platform.demo.service import seed_demo

    database = Database(url)
    with database.session() as session:
        seed_demo(session, 1, members_per_po=(26, 32), mi_farmers=0)
    database.dispose()


def add_micro_investing(url: str) -> None:
    """A small Micro Investing programme (DEMO-MI, 300 farmers) added to the full demo: the two
    make the records of ``seed_demo(session, 1, members_per_po=(26, 32), mi_farmers=300)``,
    which seeds the alliances first and then calls this same seed_micro_investing."""
    from alianza.platform.db import Database
    from alianza.platform.demo.microinvesting import seed_micro_investing

    database = Database(url)
    with database.session() as session:
        seed_micro_investing(session, 1, 300)
    database.dispose()


def _seeded_copy(
    tmp_path_factory: pytest.TempPathFactory, template: Path, fill: Callable[[str], None]
) -> Path:
    seeded = tmp_path_factory.mktemp("demo-db") / "demo.db"
    shutil.copy(template, seeded)
    fill(f"sqlite:///{seeded}")
    return seeded


@pytest.fixture(scope="session")
def full_demo_template(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path) -> Path:
    """A SQLite file holding the full demo (every state of the cycle), seeded once per run."""
    return _seeded_copy(tmp_path_factory, migrated_template, seed_full_demo)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory, full_demo_template: Path) -> Path:
    """A SQLite file holding the demo programmes with their users, seeded once per run."""
    return _seeded_copy(tmp_path_factory, full_demo_template, add_micro_investing)


@pytest.fixture(scope="session")
def postgres_full_demo(postgres: Server, postgres_migrated: str) -> Iterator[str]:
    """full_demo_template's PostgreSQL twin: a template database, seeded once per run."""
    with postgres.template("alianza_full_demo", seed_full_demo, postgres_migrated) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_demo(postgres: Server, postgres_full_demo: str) -> Iterator[str]:
    """demo_template's PostgreSQL twin: a template database, seeded once per run."""
    with postgres.template("alianza_demo", add_micro_investing, postgres_full_demo) as url:
        yield url


@contextmanager
def copy_of(
    request: pytest.FixtureRequest, kind: Literal["demo", "full_demo"], folder: Path
) -> Iterator[str]:
    """A fresh database of its own, a copy of the ``kind`` template on the backend
    ``request.param`` names (a SQLite file in ``folder``, or a PostgreSQL database dropped on
    exit); yields its URL. The templates are made the first time one is asked for."""
    if request.param == "sqlite":
        database = folder / "alianza.db"
        shutil.copy(request.getfixturevalue(f"{kind}_template"), database)
        yield f"sqlite:///{database}"
        return
    postgres: Server = request.getfixturevalue("postgres")
    template: str = request.getfixturevalue(f"postgres_{kind}")
    with postgres.database(f"alianza_{kind}_copy", template) as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def demo_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database with the demo programme, once per backend and run (PostgreSQL where
    ALIANZA_TEST_DATABASE_URL reaches a server; under CI it must). Tests that write through
    it keep to what they create, or use ``demo_client`` copies (SQLite)."""
    with copy_of(request, "demo", tmp_path_factory.mktemp("demo-copy")) as url:
        yield url


@pytest.fixture(scope="session")
def demo_app(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    folder = tmp_path_factory.mktemp("demo-data")
    return create_app(
        Settings(
            data_dir=folder,
            database_url=demo_url,
            secret_key="test",
            default_locale="en",
            dashboard_seconds=0,
        )
    )


@pytest.fixture(scope="session")
def role_clients(demo_app: FastAPI) -> Iterator[dict[str, TestClient]]:
    """A TestClient per role, each with its own bearer token (role name -> client)."""
    clients: dict[str, TestClient] = {}
    with TestClient(demo_app, raise_server_exceptions=False) as anonymous:
        for role, username in ROLE_USERS.items():
            answer = anonymous.post(
                "/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            client = TestClient(demo_app, raise_server_exceptions=False)
            client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
            clients[role] = client
        yield clients


def browser_sign_in(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign ``client`` in through the sign-in form, as a browser does (cookie + CSRF)."""
    import re

    page = client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post(
        "/sign-in",
        data={
            "username": username,
            "password": password,
            "csrf_token": token.group(1),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def csrf_of(client: TestClient, path: str = "/account") -> str:
    """The CSRF token of a signed-in browser client (read from a page's form)."""
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)
