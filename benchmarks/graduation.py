"""Benchmark: graduation readiness and clusters of the demo's Micro Investing programme
(DEMO-MI, 5,000 farmers, two years of records) on SQLite, timed through alianza's services.

Target: readiness of the whole programme and its clusters each well under a second (one
scoped query per table, computed in NumPy). Baseline printed in the same run: the same
figures read the naive way, three queries per farmer (harvests, sales, first kit purchase),
on the first 500 farmers, scaled to all.
Run: make bench, or .venv/bin/python benchmarks/graduation.py [--farmers N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from alianza.platform.access import act_as, scoped
from alianza.platform.db import Database, make_engine, upgrade
from alianza.platform.demo.microinvesting import seed_micro_investing
from alianza.platform.fieldrecords.models import Harvest, ProduceSale
from alianza.platform.graduation import service as graduation
from alianza.platform.kits.models import KitSale
from alianza.platform.programmes.service import user_by_username
from alianza.platform.registry.models import Farmer

TARGET_MS = 1000.0
SAMPLE = 500


def timed(call: Callable[[], Any], repeat: int = 5) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--farmers", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        database = Database(url)
        with database.session() as session:
            summary = seed_micro_investing(session, seed=1, farmers=args.farmers)
        with database.session() as session:
            actor = act_as(
                session, user_by_username(session, "coordinadora").id, summary.programme_id
            )
            readiness_ms, found = timed(lambda: graduation.assess(actor))
            clusters_ms, proposals = timed(lambda: graduation.propose(actor, found))
            window = (found.window_start, found.as_of)
            ids = list(session.scalars(scoped(actor, select(Farmer.id)).order_by(Farmer.id)))

            def naive() -> int:
                rows = 0
                for farmer_id in ids[:SAMPLE]:
                    rows += len(
                        session.execute(
                            scoped(actor, select(Harvest.quantity, Harvest.grade)).where(
                                Harvest.farmer_id == farmer_id,
                                Harvest.harvested_on.between(*window),
                            )
                        ).all()
                    )
                    rows += len(
                        session.execute(
                            scoped(actor, select(ProduceSale.sold_on)).where(
                                ProduceSale.farmer_id == farmer_id,
                                ProduceSale.sold_on.between(*window),
                            )
                        ).all()
                    )
                    session.scalar(
                        scoped(actor, select(func.min(KitSale.sold_on))).where(
                            KitSale.farmer_id == farmer_id
                        )
                    )
                return rows

            naive_ms, _ = timed(naive, repeat=1)
            naive_ms *= len(ids) / min(SAMPLE, len(ids))
        database.dispose()
    print(f"farmers {len(found.farmers):,}, ready {found.ready_count:,}, clusters {len(proposals)}")
    print(f"readiness (one query per table)   {readiness_ms:8.1f} ms  (target <= {TARGET_MS:.0f})")
    print(f"clusters of the ready farmers     {clusters_ms:8.1f} ms  (target <= {TARGET_MS:.0f})")
    print(f"baseline: three queries a farmer  {naive_ms:8.1f} ms  (scaled from {SAMPLE})")
    print(f"ratio baseline / readiness        {naive_ms / readiness_ms:8.1f} x")


if __name__ == "__main__":
    main()
