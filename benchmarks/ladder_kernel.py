"""Benchmark: the compiled season loop of the kit-ladder simulator, on captured inputs.

Runs the full example scenario (examples/scenarios/tanzania-districts.yaml) once at 60,000
farmers in chunks of 10,000, captures the inputs of the first chunk's `simulate_seasons` call
(its 20 seasons: wear-out, harvest, markets, settle and buy, statistics), then replays them
through this checkout's kernel and through any other kernel files given, interleaved in one
process (so every kernel sees the same load on a shared machine), and prints ns per
farmer-season, best of --repeats. It also prints the cost without purchases
(max_purchases_per_season = 0), which splits off the buying.

    python -P benchmarks/ladder_kernel.py   # -P: benchmarks/platform.py shadows the stdlib
    git show main:src/alianza/ladder/season_kernel.py > /tmp/main_kernel.py
    python -P benchmarks/ladder_kernel.py --kernel main=/tmp/main_kernel.py

A kernel file must be a copy of `alianza/ladder/season_kernel.py` with the same
`simulate_seasons` signature. Needs numba.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from alianza.ladder import season_kernel
from alianza.ladder.runner import run_local
from alianza.ladder.scenario import load_scenario, with_overrides

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenarios"
MAX_PURCHASES = 0  # position of max_purchases_per_season in simulate_seasons' policy_values


def load_kernel(name: str, path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"kernel_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # numba's on-disk cache looks the module up by name
    spec.loader.exec_module(module)
    return module


def capture() -> tuple[Any, ...]:
    """Inputs of the first chunk's simulate_seasons call, copied before it ran."""
    calls: list[tuple[Any, ...]] = []
    original = season_kernel.simulate_seasons

    def recording(*args: Any) -> None:
        if not calls:
            calls.append(copy.deepcopy(args))
        original(*args)

    season_kernel.simulate_seasons = recording
    try:
        scenario = with_overrides(
            load_scenario(EXAMPLES / "tanzania-districts.yaml"), farmers=60_000
        )
        run_local(scenario, farmers_per_chunk=10_000)
    finally:
        season_kernel.simulate_seasons = original
    return calls[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--kernel",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="another kernel file to compare (repeatable)",
    )
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    if not season_kernel.AVAILABLE:
        print("numba is not installed (or ALIANZA_LADDER_KERNEL=numpy): nothing to time")
        return
    kernels: dict[str, Any] = {"this checkout": season_kernel}
    for entry in args.kernel:
        name, path = entry.split("=", 1)
        kernels[name] = load_kernel(name, path)
    call = capture()
    policy = call[2]
    no_purchases = (*call[:2], (0, *policy[MAX_PURCHASES + 1 :]), *call[3:])
    variants = {"": call, " (no purchases)": no_purchases}
    z = call[6]
    farmer_seasons = z.shape[0] * z.shape[1]
    best = {(name, label): float("inf") for name in kernels for label in variants}
    for _ in range(args.repeats):
        for label, inputs in variants.items():
            for name, module in kernels.items():
                copied = copy.deepcopy(inputs)
                started = time.perf_counter()
                module.simulate_seasons(*copied)
                elapsed = time.perf_counter() - started
                best[name, label] = min(best[name, label], elapsed)
    print(
        f"simulate_seasons, full example scenario, first chunk ({z.shape[1]:,} farmers x "
        f"{z.shape[0]} seasons); best of {args.repeats}"
    )
    for (name, label), elapsed in best.items():
        print(f"  {name}{label}: {elapsed / farmer_seasons * 1e9:6.1f} ns per farmer-season")


if __name__ == "__main__":
    main()
