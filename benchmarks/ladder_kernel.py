"""Benchmark: the compiled settle-and-buy step of the kit-ladder simulator, on captured inputs.

Runs the full example scenario (examples/scenarios/tanzania-districts.yaml) once at 60,000
farmers in chunks of 10,000, captures the inputs of the first chunk's `settle_and_buy` calls
(its 20 seasons), then replays them through this checkout's kernel and through any other
kernel files given, interleaved in one process (so every kernel sees the same load on a shared
machine), and prints ns per farmer-season: the sum over seasons of the best of --repeats runs.
It also prints the cost without purchases (max_purchases_per_season = 0), which splits the
step into settling (margins, loans, consumption, indicators) and buying.

    python -P benchmarks/ladder_kernel.py   # -P: benchmarks/platform.py shadows the stdlib
    git show main:src/alianza/ladder/season_kernel.py > /tmp/main_kernel.py
    python -P benchmarks/ladder_kernel.py --kernel main=/tmp/main_kernel.py

A kernel file must be a copy of `alianza/ladder/season_kernel.py` with the same
`settle_and_buy` signature. Needs numba.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from alianza.ladder import season_kernel
from alianza.ladder.runner import run_local
from alianza.ladder.scenario import load_scenario, with_overrides

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenarios"


def load_kernel(name: str, path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"kernel_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # numba's on-disk cache looks the module up by name
    spec.loader.exec_module(module)
    return module


def capture(seasons: int) -> list[tuple[Any, ...]]:
    """Inputs of the first `seasons` settle_and_buy calls (the first chunk), copied."""
    calls: list[tuple[Any, ...]] = []
    original = season_kernel.settle_and_buy

    def recording(*args: Any) -> None:
        if len(calls) < seasons:
            calls.append(tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args))
        original(*args)

    season_kernel.settle_and_buy = recording
    try:
        scenario = with_overrides(load_scenario(EXAMPLES / "tanzania-districts.yaml"),
                                  farmers=60_000)
        run_local(scenario, farmers_per_chunk=10_000)
    finally:
        season_kernel.settle_and_buy = original
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", action="append", default=[], metavar="NAME=FILE",
                        help="another kernel file to compare (repeatable)")
    parser.add_argument("--repeats", type=int, default=25)
    args = parser.parse_args()
    if not season_kernel.AVAILABLE:
        print("numba is not installed (or ALIANZA_LADDER_KERNEL=numpy): nothing to time")
        return
    kernels: dict[str, Any] = {"this checkout": season_kernel}
    for entry in args.kernel:
        name, path = entry.split("=", 1)
        kernels[name] = load_kernel(name, path)
    parameters = list(inspect.signature(season_kernel.settle_and_buy.py_func).parameters)
    cash, max_purchases = parameters.index("cash"), parameters.index("max_purchases")
    calls = capture(20)
    variants = {"": calls, " (no purchases)": [
        c[:max_purchases] + (0,) + c[max_purchases + 1:] for c in calls
    ]}
    farmer_seasons = sum(c[cash].shape[0] for c in calls)
    best = {(name, label): [float("inf")] * len(calls)
            for name in kernels for label in variants}
    for _ in range(args.repeats):
        for label, inputs in variants.items():
            for j, call in enumerate(inputs):
                for name, module in kernels.items():
                    copied = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in call)
                    started = time.perf_counter()
                    module.settle_and_buy(*copied)
                    elapsed = time.perf_counter() - started
                    best[name, label][j] = min(best[name, label][j], elapsed)
    print(f"settle_and_buy, full example scenario, first chunk ({calls[0][cash].shape[0]:,} "
          f"farmers) x {len(calls)} seasons; sum over seasons of the best of {args.repeats}")
    for (name, label), times in best.items():
        print(f"  {name}{label}: {sum(times) / farmer_seasons * 1e9:6.1f} ns per farmer-season")


if __name__ == "__main__":
    main()
