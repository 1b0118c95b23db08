"""Benchmark: the dashboard's portfolio queries on PostgreSQL with 100,000 farmers and
1,000,000 ledger postings (2,000,000 entries), each timed through alianza's services.

Target (issue 4): each query <= 200 ms. Baseline printed in the same run: account balances
computed the naive way (every entry fetched and summed in Python).
Run: make bench, or .venv/bin/python benchmarks/platform.py [--farmers N] [--postings N]
Needs PostgreSQL: ALIANZA_BENCH_DATABASE_URL or ALIANZA_TEST_DATABASE_URL (a server where a
scratch database may be created and dropped); skipped with a message otherwise.

The bulk load uses COPY, not the services (a million audited postings through the services
would take most of an hour); the loader keeps every posting balanced.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named platform.py, like the standard library's module: run as a script, its folder
# comes first on sys.path and would shadow it. Drop that entry before anything imports `platform`.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from alianza.platform.calls.service import open_call
from alianza.platform.db import Database, make_engine, upgrade
from alianza.platform.ledger.models import Entry
from alianza.platform.portfolio import service as portfolio
from alianza.platform.programmes.service import Actor, create_programme, create_user
from alianza.platform.subprojects.states import STATES

TARGET_MS = 200.0
NOW = datetime(2025, 6, 30, tzinfo=UTC)


def copy_rows(connection: Any, table: str, columns: list[str], rows: Any) -> None:
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def load(
    database: Database, actor: Actor, farmers: int, postings: int, seed: int
) -> dict[str, int]:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    programme = actor.programme_id
    session = actor.session
    raw = database.engine.raw_connection()
    connection = raw.driver_connection
    ids: dict[str, int] = {}

    # geography: 2 countries, 20 districts, 100 municipalities, 1,000 villages
    places: list[tuple[Any, ...]] = []
    next_id = 1
    districts, villages = [], []
    for c in range(2):
        country = next_id
        places.append((country, programme, "country", f"Country {c}", None, None))
        next_id += 1
        for d in range(10):
            district = next_id
            districts.append(district)
            places.append((district, programme, "district", f"District {c}-{d}", None, country))
            next_id += 1
            for m in range(5):
                municipality = next_id
                places.append(
                    (
                        municipality,
                        programme,
                        "municipality",
                        f"Municipality {c}-{d}-{m}",
                        None,
                        district,
                    )
                )
                next_id += 1
                for v in range(10):
                    villages.append(next_id)
                    places.append(
                        (
                            next_id,
                            programme,
                            "village",
                            f"Village {c}-{d}-{m}-{v}",
                            None,
                            municipality,
                        )
                    )
                    next_id += 1
    copy_rows(
        connection, "places", ["id", "programme_id", "kind", "name", "code", "parent_id"], places
    )
    ids["places"] = len(places)

    po_count, buyer_count = max(50, farmers // 70), 50
    po_village = rng.choice(villages, po_count)
    organizations = [
        (
            i + 1,
            programme,
            "producer_organization",
            f"PO {i + 1}",
            None,
            int(po_village[i]),
            2010,
            NOW,
        )
        for i in range(po_count)
    ]
    organizations += [
        (po_count + b + 1, programme, "buyer", f"Buyer {b + 1}", None, None, 2000, NOW)
        for b in range(buyer_count)
    ]
    copy_rows(
        connection,
        "organizations",
        [
            "id",
            "programme_id",
            "kind",
            "name",
            "registration_number",
            "place_id",
            "founded_year",
            "created_at",
        ],
        organizations,
    )
    ids["organizations"] = len(organizations)

    sex = np.where(rng.random(farmers) < 0.36, "female", "male")
    birth = rng.integers(1950, 2006, farmers)
    minority = rng.random(farmers) < 0.3
    member_of = rng.integers(0, po_count, farmers)
    copy_rows(
        connection,
        "farmers",
        [
            "id",
            "programme_id",
            "name",
            "sex",
            "birth_year",
            "minority",
            "household_size",
            "land_hectares",
            "phone",
            "national_id",
            "village_id",
            "latitude",
            "longitude",
            "created_at",
        ],
        (
            (
                i + 1,
                programme,
                f"Farmer {i + 1}",
                sex[i],
                int(birth[i]),
                bool(minority[i]),
                5,
                Decimal("1.500"),
                f"+504{30000000 + i}",
                f"ID{i:09d}",
                int(po_village[member_of[i]]),
                None,
                None,
                NOW,
            )
            for i in range(farmers)
        ),
    )
    second = rng.random(farmers) < 0.1
    memberships = [(i + 1, int(member_of[i]) + 1) for i in range(farmers)]
    memberships += [(i + 1, (int(member_of[i]) + 1) % po_count + 1) for i in np.flatnonzero(second)]
    copy_rows(
        connection,
        "memberships",
        ["id", "programme_id", "farmer_id", "organization_id", "joined_on"],
        ((n + 1, programme, f, o, None) for n, (f, o) in enumerate(memberships)),
    )
    ids["farmers"], ids["memberships"] = farmers, len(memberships)
    raw.commit()

    # accounts: funder, project funds, each PO (+ revolving fund), each buyer, 10,000 members
    accounts: list[tuple[Any, ...]] = [
        (1, programme, "funder", "Funder", "HNL", None, None, True, NOW),
        (2, programme, "project_funds", "Project funds", "HNL", None, None, False, NOW),
    ]
    po_accounts, fund_accounts, buyer_accounts, member_accounts = [], [], [], []
    for p in range(po_count):
        po_accounts.append(len(accounts) + 1)
        accounts.append(
            (len(accounts) + 1, programme, "po", f"PO {p + 1}", "HNL", p + 1, None, False, NOW)
        )
        fund_accounts.append(len(accounts) + 1)
        accounts.append(
            (
                len(accounts) + 1,
                programme,
                "po_revolving_fund",
                f"PO {p + 1} fund",
                "HNL",
                p + 1,
                None,
                False,
                NOW,
            )
        )
    for b in range(buyer_count):
        buyer_accounts.append(len(accounts) + 1)
        accounts.append(
            (
                len(accounts) + 1,
                programme,
                "buyer",
                f"Buyer {b + 1}",
                "HNL",
                po_count + b + 1,
                None,
                True,
                NOW,
            )
        )
    for f in range(min(10_000, farmers)):
        member_accounts.append(len(accounts) + 1)
        accounts.append(
            (
                len(accounts) + 1,
                programme,
                "member",
                f"Member {f + 1}",
                "HNL",
                None,
                f + 1,
                True,
                NOW,
            )
        )
    copy_rows(
        connection,
        "accounts",
        [
            "id",
            "programme_id",
            "kind",
            "name",
            "currency",
            "organization_id",
            "farmer_id",
            "allows_overdraft",
            "created_at",
        ],
        accounts,
    )
    ids["accounts"] = len(accounts)

    # postings: every one balanced (two entries, +amount and -amount)
    kinds = np.array(
        [
            "funding",
            "grant_tranche",
            "buyer_payment",
            "member_repayment",
            "revolving_fund_loan",
            "payment_to_member",
        ]
    )
    kind_index = rng.choice(len(kinds), postings, p=[0.001, 0.05, 0.35, 0.25, 0.05, 0.299])
    po_a, fund_a = np.array(po_accounts), np.array(fund_accounts)
    buyer_a, member_a = np.array(buyer_accounts), np.array(member_accounts)
    po_pick = rng.integers(0, po_count, postings)
    sources = np.select(
        [kind_index == 0, kind_index == 1, kind_index == 2, kind_index == 3, kind_index == 4],
        [
            1,
            2,
            buyer_a[rng.integers(0, buyer_count, postings)],
            member_a[rng.integers(0, len(member_a), postings)],
            fund_a[po_pick],
        ],
        po_a[po_pick],
    )
    targets = np.select(
        [kind_index == 0, kind_index == 1, kind_index == 2, kind_index == 3, kind_index == 4],
        [
            2,
            po_a[po_pick],
            po_a[po_pick],
            fund_a[po_pick],
            member_a[rng.integers(0, len(member_a), postings)],
        ],
        member_a[rng.integers(0, len(member_a), postings)],
    )
    cents = rng.integers(100, 5_000_000, postings)
    days = np.sort(rng.integers(0, 2000, postings))
    start = date(2020, 1, 1)
    dates = [start + timedelta(days=int(d)) for d in range(2001)]
    user = actor.user_id
    copy_rows(
        connection,
        "postings",
        [
            "id",
            "programme_id",
            "kind",
            "posted_on",
            "memo",
            "reverses_posting_id",
            "created_by",
            "created_at",
        ],
        (
            (i + 1, programme, kinds[kind_index[i]], dates[days[i]], "", None, user, NOW)
            for i in range(postings)
        ),
    )
    copy_rows(
        connection,
        "entries",
        ["id", "posting_id", "account_id", "posted_on", "amount"],
        (
            row
            for i in range(postings)
            for row in (
                (
                    2 * i + 1,
                    i + 1,
                    int(sources[i]),
                    dates[days[i]],
                    Decimal(int(cents[i])).scaleb(-2) * -1,
                ),
                (
                    2 * i + 2,
                    i + 1,
                    int(targets[i]),
                    dates[days[i]],
                    Decimal(int(cents[i])).scaleb(-2),
                ),
            )
        ),
    )
    ids["postings"], ids["entries"] = postings, 2 * postings
    raw.commit()

    # calls, subprojects in every state, agreements with monthly deliveries
    calls = []
    for c in range(10):
        call = open_call(
            actor,
            {
                "code": f"C{c}",
                "title": f"Call {c}",
                "currency": "HNL",
                "opens_on": date(2020 + c // 3, 1, 1),
                "closes_on": date(2020 + c // 3, 3, 31),
                "max_grant_share": "0.7",
                "min_counterpart_share": "0.2",
                "ceiling_per_family": "40000",
                "ceiling_per_alliance": "2000000",
                "district_ids": districts,
                "value_chains": ["coffee"],
                "scoring_sheet": {"criteria": [{"name": "market", "weight": 1}]},
            },
        )
        calls.append(call.id)
    session.commit()
    states = rng.choice(list(STATES), po_count)
    copy_rows(
        connection,
        "subprojects",
        [
            "id",
            "programme_id",
            "call_id",
            "organization_id",
            "buyer_id",
            "title",
            "value_chain",
            "funding_window",
            "families",
            "buyer_letter_of_interest",
            "submitted_on",
            "state",
            "created_at",
        ],
        (
            (
                p + 1,
                programme,
                calls[p % 10],
                p + 1,
                po_count + p % buyer_count + 1,
                f"Subproject {p + 1}",
                "coffee",
                None,
                40,
                True,
                date(2021, 1, 1),
                str(states[p]),
                NOW,
            )
            for p in range(po_count)
        ),
    )
    in_agreement = [
        p
        for p in range(po_count)
        if str(states[p])
        in ("agreement_signed", "in_execution", "completed", "post_project_monitoring")
    ]
    copy_rows(
        connection,
        "agreements",
        [
            "id",
            "programme_id",
            "subproject_id",
            "organization_id",
            "buyer_id",
            "support_organization_id",
            "product",
            "unit",
            "currency",
            "quality_grades",
            "price_mechanism",
            "fixed_price",
            "premium",
            "floor_price",
            "grade_premiums",
            "payment_terms_days",
            "buyer_ta_duties",
            "signed_on",
            "starts_on",
            "ends_on",
        ],
        (
            (
                n + 1,
                programme,
                p + 1,
                p + 1,
                po_count + p % buyer_count + 1,
                None,
                "Coffee",
                "qq",
                "HNL",
                '["A"]',
                "fixed",
                Decimal("2900.00"),
                None,
                None,
                "{}",
                30,
                "",
                date(2021, 6, 1),
                date(2021, 6, 1),
                date(2025, 6, 1),
            )
            for n, p in enumerate(in_agreement)
        ),
    )
    deliveries = (
        (
            n * 48 + m + 1,
            programme,
            n + 1,
            date(2021, 6, 15) + timedelta(days=30 * m),
            Decimal("12.500"),
            "A",
            None,
            Decimal("2900.00"),
            Decimal("36250.00"),
            date(2021, 7, 15) + timedelta(days=30 * m),
        )
        for n in range(len(in_agreement))
        for m in range(48)
    )
    copy_rows(
        connection,
        "deliveries",
        [
            "id",
            "programme_id",
            "agreement_id",
            "delivered_on",
            "quantity",
            "grade",
            "reference_price",
            "unit_price",
            "amount",
            "due_on",
        ],
        deliveries,
    )
    ids["subprojects"], ids["agreements"], ids["deliveries"] = (
        po_count,
        len(in_agreement),
        48 * len(in_agreement),
    )
    raw.commit()
    with connection.cursor() as cursor:
        for table in (
            "places",
            "organizations",
            "farmers",
            "memberships",
            "accounts",
            "postings",
            "entries",
            "subprojects",
            "agreements",
            "deliveries",
        ):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        raw.commit()
        connection.autocommit = True
        cursor.execute("VACUUM ANALYZE")
        connection.autocommit = False
    raw.close()
    return ids


def timed(function: Callable[[], Any], repeats: int = 5) -> tuple[float, Any]:
    function()  # warm the caches, as a dashboard in use would be
    times, result = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--farmers", type=int, default=100_000)
    parser.add_argument("--postings", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch database (its name is printed)"
    )
    arguments = parser.parse_args()
    server = os.environ.get("ALIANZA_BENCH_DATABASE_URL") or os.environ.get(
        "ALIANZA_TEST_DATABASE_URL"
    )
    if not server:
        print(
            "skipped: set ALIANZA_BENCH_DATABASE_URL (or ALIANZA_TEST_DATABASE_URL) to a PostgreSQL server"
        )
        return 0
    name = f"alianza_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        database = Database(url)
        with database.sessions() as session:
            user = create_user(
                session, {"username": "bench", "display_name": "Bench", "password": "benchmark"}
            )
            actor = create_programme(
                session, {"code": "BENCH", "name": "Benchmark", "reporting_currency": "USD"}, user
            )
            session.commit()
            began = time.perf_counter()
            counts = load(database, actor, arguments.farmers, arguments.postings, arguments.seed)
            print(
                f"loaded in {time.perf_counter() - began:.1f} s: "
                + ", ".join(f"{count:,} {table}" for table, count in counts.items())
            )
            session.expire_all()
            on = date(2024, 12, 31)
            queries: list[tuple[str, Callable[[], Any]]] = [
                ("balances of every account at a date", lambda: portfolio.balances_at(actor, on)),
                (
                    "sales by PO by quarter (2 years)",
                    lambda: portfolio.sales_by_po_by_quarter(actor, date(2023, 1, 1), on),
                ),
                (
                    "subprojects by state and district",
                    lambda: portfolio.subprojects_by_state_and_district(actor),
                ),
                ("women/youth shares by call", lambda: portfolio.inclusion_by_call(actor, on)),
            ]
            failed = False
            print(f"{'query':40s} {'median ms':>10s} {'rows':>8s}  target <= {TARGET_MS:.0f} ms")
            for label, query in queries:
                milliseconds, result = timed(query)
                ok = milliseconds <= TARGET_MS
                failed |= not ok
                print(
                    f"{label:40s} {milliseconds:10.1f} {len(result):8,d}  {'ok' if ok else 'OVER TARGET'}"
                )
            balances_ms, balances = timed(lambda: portfolio.balances_at(actor, on), repeats=1)

            def naive() -> dict[int, Decimal]:
                totals: dict[int, Decimal] = {}
                for account_id, amount in session.execute(
                    select(Entry.account_id, Entry.amount).where(Entry.posted_on <= on)
                ):
                    totals[account_id] = totals.get(account_id, Decimal(0)) + amount
                return totals

            naive_ms, totals = timed(naive, repeats=1)
            assert all(totals.get(b.account_id, Decimal(0)) == b.balance for b in balances)
            print(
                f"baseline: balances by fetching every entry {naive_ms:,.0f} ms vs {balances_ms:,.1f} ms "
                f"({naive_ms / balances_ms:,.0f}x); sum of all balances: "
                f"{sum(b.balance for b in balances)} (zero, as double entry requires)"
            )
        database.dispose()
    finally:
        if arguments.keep:
            print(f"kept database {name}")
        else:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
