"""RuralInvest parity: each reference case reproduces every figure RuralInvest computed
(money to the cent, rates to 0.0001, months and years as given)."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from alianza.appraisal import evaluate, load_plan

from .conftest import CASES, SHARED_REFERENCE


def case_pairs() -> list[Any]:
    pairs = []
    for folder in (CASES, SHARED_REFERENCE):
        for expected in sorted(folder.glob("*.expected.yaml")) if folder.is_dir() else []:
            stem = expected.name.removesuffix(".expected.yaml")
            plan = next(folder.glob(f"{stem}.*.yaml"))
            if plan == expected:
                plan = next(p for p in folder.glob(f"{stem}.*.yaml") if p != expected)
            pairs.append(
                pytest.param(
                    plan, expected, id=f"{'alianza' if folder == CASES else 'shared'}/{stem}"
                )
            )
    return pairs


def tolerance(key: str) -> float:
    if key.endswith("irr"):
        return 0.0001
    return 0.005  # money to the cent; years and months as given (1 or 2 decimals)


def compare(expected: Any, actual: Any, path: str, problems: list[str]) -> None:
    if isinstance(expected, dict):
        for key, value in expected.items():
            if not isinstance(actual, dict) or key not in actual:
                problems.append(f"{path}{key}: missing from the report")
            else:
                compare(value, actual[key], f"{path}{key}.", problems)
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            problems.append(f"{path[:-1]}: {actual} != {expected}")
            return
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            compare(e, a, f"{path[:-1]}[{i}].", problems)
    else:
        key = path[:-1].split(".")[-1].split("[")[0]
        if actual is None or abs(float(actual) - float(expected)) > tolerance(key) + 1e-9:
            problems.append(f"{path[:-1]}: alianza {actual}, RuralInvest {expected}")


@pytest.mark.parametrize(("plan_path", "expected_path"), case_pairs())
def test_reference_case_reproduces_every_figure(plan_path: Path, expected_path: Path) -> None:
    expected = yaml.safe_load(expected_path.read_text())
    report = evaluate(load_plan(plan_path)).to_dict()
    problems: list[str] = []
    compare(expected, report, "", problems)
    assert not problems, "\n".join(problems)


def test_both_cases_are_in_the_project() -> None:
    assert len([p for p in case_pairs() if p.id.startswith("alianza/")]) == 2
