"""Benchmark: mobile-money notifications per second through the HTTP intake, on PostgreSQL.

A Micro Investing programme with pending mobile-money kit sales; the signed-JSON endpoint is
sent, by 32 concurrent clients from a second process (this one; the app runs in uvicorn worker
processes), one notification per sale (matched and posted with the commission), as many for
unknown payers (parked into suspense), and 30% more that replay earlier ones (in shuffled
order, so duplicates race). The intake stores each notification and answers; the app's poster
matches or parks them in batches. Afterwards the database must hold exactly one payment per
transaction, none left received, one posting each, every sale paid and a balanced ledger:
0 lost, 0 doubled.

Figures: notifications/s answered, and posted (from the first request until the last payment
is posted); latency p50/p95/p99; CPU time per notification of the server processes, of the
database's backends and of this client, and the rate those imply on 2 idle cores.
Target (issue 11): >= 500 notifications/s on this 2-core machine.
Baseline printed in the same run: the same requests with a wrong signature, refused before the
database (HTTP, JSON and the HMAC check only), so the ratio says what storing, matching and
posting cost beyond the framework.

Run: make bench, or .venv/bin/python -P benchmarks/payments.py [--sales N] [--clients N]
[--workers N]. Needs PostgreSQL: ALIANZA_BENCH_DATABASE_URL or ALIANZA_TEST_DATABASE_URL;
skipped otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, func, select

# The benchmarks' shared helpers, found after the standard library (run with -P: see Makefile).
sys.path.append(str(Path(__file__).resolve().parent))
from _server import free_port, scratch_database, serve  # noqa: E402

TARGET = 500.0
SECRET = "benchmark-secret-0123456789"
PROGRAMME = "MI-BENCH"


def prepare(url: str, sales: int) -> list[tuple[str, str]]:
    """The programme and ``sales`` pending mobile-money sales: their (reference, amount)."""
    import yaml

    from alianza.platform.access import act_as
    from alianza.platform.db import Database, make_engine, upgrade
    from alianza.platform.kits import service as kits
    from alianza.platform.programmes.service import create_programme, create_user, grant_role
    from alianza.platform.registry import service as registry

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    database = Database(url)
    catalogue = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "examples" / "kits" / "catalogue.yaml").read_text()
    )
    found = []
    with database.session() as session:
        user = create_user(
            session, {"username": "ana", "display_name": "A", "password": "password1"}
        )
        admin = create_programme(
            session, {"code": PROGRAMME, "name": "Bench", "reporting_currency": "USD"}, user
        )
        country = registry.add_place(admin, {"kind": "country", "name": "Malawi", "code": "MW"})
        district = registry.add_place(
            admin, {"kind": "district", "name": "Dedza", "parent_id": country.id}
        )
        epa = registry.add_place(
            admin, {"kind": "municipality", "name": "EPA", "parent_id": district.id}
        )
        village = registry.add_place(admin, {"kind": "village", "name": "V", "parent_id": epa.id})
        supplier = registry.add_organization(admin, {"kind": "supplier", "name": "S"})
        version = kits.add_catalogue_version(admin, {"document": catalogue})
        kits.set_prices(
            admin,
            version.id,
            {"district_id": district.id, "currency": "MWK",
             "prices": [{"kit_code": "drip_bed", "price": "17500.00"}]},
        )  # fmt: skip
        kits.receive_stock(
            admin,
            {"supplier_id": supplier.id, "district_id": district.id, "kit_code": "drip_bed",
             "quantity": sales},
        )  # fmt: skip
        agronomist = create_user(
            session, {"username": "agro", "display_name": "G", "password": "password1"}
        )
        grant_role(admin, agronomist.id, {"role": "agronomist", "place_ids": [village.id]})
        from alianza.platform.rollout import team

        team.add_agronomist(
            admin,
            {"name": "Grace", "district_id": district.id, "village_ids": [village.id],
             "commission_rate": "0.05", "user_id": agronomist.id},
        )  # fmt: skip
        seller = act_as(session, agronomist.id, admin.programme_id)
        for n in range(sales):
            farmer = registry.add_farmer(
                admin,
                {"name": f"Farmer {n}", "sex": "female", "birth_year": 1990, "household_size": 4,
                 "land_hectares": "0.5", "village_id": village.id, "phone": f"+26599{n:07d}"},
            )  # fmt: skip
            sale = kits.record_sale(
                seller,
                {"farmer_id": farmer.id, "kit_code": "drip_bed", "method": "mobile_money",
                 "sold_on": date(2025, 3, 1), "supplier_id": supplier.id},
            )  # fmt: skip
            found.append((sale.reference, str(sale.amount)))
    database.dispose()
    return found


def bodies(sales: list[tuple[str, str]]) -> tuple[list[bytes], int]:
    """One notification per sale, as many for unknown payers, 30% replays; shuffled."""
    unique = []
    for n, (reference, amount) in enumerate(sales):
        unique.append({"transaction_id": f"M{n:06d}", "reference": reference, "amount": amount})
        unique.append(
            {"transaction_id": f"U{n:06d}", "phone": f"+26588{n:07d}", "amount": "990.00"}
        )
    common = {"provider": "airtel", "currency": "MWK", "paid_at": "2025-03-02T10:00:00+02:00"}
    raw = [json.dumps(common | body).encode() for body in unique]
    rng = random.Random(11)
    sent = raw + [rng.choice(raw) for _ in range(int(len(raw) * 0.3))]
    rng.shuffle(sent)
    return sent, len(raw)


@dataclass
class Phase:
    """One pass of the client: how long, what each request answered and took, and the CPU
    the server processes, the database's backends and this client spent meanwhile."""

    seconds: float
    statuses: list[int]
    latencies: list[float]
    server_cpu: float = 0.0
    database_cpu: float = 0.0
    client_cpu: float = 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def drive(base: str, sent: list[bytes], clients: int, secret: str) -> Phase:
    import hashlib
    import hmac

    import httpx2

    async def main() -> Phase:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in sent:
            queue.put_nowait(body)
        statuses: list[int] = []
        latencies: list[float] = []
        limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx2.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

            async def worker() -> None:
                while not queue.empty():
                    body = queue.get_nowait()
                    stamp = str(int(time.time()))
                    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
                    began = time.perf_counter()
                    try:
                        answer = await client.post(
                            "/api/v1/payments/notifications/airtel",
                            content=body,
                            headers={"X-Alianza-Timestamp": stamp, "X-Alianza-Signature": mac.hexdigest(),
                                     "Content-Type": "application/json"},
                        )  # fmt: skip
                        statuses.append(answer.status_code)
                    except httpx2.HTTPError:
                        statuses.append(0)  # counted as an error
                    latencies.append(time.perf_counter() - began)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(clients)))
            return Phase(time.perf_counter() - started, statuses, latencies)

    return asyncio.run(main())


class CpuMeter:
    """CPU seconds (user + system) of the server's processes and of the database backends
    serving its database, between :meth:`start` and :meth:`stop`."""

    def __init__(self, server_pid: int, url: str) -> None:
        import psutil

        self.psutil = psutil
        self.server = psutil.Process(server_pid)
        self.url = url

    def _server_seconds(self) -> float:
        total = 0.0
        for process in [self.server, *self.server.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except self.psutil.Error:
                continue
            total += times.user + times.system
        return total

    def _backend_seconds(self) -> dict[int, float]:
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        name = make_url(self.url).database
        engine = create_engine(self.url)
        with engine.connect() as connection:
            pids = connection.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"),
                {"name": name},
            ).all()  # fmt: skip
        engine.dispose()
        found = {}
        for pid in pids:
            try:
                times = self.psutil.Process(pid).cpu_times()
            except self.psutil.Error:  # another user's process on a remote-like setup
                continue
            found[pid] = times.user + times.system
        return found

    def start(self) -> None:
        self._server = self._server_seconds()
        self._backends = self._backend_seconds()
        self._client = time.process_time()

    def stop(self, phase: Phase) -> None:
        phase.client_cpu = time.process_time() - self._client
        phase.server_cpu = self._server_seconds() - self._server
        after = self._backend_seconds()
        phase.database_cpu = sum(
            seconds - self._backends.get(pid, 0.0) for pid, seconds in after.items()
        )


def wait_posted(url: str, timeout: float = 120) -> float:
    """Seconds until no payment is left received (the app's poster has posted them all)."""
    from alianza.platform.payments.models import MobilePayment

    engine = create_engine(url)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            with engine.connect() as connection:
                left = connection.scalar(
                    select(func.count(MobilePayment.id)).where(MobilePayment.status == "received")
                )
            if not left:
                return time.perf_counter() - started
            time.sleep(0.01)
    finally:
        engine.dispose()
    return time.perf_counter() - started


def check(url: str, unique: int, sales: int) -> dict[str, object]:
    from alianza.platform.kits.models import KitSale
    from alianza.platform.ledger.models import Entry, Posting
    from alianza.platform.payments.models import MobilePayment

    engine = create_engine(url)
    with engine.connect() as connection:
        payments = connection.scalar(select(func.count(MobilePayment.id)))
        transactions = connection.scalar(
            select(func.count(func.distinct(MobilePayment.transaction_id)))
        )
        received = connection.scalar(
            select(func.count(MobilePayment.id)).where(MobilePayment.status == "received")
        )
        postings = connection.scalar(
            select(func.count(Posting.id)).where(Posting.kind.in_(["kit_sale", "payment_parked"]))
        )
        paid = connection.scalar(select(func.count(KitSale.id)).where(KitSale.status == "paid"))
        total = connection.scalar(select(func.coalesce(func.sum(Entry.amount), 0)))
    engine.dispose()
    return {"payments": payments, "transactions": transactions, "received": received,
            "postings": postings, "unique": unique, "paid_sales": paid, "sales": sales,
            "ledger_sum": Decimal(total)}  # fmt: skip


def report(name: str, phase: Phase, count: int) -> None:
    per = 1000 / count
    print(
        f"  {name}: {count / phase.seconds:,.0f}/s; latency p50 {phase.percentile(0.50):.1f} ms, "
        f"p95 {phase.percentile(0.95):.1f} ms, p99 {phase.percentile(0.99):.1f} ms; CPU per "
        f"request: server {phase.server_cpu * per:.2f} ms, database {phase.database_cpu * per:.2f} ms, "
        f"client {phase.client_cpu * per:.2f} ms"
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    arguments = parser.parse_args()
    admin_url = os.environ.get("ALIANZA_BENCH_DATABASE_URL") or os.environ.get(
        "ALIANZA_TEST_DATABASE_URL"
    )
    if not admin_url:
        print(
            "payments benchmark skipped: set ALIANZA_BENCH_DATABASE_URL (or ALIANZA_TEST_DATABASE_URL)"
        )
        return 0
    url, drop_database = scratch_database(admin_url, "alianza_bench_pay")
    server = None
    try:
        started = time.perf_counter()
        sales = prepare(url, arguments.sales)
        print(f"prepared {len(sales)} pending sales in {time.perf_counter() - started:.1f} s")
        sent, unique = bodies(sales)
        port = free_port()
        with tempfile.TemporaryDirectory() as folder:
            providers = {
                "airtel": {
                    "programme": PROGRAMME, "currency": "MWK", "country": "MW", "secret": SECRET
                }
            }  # fmt: skip
            server = serve(
                url,
                port,
                arguments.workers,
                Path(folder),
                {"ALIANZA_PAYMENT_PROVIDERS": json.dumps(providers)},
            )
            base = f"http://127.0.0.1:{port}"
            drive(base, sent[:200], arguments.clients, "wrong-secret")  # warm the workers
            meter = CpuMeter(server.pid, url)
            meter.start()
            baseline = drive(base, sent, arguments.clients, "wrong-secret")
            meter.stop(baseline)
            meter.start()
            intake = drive(base, sent, arguments.clients, SECRET)
            drained = wait_posted(url)
            meter.stop(intake)
        figures = check(url, unique, len(sales))
        errors = sum(1 for s in intake.statuses if s != 200)
        answered = len(sent) / intake.seconds
        posted = len(sent) / (intake.seconds + drained)
        baseline_rate = len(sent) / baseline.seconds
        print(f"{len(sent)} notifications ({unique} unique), {arguments.clients} clients, "
              f"{arguments.workers} server workers")  # fmt: skip
        report(f"baseline (refused signature, no database; {sum(1 for s in baseline.statuses if s != 200)} refused)", baseline, len(sent))  # fmt: skip
        report("intake (stored and answered)", intake, len(sent))
        print(f"  answered {answered:,.0f}/s = {answered / baseline_rate:.2f} x baseline; all "
              f"posted {drained:.2f} s after the last answer: {posted:,.0f}/s end to end "
              f"(target >= {TARGET:.0f}/s)")  # fmt: skip
        cpu = (intake.server_cpu + intake.database_cpu) / len(sent)
        cpu_with_client = cpu + intake.client_cpu / len(sent)
        print(f"  CPU per notification (stored, matched or parked, posted): {cpu * 1000:.2f} ms "
              f"server + database, {cpu_with_client * 1000:.2f} ms with the client: on 2 idle "
              f"cores about {2 / cpu_with_client:,.0f}/s with this client beside the server, "
              f"{2 / cpu:,.0f}/s for the server alone")  # fmt: skip
        lost = unique - int(figures["transactions"])  # type: ignore[call-overload]
        doubled = int(figures["payments"]) - int(figures["transactions"])  # type: ignore[call-overload]
        doubled += max(0, int(figures["postings"]) - int(figures["payments"]))  # type: ignore[call-overload]
        print(f"  errors {errors}; payments {figures['payments']} of {unique} unique: lost "
              f"{lost}, doubled {doubled}, left received {figures['received']}; postings "
              f"{figures['postings']}; paid sales {figures['paid_sales']} of {figures['sales']}; "
              f"ledger sum {figures['ledger_sum']}")  # fmt: skip
        ok = (
            errors == 0
            and lost == 0
            and doubled == 0
            and figures["received"] == 0
            and figures["postings"] == unique
            and figures["paid_sales"] == figures["sales"]
            and figures["ledger_sum"] == 0
        )
        print("PASS" if ok and posted >= TARGET else ("CORRECT, BELOW TARGET" if ok else "FAIL"))
        return 0 if ok else 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop_database()


if __name__ == "__main__":
    sys.exit(main())
