"""Benchmark: parse a 100,000-submission ODK Central harvest export (main CSV plus its repeat
CSV, two products a submission) into typed records, against reading the same files with the
standard library's csv module alone (the floor any parser pays), in one run.

Target (issue 11): a 100,000-row ODK export imported in <= 30 s; parsing is the part of the
import done here, the platform's writes the rest.
Run: make bench, or .venv/bin/python benchmarks/fieldforms.py [--submissions N]
"""

from __future__ import annotations

import argparse
import csv
import io
import time
import uuid

from alianza.fieldforms.submissions import parse_csv_export

MAIN_HEADER = (
    "SubmissionDate,start,end,today,deviceid,username,harvest_date,site-village,"
    "site-location-Latitude,site-location-Longitude,site-location-Altitude,"
    "site-location-Accuracy,farmer_qr,meta-instanceID,KEY,SubmitterID,SubmitterName,"
    "AttachmentsPresent,AttachmentsExpected,Status,ReviewState,DeviceID,Edits,FormVersion"
)
REPEAT_HEADER = "kit,quantity,grade,quantity_sold,price,buyer,PARENT_KEY,KEY"


def generate(submissions: int) -> tuple[str, str]:
    """A Central export: the main CSV and the products repeat CSV."""
    main = [MAIN_HEADER]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=100_000)
    arguments = parser.parse_args()
    main_text, repeat_text = generate(arguments.submissions)

    started = time.perf_counter()
    rows = list(csv.DictReader(io.StringIO(main_text)))
    rows += list(csv.DictReader(io.StringIO(repeat_text)))
    baseline = time.perf_counter() - started

    started = time.perf_counter()
    parsed = parse_csv_export(main_text, "harvest", {"products": repeat_text})
    elapsed = time.perf_counter() - started
    assert not parsed.problems and len(parsed.records) == arguments.submissions

    print(f"{arguments.submissions:,} submissions ({2 * arguments.submissions:,} repeat lines)")
    print(f"  csv module only (baseline): {baseline:6.2f} s")
    print(
        f"  parsed into typed records:  {elapsed:6.2f} s  "
        f"({arguments.submissions / elapsed:,.0f} submissions/s, {elapsed / baseline:.1f}x the "
        f"baseline; target <= 30 s for the whole import)"
    )


if __name__ == "__main__":
    main()
