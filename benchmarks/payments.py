"""Benchmark: mobile-money notifications per second through the HTTP intake, on PostgreSQL.

A Micro Investing programme with pending mobile-money kit sales; the signed-JSON endpoint is
sent, by 32 concurrent clients from a second process, one notification per sale (matched and
posted with the commission), as many for unknown payers (parked into suspense), and 30% more
that replay earlier ones (in shuffled order, so duplicates race). Afterwards the database must
hold exactly one payment per transaction and a balanced ledger: 0 lost, 0 doubled.

Target (issue 11): >= 500 notifications/s on this 2-core machine.
Baseline printed in the same run: the same requests with a wrong signature, refused before the
database (HTTP, JSON and the HMAC check only), so the ratio says what storing, matching and
posting cost beyond the framework.

Run: make bench, or .venv/bin/python -P benchmarks/payments.py [--sales N] [--clients N]
Needs PostgreSQL: ALIANZA_BENCH_DATABASE_URL or ALIANZA_TEST_DATABASE_URL; skipped otherwise.
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


def drive(base: str, sent: list[bytes], clients: int, secret: str) -> tuple[float, list[int]]:
    import hashlib
    import hmac

    import httpx2

    async def main() -> tuple[float, list[int]]:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in sent:
            queue.put_nowait(body)
        statuses: list[int] = []
        limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx2.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

            async def worker() -> None:
                while not queue.empty():
                    body = queue.get_nowait()
                    stamp = str(int(time.time()))
                    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
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

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(clients)))
            return time.perf_counter() - started, statuses

    return asyncio.run(main())


def check(url: str, unique: int, sales: int) -> dict[str, object]:
    from alianza.platform.kits.models import KitSale
    from alianza.platform.ledger.models import Entry
    from alianza.platform.payments.models import MobilePayment

    engine = create_engine(url)
    with engine.connect() as connection:
        payments = connection.scalar(select(func.count(MobilePayment.id)))
        paid = connection.scalar(select(func.count(KitSale.id)).where(KitSale.status == "paid"))
        total = connection.scalar(select(func.coalesce(func.sum(Entry.amount), 0)))
    engine.dispose()
    return {"payments": payments, "unique": unique, "paid_sales": paid, "sales": sales,
            "ledger_sum": Decimal(total)}  # fmt: skip


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
            baseline_seconds, baseline_statuses = drive(
                base, sent, arguments.clients, "wrong-secret"
            )
            seconds, statuses = drive(base, sent, arguments.clients, SECRET)
        baseline_rate = len(sent) / baseline_seconds
        rate = len(sent) / seconds
        figures = check(url, unique, len(sales))
        errors = sum(1 for s in statuses if s != 200)
        print(f"baseline (refused signature, no database): {baseline_rate:,.0f} requests/s "
              f"({sum(1 for s in baseline_statuses if s != 200)} refused of {len(sent)})")  # fmt: skip
        print(f"intake: {len(sent)} notifications ({unique} unique) in {seconds:.1f} s = "
              f"{rate:,.0f}/s (target >= {TARGET:.0f}/s), {rate / baseline_rate:.2f} x baseline")  # fmt: skip
        lost = unique - int(figures["payments"])  # type: ignore[call-overload]
        print(f"errors {errors}; payments {figures['payments']} of {unique} unique (lost or "
              f"doubled: {abs(lost)}); paid sales {figures['paid_sales']} of {figures['sales']}; "
              f"ledger sum {figures['ledger_sum']}")  # fmt: skip
        ok = (
            errors == 0
            and lost == 0
            and figures["paid_sales"] == figures["sales"]
            and figures["ledger_sum"] == 0
        )
        print("PASS" if ok and rate >= TARGET else ("CORRECT, BELOW TARGET" if ok else "FAIL"))
        return 0 if ok else 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop_database()


if __name__ == "__main__":
    sys.exit(main())
