from pathlib import Path

import pytest

CASES = Path(__file__).parent / "cases"
EXAMPLES = Path(__file__).parents[2] / "examples" / "plans"
# RuralInvest's reference cases as the project's shared folder holds them, when present.
SHARED_REFERENCE = Path(__file__).parents[3] / "shared" / "reference" / "plans"


@pytest.fixture
def cases() -> Path:
    return CASES
