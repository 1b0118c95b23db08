"""Benchmark: a 100,000-submission ODK Central export imported on PostgreSQL, through the
service `alianza forms import` uses, parse and write timed apart.

The programme is the demo's Micro Investing programme (``seed_micro_investing``: 2 districts,
100 villages, 200 groups, 5,000 farmers, two years of sales), its villages given codes as
`alianza forms build` would name them. The export is the field's mix: 40,000 harvests (two
products each, one of them partly sold), 30,000 visits (group meetings and farm visits),
20,000 site inspections and 10,000 kit sales (cash, mobile money and off-taker prepayment;
half naming their supplier, half leaving it to the district's only one), every row good, each
form a Central CSV export of its own (the harvests with their products repeat file). Each
file is parsed (`read_export`) and imported (`import_submissions`, all or nothing) in its own
transaction; then the same files are imported again, which must add nothing.

Baseline in the same run: reading the same files with the standard library's csv module
alone (the floor any parser pays).
Target (issue 11): the 100,000 submissions imported in <= 30 s (parse and write together).

Run: make bench, or .venv/bin/python -P benchmarks/fieldforms.py [--submissions N]. The
import needs PostgreSQL (ALIANZA_BENCH_DATABASE_URL or ALIANZA_TEST_DATABASE_URL); without it
only the parse is timed.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))
from _server import scratch_database  # noqa: E402

TARGET = 30.0
SHARES = {"harvest": 0.4, "visit": 0.3, "inspection": 0.2, "kit_sale": 0.1}
CENTRAL_TAIL = (
    "meta-instanceID,KEY,SubmitterID,SubmitterName,AttachmentsPresent,AttachmentsExpected,"
    "Status,ReviewState,DeviceID,Edits,FormVersion"
)
CENTRAL_HEAD = "SubmissionDate,start,end,today,deviceid,username"
SITE = "site-village,site-location-Latitude,site-location-Longitude,site-location-Altitude,site-location-Accuracy"
HEADERS = {
    "harvest": f"{CENTRAL_HEAD},harvest_date,{SITE},farmer_qr,{CENTRAL_TAIL}",
    "visit": f"{CENTRAL_HEAD},visit_date,{SITE},site-group,visit_type,farmer_qr,attendees,notes,{CENTRAL_TAIL}",
    "inspection": f"{CENTRAL_HEAD},inspection_date,{SITE},farmer_qr,kit,kit_condition,units_seen,photo,notes,{CENTRAL_TAIL}",
    "kit_sale": f"{CENTRAL_HEAD},sale_date,{SITE},site-group,farmer_qr,kit,units,amount,payment_method,transaction_id,prepaid_by,supplier,{CENTRAL_TAIL}",
}  # fmt: skip
REPEAT_HEADER = "kit,quantity,grade,quantity_sold,price,buyer,PARENT_KEY,KEY"
# The districts' outlines as bounding boxes (west, south, east, north): GPS points are checked.
AREAS = {"Dedza": (33.9, -14.6, 34.6, -13.9), "Ntcheu": (34.4, -15.2, 35.1, -14.5)}


def generate_harvests(submissions: int) -> tuple[str, str]:
    """A Central harvest export without a programme (the parse-only benchmark)."""
    main = [HEADERS["harvest"]]
    repeat = [REPEAT_HEADER]
    generator = uuid.UUID(int=2026)
    for index in range(submissions):
        key = f"uuid:{uuid.UUID(int=generator.int + index)}"
        main.append(
            f"2025-06-02T07:31:09.512Z,2025-06-02T09:14:03.221+02:00,"
            f"2025-06-02T09:29:40.006+02:00,2025-06-02,collect:Bc9DfG2hJ4kL6mNp,"
            f"agronomist.phiri,2025-06-02,v_bilila,-14.{8000 + index % 999},34.6025,1245.3,4.2,"
            f"alianza:farmer:MW-NU-{index:06d},{key},{key},12,Phiri Agronomist,0,0,,received,"
            f"collect:Bc9DfG2hJ4kL6mNp,0,202505281030"
        )
        repeat.append(f"drip_bed,{80 + index % 40},a,60,410,lilongwe_fresh,{key},{key}/products[1]")
        repeat.append(f"banana_plantlets,9,ungraded,0,,,{key},{key}/products[2]")
    return "\n".join(main) + "\n", "\n".join(repeat) + "\n"


class Programme:
    """What the export is made of: the seeded programme's farmers (their card codes,
    villages, districts), groups, kit prices, supplier names and off-taker."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import func, select, update

        from alianza.platform.access import act_as
        from alianza.platform.db import Database
        from alianza.platform.demo.microinvesting import (
            MANAGER_USERNAME,
            PROGRAMME_CODE,
            seed_micro_investing,
        )
        from alianza.platform.kits import service as kits
        from alianza.platform.kits.models import KitPrice, KitSale
        from alianza.platform.programmes.models import User
        from alianza.platform.registry.cards import farmer_code
        from alianza.platform.registry.models import Farmer, Organization, Place

        database = Database(url)
        with database.session() as session:
            summary = seed_micro_investing(session, seed=1)
            programme_id = summary.programme_id
            # the forms name a village by its choice name, the code `forms build` gives it
            session.execute(
                update(Place)
                .where(Place.programme_id == programme_id, Place.kind == "village")
                .values(code="v" + func.cast(Place.id, Place.code.type))
            )
            places = {p.id: p for p in session.scalars(select(Place))}
            self.villages = {p.id: p.code for p in places.values() if p.kind == "village"}

            def district_of(place_id: int) -> str:
                place = places[place_id]
                while place.kind != "district":
                    place = places[place.parent_id]
                return place.name

            self.farmers = [
                (farmer_code(PROGRAMME_CODE, f.id), f.village_id, district_of(f.village_id), f.id)
                for f in session.scalars(select(Farmer).order_by(Farmer.id))
            ]
            self.groups: dict[int, str] = {}
            for o in session.scalars(select(Organization).order_by(Organization.id)):
                if o.kind in ("savings_group", "club") and o.place_id in self.villages:
                    self.groups.setdefault(o.place_id, o.name)
            suppliers = list(
                session.scalars(select(Organization).where(Organization.kind == "supplier"))
            )
            self.suppliers = {district_of(o.place_id): o.name for o in suppliers}
            # the season's delivery of drip kits, for the export's kit sales
            admin = act_as(session, session.scalar(select(User.id).where(
                User.username == MANAGER_USERNAME)), programme_id)  # fmt: skip
            for supplier in suppliers:
                kits.receive_stock(
                    admin,
                    {"supplier_id": supplier.id, "district_id": supplier.place_id,
                     "kit_code": "drip_bed", "quantity": 20_000},
                )  # fmt: skip
            self.offtaker = session.scalar(
                select(Organization.name).where(Organization.kind == "offtaker")
            )
            latest = session.scalar(select(func.max(KitPrice.catalogue_id)))
            self.drip_price = {
                places[price.district_id].name: Decimal(price.price)
                for price in session.scalars(
                    select(KitPrice).where(
                        KitPrice.catalogue_id == latest, KitPrice.kit_code == "drip_bed"
                    )
                )
            }
            self.drip_owned = dict(
                session.execute(
                    select(KitSale.farmer_id, func.sum(KitSale.units))
                    .where(KitSale.kit_code == "drip_bed")
                    .group_by(KitSale.farmer_id)
                ).all()
            )
        database.dispose()
        self.programme_id = programme_id
        self.code = PROGRAMME_CODE


def _point(rng: random.Random, district: str) -> str:
    west, south, east, north = AREAS[district]
    return f"{rng.uniform(south, north):.6f},{rng.uniform(west, east):.6f},1200.0,5.0"


def build_export(programme: Programme, submissions: int, folder: Path) -> dict[str, list[Path]]:
    """The four forms' Central CSV exports (submissions split by SHARES), in ``folder``."""
    rng = random.Random(2026)
    counts = {form: int(submissions * share) for form, share in SHARES.items()}
    counts["harvest"] += submissions - sum(counts.values())
    files: dict[str, list[Path]] = {}
    serial = 0

    def head(day: str) -> str:
        return (
            f"{day}T07:31:09.512Z,{day}T09:14:03.221+02:00,{day}T09:29:40.006+02:00,{day},"
            "collect:Bc9DfG2hJ4kL6mNp,agronomist.phiri"
        )

    def tail(key: str) -> str:
        return (
            f"{key},{key},12,Phiri Agronomist,0,0,,received,collect:Bc9DfG2hJ4kL6mNp,0,202505281030"
        )

    def new_key() -> str:
        nonlocal serial
        serial += 1
        return f"uuid:{uuid.UUID(int=rng.getrandbits(128))}"

    farmers = programme.farmers
    # harvests: two products, the first partly sold
    main, repeat = [HEADERS["harvest"]], [REPEAT_HEADER]
    for n in range(counts["harvest"]):
        code, village, district, _ = farmers[n % len(farmers)]
        key, day = new_key(), f"2025-06-{1 + n % 28:02d}"
        main.append(f"{head(day)},{day},{programme.villages[village]},{_point(rng, district)},"
                    f"alianza:farmer:{code},{tail(key)}")  # fmt: skip
        repeat.append(f"drip_bed,{40 + n % 60}.5,a,{20 + n % 20},{350 + n % 90},local_market,{key},{key}/products[1]")  # fmt: skip
        repeat.append(f"banana_plantlets,{5 + n % 9},ungraded,0,,,{key},{key}/products[2]")
    (folder / "harvest.csv").write_text("\n".join(main) + "\n")
    (folder / "harvest-products.csv").write_text("\n".join(repeat) + "\n")
    files["harvest"] = [folder / "harvest.csv", folder / "harvest-products.csv"]
    # visits: group meetings (no farmer) and farm visits
    lines = [HEADERS["visit"]]
    for n in range(counts["visit"]):
        code, village, district, _ = farmers[(n * 7) % len(farmers)]
        key, day = new_key(), f"2025-05-{1 + n % 28:02d}"
        if n % 3:
            rest = (
                f"{programme.groups.get(village, '')},group_meeting,,{12 + n % 20},Weekly meeting"
            )
        else:
            rest = f",farm_visit,alianza:farmer:{code},,Drip lines checked"
        lines.append(f"{head(day)},{day},{programme.villages[village]},{_point(rng, district)},{rest},{tail(key)}")  # fmt: skip
    (folder / "visit.csv").write_text("\n".join(lines) + "\n")
    files["visit"] = [folder / "visit.csv"]
    # site inspections
    lines = [HEADERS["inspection"]]
    conditions = ("in_use", "in_use", "in_use", "needs_repair", "not_in_use")
    for n in range(counts["inspection"]):
        code, village, district, _ = farmers[(n * 11) % len(farmers)]
        key, day = new_key(), f"2025-04-{1 + n % 28:02d}"
        lines.append(f"{head(day)},{day},{programme.villages[village]},{_point(rng, district)},"
                     f"alianza:farmer:{code},drip_bed,{conditions[n % 5]},{1 + n % 3},site-{n}.jpg,,{tail(key)}")  # fmt: skip
    (folder / "inspection.csv").write_text("\n".join(lines) + "\n")
    files["inspection"] = [folder / "inspection.csv"]
    # kit sales: drip beds, to farmers with room under max_per_farmer (13)
    lines = [HEADERS["kit_sale"]]
    room = {f[3]: 13 - int(programme.drip_owned.get(f[3], 0)) for f in farmers}
    eligible = [f for f in farmers if room[f[3]] > 0]
    n = 0
    index = 0
    while n < counts["kit_sale"]:
        code, village, district, farmer_id = eligible[index % len(eligible)]
        index += 1
        if room[farmer_id] <= 0:
            continue
        room[farmer_id] -= 1
        key, day = new_key(), f"2025-07-{1 + n % 28:02d}"
        method = ("cash", "mobile_money", "cash", "prepayment")[n % 4]
        transaction = f"TX{n:07d}" if method == "mobile_money" else ""
        prepaid = programme.offtaker if method == "prepayment" else ""
        supplier = programme.suppliers[district] if n % 2 else ""
        lines.append(f"{head(day)},{day},{programme.villages[village]},{_point(rng, district)},"
                     f"{programme.groups.get(village, '')},alianza:farmer:{code},drip_bed,1,"
                     f"{programme.drip_price[district]},{method},{transaction},{prepaid},{supplier},{tail(key)}")  # fmt: skip
        n += 1
    (folder / "kit_sale.csv").write_text("\n".join(lines) + "\n")
    files["kit_sale"] = [folder / "kit_sale.csv"]
    return files


def csv_floor(files: dict[str, list[Path]]) -> float:
    """Seconds to read every file with the csv module alone."""
    started = time.perf_counter()
    for paths in files.values():
        for path in paths:
            list(csv.DictReader(io.StringIO(path.read_text())))
    return time.perf_counter() - started


def import_all(
    url: str, programme: Programme, files: dict[str, list[Path]]
) -> tuple[dict[str, tuple[int, float, float, int, int]], float]:
    """Parse and import each file as `alianza forms import` does; per form (rows, parse s,
    write s, imported, skipped), and the total seconds."""
    from alianza.cli.programme import acting
    from alianza.fieldforms.geo import BoundingBox, DistrictArea
    from alianza.fieldforms.submissions import read_export
    from alianza.platform.demo.microinvesting import MANAGER_USERNAME
    from alianza.platform.fieldrecords.imports import import_submissions

    areas = {
        name: DistrictArea(bounding_box=BoundingBox(west=w, south=s, east=e, north=n))
        for name, (w, s, e, n) in AREAS.items()
    }
    figures = {}
    started = time.perf_counter()
    for form, paths in files.items():
        began = time.perf_counter()
        parsed = read_export(paths[0], form)  # type: ignore[arg-type]
        parsed.raise_for_problems()
        parsed_at = time.perf_counter()
        with acting(url, programme.code, MANAGER_USERNAME) as actor:
            report = import_submissions(actor, parsed, areas)
        if not report.written:
            bad = next(row for row in report.rows if row.problems)
            raise SystemExit(f"{form}: refused: {bad}")
        figures[form] = (len(parsed.records), parsed_at - began, time.perf_counter() - parsed_at,
                         report.imported, report.skipped)  # fmt: skip
    return figures, time.perf_counter() - started


def counts(url: str) -> Counter[str]:
    from sqlalchemy import create_engine, func, select

    from alianza.platform.audit.models import AuditEntry
    from alianza.platform.fieldrecords.models import (
        FieldSubmission,
        FieldVisit,
        Harvest,
        ProduceSale,
    )
    from alianza.platform.kits.models import KitSale
    from alianza.platform.ledger.models import Entry

    engine = create_engine(url)
    found: Counter[str] = Counter()
    with engine.connect() as connection:
        for model in (FieldSubmission, FieldVisit, Harvest, ProduceSale, KitSale, AuditEntry):
            found[model.__tablename__] = connection.scalar(select(func.count(model.id))) or 0
        found["ledger_sum"] = connection.scalar(select(func.coalesce(func.sum(Entry.amount), 0)))
    engine.dispose()
    return found


def parse_only(submissions: int) -> None:
    from alianza.fieldforms.submissions import parse_csv_export

    main_text, repeat_text = generate_harvests(submissions)
    started = time.perf_counter()
    rows = list(csv.DictReader(io.StringIO(main_text)))
    rows += list(csv.DictReader(io.StringIO(repeat_text)))
    baseline = time.perf_counter() - started
    started = time.perf_counter()
    parsed = parse_csv_export(main_text, "harvest", {"products": repeat_text})
    elapsed = time.perf_counter() - started
    assert not parsed.problems and len(parsed.records) == submissions
    print(f"{submissions:,} harvest submissions ({2 * submissions:,} repeat lines), parse only")
    print(f"  csv module only (baseline): {baseline:6.2f} s")
    print(
        f"  parsed into typed records:  {elapsed:6.2f} s ({elapsed / baseline:.1f}x the baseline)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=100_000)
    arguments = parser.parse_args()
    admin_url = os.environ.get("ALIANZA_BENCH_DATABASE_URL") or os.environ.get(
        "ALIANZA_TEST_DATABASE_URL"
    )
    if not admin_url:
        print("fieldforms import skipped (set ALIANZA_BENCH_DATABASE_URL); parse only:")
        parse_only(arguments.submissions)
        return 0
    from alianza.platform.db import make_engine, upgrade

    url, drop_database = scratch_database(admin_url, "alianza_bench_forms")
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        started = time.perf_counter()
        programme = Programme(url)
        print(f"seeded the demo programme ({len(programme.farmers):,} farmers) in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        with tempfile.TemporaryDirectory() as folder:
            files = build_export(programme, arguments.submissions, Path(folder))
            floor = csv_floor(files)
            before = counts(url)
            first, first_seconds = import_all(url, programme, files)
            after = counts(url)
            again, again_seconds = import_all(url, programme, files)
            final = counts(url)
        total = sum(rows for rows, *_ in first.values())
        print(f"{total:,} submissions in {len(first)} Central CSV exports, imported on PostgreSQL:")
        print(f"  {'form':<11}{'rows':>9}{'parse s':>9}{'write s':>9}")
        for form, (rows, parse, write, _imported, _skipped) in first.items():
            print(f"  {form:<11}{rows:>9,}{parse:>9.2f}{write:>9.2f}")
        parse = sum(f[1] for f in first.values())
        write = sum(f[2] for f in first.values())
        print(f"  {'all':<11}{total:>9,}{parse:>9.2f}{write:>9.2f}   = {first_seconds:.2f} s "
              f"(target <= {TARGET:.0f} s); {total / first_seconds:,.0f} submissions/s")  # fmt: skip
        print(f"  baseline: the same files read with the csv module alone {floor:.2f} s; the "
              f"import is {first_seconds / floor:.1f}x that")  # fmt: skip
        added = {k: after[k] - before[k] for k in after if k != "ledger_sum"}
        print(f"  added: {', '.join(f'{k} {v:,}' for k, v in added.items())}; ledger sum "
              f"{after['ledger_sum']}")  # fmt: skip
        skipped = sum(f[4] for f in again.values())
        unchanged = all(final[k] == after[k] for k in after)
        print(f"  imported again: {again_seconds:.2f} s, {skipped:,} skipped as imported before, "
              f"{'nothing added' if unchanged else 'ROWS ADDED'}")  # fmt: skip
        ok = (
            unchanged
            and skipped == total
            and added["field_submissions"] == total
            and after["ledger_sum"] == 0
        )
        print(
            "PASS"
            if ok and first_seconds <= TARGET
            else ("CORRECT, ABOVE TARGET" if ok else "FAIL")
        )
        return 0 if ok else 1
    finally:
        drop_database()


if __name__ == "__main__":
    sys.exit(main())
