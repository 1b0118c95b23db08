"""Benchmark: the web application under load, on PostgreSQL with the demo programme grown to
100,000 farmers, driven from a second process by 50 concurrent signed-in clients (every role,
each with its own bearer token) for 30 seconds: mixed reads (lists, searches, pages of one
record, the dashboard) and writes (farmers registered, deliveries recorded).

Target (issue 8): no errors, p95 <= 150 ms for reads, >= 300 requests/s on this 2-core machine.
Baseline printed in the same run: the same clients asking only `GET /api/v1/auth/me` (a token
check and one query), so that the ratio says what the real endpoints cost beyond the framework.

The clients are one asyncio process speaking HTTP/1.1 over keep-alive connections
(benchmarks/_server.py's KeepAlive), lean so that they leave the two cores to the server; each
sends its next request as soon as the answer to the last arrives, so the mean latency is the
number of clients over the throughput (Little's law), which the run prints beside its figures.

Run: make bench, or .venv/bin/python -P benchmarks/web.py [--farmers N] [--clients N] [--seconds S]
Needs PostgreSQL: ALIANZA_BENCH_DATABASE_URL or ALIANZA_TEST_DATABASE_URL (a server where a
scratch database may be created and dropped); skipped with a message otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import create_engine, func, select, text

# The benchmarks' shared helpers, found after the standard library (run with -P: see Makefile).
sys.path.append(str(Path(__file__).resolve().parent))
from _server import KeepAlive, free_port, scratch_database, serve  # noqa: E402

READ_P95_TARGET_MS = 150.0
THROUGHPUT_TARGET = 300.0
PASSWORD = "alianza-demo"
USERS = (
    "admin",
    "gestora",
    "evaluadora",
    "tecnico",
    "cooperativa",
    "comprador",
    "banco",
    "auditora",
)


# Names as a registry of Central American farmers has them (given name, two surnames), so that
# searches and the duplicate check see the spread of real names, not one repeated pattern.
GIVEN_NAMES = (
    "María",
    "José",
    "Ana",
    "Juan",
    "Rosa",
    "Carlos",
    "Marta",
    "Luis",
    "Carmen",
    "Jorge",
    "Elena",
    "Pedro",
    "Lucía",
    "Miguel",
    "Sofía",
    "Mario",
    "Teresa",
    "Óscar",
    "Isabel",
    "Raúl",
    "Gloria",
    "Héctor",
    "Julia",
    "Víctor",
    "Sandra",
    "Hugo",
    "Norma",
    "Ramón",
    "Delia",
    "Tomás",
)
SURNAMES = (
    "López", "García", "Hernández", "Pérez", "Martínez", "Rodríguez", "González", "Morales",
    "Ramírez", "Cruz", "Flores", "Reyes", "Díaz", "Castillo", "Mejía", "Chávez", "Ortiz",
    "Vásquez", "Ramos", "Aguilar", "Cabrera", "Juárez", "Mendoza", "Orellana", "Pineda",
    "Zelaya", "Escobar", "Guzmán", "Salazar", "Barrios", "Xol", "Caal", "Choc", "Tzul", "Coc",
)  # fmt: skip
FARMERS_PER_VILLAGE = 250
# Peru's alliances joined 87,723 households in 1,548 plans (57 each), Honduras's 12,878
# people in 120 (107 each): a programme of 100,000 farmers has some 1,500 POs, not 40.
MEMBERS_PER_PO = 75


def farmer_name(rng: random.Random) -> str:
    return f"{rng.choice(GIVEN_NAMES)} {rng.choice(SURNAMES)} {rng.choice(SURNAMES)}"


def grow(url: str, farmers: int) -> int:
    """The demo programme, then farmers copied in (COPY, not the services: a hundred thousand
    audited registrations would take longer than the benchmark) in villages of about
    :data:`FARMERS_PER_VILLAGE` farmers (new villages in the demo's municipalities), each a
    member of one of its village's POs of about :data:`MEMBERS_PER_PO` (new POs in the
    village's municipality), as a programme of that size has them; the demo's own POs keep
    their members."""
    from alianza.platform.db import Database, make_engine, upgrade
    from alianza.platform.demo.service import seed_demo
    from alianza.platform.programmes.models import Programme
    from alianza.platform.registry.models import Farmer, Place

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    database = Database(url)
    with database.session() as session:
        seed_demo(session, 1)
    with database.session() as session:
        # The alliance programme (the demo also seeds a Micro Investing one, left as it is).
        programme_id = session.scalar(select(Programme.id).where(Programme.code == "DEMO-PA"))

        def places(kind: str) -> list[int]:
            return list(
                session.scalars(
                    select(Place.id).where(Place.programme_id == programme_id, Place.kind == kind)
                )
            )

        villages, municipalities = places("village"), places("municipality")
        parent_of = dict(
            session.execute(select(Place.id, Place.parent_id).where(Place.id.in_(villages))).all()
        )
        existing = session.scalar(
            select(func.count()).select_from(Farmer).where(Farmer.programme_id == programme_id)
        )
    rng = random.Random(7)
    now = datetime.now(UTC)
    missing = max(0, farmers - existing)
    raw = database.engine.raw_connection()
    connection = raw.driver_connection
    with connection.cursor() as cursor:
        for number in range(len(villages), farmers // FARMERS_PER_VILLAGE):
            cursor.execute(
                "INSERT INTO places (programme_id, kind, name, parent_id)"
                " VALUES (%s, 'village', %s, %s) RETURNING id",
                (programme_id, f"Aldea {number + 1}", municipality := rng.choice(municipalities)),
            )
            villages.append(village := cursor.fetchone()[0])
            parent_of[village] = municipality
        # the villages' POs: ids drawn first, so that members can be copied in beside them
        cursor.execute("SELECT coalesce(max(id), 0) FROM organizations")
        next_po = cursor.fetchone()[0] + 1
        pos_of: dict[int, list[int]] = {}
        with cursor.copy(
            "COPY organizations (id, programme_id, kind, name, place_id, created_at) FROM STDIN"
        ) as copy:
            for village in villages:
                pos_of[village] = list(
                    range(next_po, next_po + FARMERS_PER_VILLAGE // MEMBERS_PER_PO)
                )
                for po in pos_of[village]:
                    name = f"Asociación de Productores {po}"
                    copy.write_row(
                        (po, programme_id, "producer_organization", name, parent_of[village], now)
                    )
                next_po += len(pos_of[village])
        cursor.execute("SELECT setval('organizations_id_seq', (SELECT max(id) FROM organizations))")
        cursor.execute("SELECT coalesce(max(id), 0) FROM farmers")
        first_id = cursor.fetchone()[0] + 1
        with cursor.copy(
            "COPY farmers (id, programme_id, name, sex, birth_year, minority, "
            "household_size, land_hectares, phone, village_id, created_at) "
            "FROM STDIN"
        ) as copy:
            homes = [rng.choice(villages) for _ in range(missing)]
            for i, village in enumerate(homes):
                copy.write_row(
                    (
                        first_id + i,
                        programme_id,
                        farmer_name(rng),
                        rng.choice(("female", "male")),
                        rng.randint(1950, 2005),
                        rng.random() < 0.3,
                        rng.randint(1, 9),
                        "1.500",
                        f"+504{30000000 + first_id + i}",
                        village,
                        now,
                    )
                )
        with cursor.copy(
            "COPY memberships (programme_id, farmer_id, organization_id) FROM STDIN"
        ) as copy:
            for i, village in enumerate(homes):
                copy.write_row((programme_id, first_id + i, rng.choice(pos_of[village])))
        cursor.execute("SELECT setval('farmers_id_seq', (SELECT max(id) FROM farmers))")
    connection.commit()
    # What autovacuum would do after a bulk load: statistics for the planner, and the
    # visibility map that lets counts read the indexes only.
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        # The settings docs/operations.md recommends for alianza (short queries, an SSD).
        name = cursor.execute("SELECT current_database()").fetchone()[0]
        for setting in ("random_page_cost = 1.1", "max_parallel_workers_per_gather = 0"):
            cursor.execute(f'ALTER DATABASE "{name}" SET {setting}')
    raw.close()
    database.dispose()
    return existing + missing


# --- the load, from a second process -------------------------------------------------------


def _requests(role_ids: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """(kind, method, path, body) the clients draw from: reads mostly, some writes (a body
    holds what :func:`_payload` completes)."""
    farmer, agreement, subproject = (
        role_ids["farmer"],
        role_ids["agreement"],
        role_ids["subproject"],
    )
    return [
        ("read", "GET", "/api/v1/subprojects?limit=20", None),
        ("read", "GET", f"/api/v1/subprojects/{subproject}", None),
        ("read", "GET", "/api/v1/farmers?q=Morales&limit=20", None),
        ("read", "GET", "/api/v1/farmers?limit=50&offset=5000", None),
        ("read", "GET", f"/api/v1/farmers/{farmer}", None),
        ("read", "GET", "/api/v1/agreements?limit=20", None),
        ("read", "GET", f"/api/v1/agreements/{agreement}/deliveries?limit=20", None),
        ("read", "GET", "/api/v1/calls", None),
        ("read", "GET", "/api/v1/dashboard", None),
        ("write", "POST", "/api/v1/farmers", {"villages": role_ids["villages"]}),
        (
            "write",
            "POST",
            f"/api/v1/agreements/{agreement}/deliveries",
            {"delivered_on": role_ids["delivered_on"]},
        ),
    ]


def _payload(body: dict[str, Any] | None, rng: random.Random) -> dict[str, Any] | None:
    """A new farmer (a name drawn afresh) in one of the villages, or a delivery on a date."""
    if body is None:
        return None
    if "villages" in body:
        return {
            "name": farmer_name(rng),
            "sex": "female",
            "birth_year": 1990,
            "household_size": 4,
            "land_hectares": "1.0",
            "village_id": rng.choice(body["villages"]),
        }
    return {"quantity": "1", "grade": "A", "reference_price": "9.00", **body}


async def _client(
    base: str,
    token: str,
    plan: list[Any],
    until: float,
    results: list[Any],
    rng: random.Random,
    once: bool = False,
) -> None:
    """Requests drawn from ``plan`` until ``until``, on one keep-alive connection; with
    ``once``, each of them once."""
    address = urlsplit(base)
    assert address.hostname is not None and address.port is not None
    connection = KeepAlive(address.hostname, address.port, {"Authorization": f"Bearer {token}"})
    queue = list(plan) if once else None
    while (queue is None and time.monotonic() < until) or queue:
        kind, method, path, body = queue.pop() if queue else rng.choice(plan)
        payload = _payload(body, rng)
        started = time.perf_counter()
        try:
            status = await asyncio.wait_for(connection.request(method, path, payload), 30)
        except Exception:  # a dropped connection or a timeout counts as an error
            status = 0
            await connection.close()
        results.append((kind, status, (time.perf_counter() - started) * 1000, method, path))
    await connection.close()


def drive(base: str, tokens: list[str], plan: list[Any], seconds: float, queue: Any) -> None:
    """Run in its own process: the clients, then the results onto ``queue``."""

    async def main() -> list[Any]:
        results: list[Any] = []
        # Warm-up, untimed: every client sends each request once, so that the run measures
        # the steady state (each statement's SQL compiled and cached, each route resolved).
        await asyncio.gather(
            *(
                _client(base, token, plan, 0, [], random.Random(i), once=True)
                for i, token in enumerate(tokens)
            )
        )
        until = time.monotonic() + seconds
        await asyncio.gather(
            *(
                _client(base, token, plan, until, results, random.Random(i))
                for i, token in enumerate(tokens)
            )
        )
        return results

    queue.put(asyncio.run(main()))


def run_load(base: str, tokens: list[str], plan: list[Any], seconds: float) -> list[Any]:
    queue: Any = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(
        target=drive, args=(base, tokens, plan, seconds, queue)
    )
    process.start()
    results = queue.get(timeout=seconds + 120)
    process.join()
    return results


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def report(name: str, results: list[Any], seconds: float) -> dict[str, float]:
    reads = [ms for kind, status, ms, *_ in results if kind == "read"]
    writes = [ms for kind, status, ms, *_ in results if kind == "write"]
    # a refusal by the rules (403/404/409/422 for a role that may not) is an answer, not an error
    errors = sum(1 for _, status, *_ in results if status == 0 or status >= 500)
    figures = {
        "requests/s": len(results) / seconds,
        "errors": errors,
        "read p50": percentile(reads, 50),
        "read p95": percentile(reads, 95),
        "read p99": percentile(reads, 99),
        "write p95": percentile(writes, 95),
    }
    print(
        f"{name:>9}: {len(results):,} requests, {figures['requests/s']:.0f}/s, {errors} errors; "
        f"reads p50 {figures['read p50']:.0f} ms, p95 {figures['read p95']:.0f} ms, "
        f"p99 {figures['read p99']:.0f} ms; writes p95 {figures['write p95']:.0f} ms"
    )
    by_endpoint: dict[str, list[float]] = {}
    for _, _, ms, method, path in results:
        by_endpoint.setdefault(f"{method} {path.split('?')[0]}", []).append(ms)
    if len(by_endpoint) > 1:
        for endpoint, times in sorted(
            by_endpoint.items(), key=lambda item: -percentile(item[1], 50)
        ):
            print(
                f"           {endpoint:<45} n={len(times):>5}  p50 {percentile(times, 50):6.0f} ms"
                f"  p95 {percentile(times, 95):6.0f} ms"
            )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--farmers", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    arguments = parser.parse_args()
    admin_url = os.environ.get("ALIANZA_BENCH_DATABASE_URL") or os.environ.get(
        "ALIANZA_TEST_DATABASE_URL"
    )
    if not admin_url:
        print(
            "web benchmark skipped: set ALIANZA_BENCH_DATABASE_URL (or ALIANZA_TEST_DATABASE_URL)"
        )
        return 0
    url, drop_database = scratch_database(admin_url, "alianza_bench_web")
    server = None
    try:
        started = time.perf_counter()
        count = grow(url, arguments.farmers)
        print(
            f"demo programme with {count:,} farmers on PostgreSQL in {time.perf_counter() - started:.0f} s"
        )
        ids = _ids(url)
        port = free_port()
        server = serve(
            url, port, arguments.workers, Path(tempfile.mkdtemp(prefix="alianza-bench-"))
        )
        base = f"http://127.0.0.1:{port}"
        tokens = _tokens(base, arguments.clients)
        baseline = report(
            "baseline",
            run_load(
                base,
                tokens,
                [("read", "GET", "/api/v1/auth/me", None)],
                arguments.seconds,
            ),
            arguments.seconds,
        )
        mixed = report(
            "mixed",
            run_load(base, tokens, _requests(ids), arguments.seconds),
            arguments.seconds,
        )
        print(
            f"closed loop: {arguments.clients} clients back to back wait on average "
            f"{1000 * arguments.clients / mixed['requests/s']:.0f} ms a request "
            f"(clients / throughput) at the mixed load's throughput"
        )
        print(
            f"ratio mixed/baseline: read p95 {mixed['read p95'] / baseline['read p95']:.2f}x, "
            f"throughput {mixed['requests/s'] / baseline['requests/s']:.2f}x"
        )
        floor_met = (
            baseline["read p95"] <= READ_P95_TARGET_MS
            and baseline["requests/s"] >= THROUGHPUT_TARGET
        )
        print(
            f"the baseline alone (a token check and one query) "
            f"{'meets' if floor_met else 'does NOT meet'} the target on this machine"
        )
        met = (
            mixed["errors"] == 0
            and mixed["read p95"] <= READ_P95_TARGET_MS
            and mixed["requests/s"] >= THROUGHPUT_TARGET
        )
        print(
            f"target (no errors, read p95 <= {READ_P95_TARGET_MS:.0f} ms, >= {THROUGHPUT_TARGET:.0f}/s): "
            f"{'met' if met else 'NOT met'}"
        )
        return 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop_database()


def _ids(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = {
            "farmer": connection.execute(text("SELECT max(id) FROM farmers")).scalar_one(),
            "agreement": connection.execute(text("SELECT min(id) FROM agreements")).scalar_one(),
            "subproject": connection.execute(text("SELECT min(id) FROM subprojects")).scalar_one(),
        }
        found["villages"] = list(
            connection.execute(
                text(
                    "SELECT places.id FROM places JOIN programmes"
                    " ON programmes.id = places.programme_id"
                    " WHERE kind = 'village' AND programmes.code = 'DEMO-PA'"
                )
            ).scalars()
        )
        # Deliveries dated inside the agreement's period (the demo's dates follow today's).
        starts_on, ends_on = connection.execute(
            text("SELECT starts_on, ends_on FROM agreements WHERE id = :id"),
            {"id": found["agreement"]},
        ).one()
        found["delivered_on"] = max(starts_on, min(date.today(), ends_on)).isoformat()
    engine.dispose()
    return found


def _tokens(base: str, clients: int) -> list[str]:
    import httpx2

    tokens = []
    with httpx2.Client(base_url=base, timeout=30) as client:
        for i in range(clients):
            answer = client.post(
                "/api/v1/auth/token",
                data={
                    "username": USERS[i % len(USERS)],
                    "password": PASSWORD,
                    "name": f"bench {i}",
                },
            )
            answer.raise_for_status()
            tokens.append(answer.json()["access_token"])
    return tokens


if __name__ == "__main__":
    sys.exit(main())
