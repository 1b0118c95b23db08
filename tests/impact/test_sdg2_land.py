"""SDG 2.3.1, 2.3.2 and land spared: closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from alianza.impact import (
    average_income,
    average_income_by_sex_and_indigenous,
    land_spared,
    production_per_labour_day,
)


def test_production_per_labour_day():
    # 100 kg in 10 days and 200 kg in 40 days: 10 and 5 kg a day; the indicator is their mean.
    indicator, ratios = production_per_labour_day([100.0, 200.0], [10.0, 40.0])
    assert ratios.tolist() == [10.0, 5.0] and indicator == 7.5
    # Value at prices 2 and 1 $/kg, survey weights 1 and 3: (20 * 1 + 5 * 3) / 4 = 8.75 $/day.
    indicator, _ = production_per_labour_day([100.0, 200.0], [10.0, 40.0], [1.0, 3.0], [2.0, 1.0])
    assert indicator == pytest.approx(8.75)
    with pytest.raises(ValueError, match="labour_days"):
        production_per_labour_day([1.0], [0.0])


def test_average_income_by_sex_and_indigenous():
    income = np.array([100.0, 200.0, 300.0, 400.0])
    sex = np.array(["female", "female", "male", "male"])
    indigenous = np.array([True, False, True, False])
    assert average_income(income) == 250.0
    assert average_income(income, [3.0, 1.0, 0.0, 0.0]) == 125.0
    result = average_income_by_sex_and_indigenous(income, sex, indigenous)
    assert result["sex"] == {"female": 150.0, "male": 350.0}
    assert result["indigenous"] == {True: 200.0, False: 300.0}
    assert result["sex_and_indigenous"] == {
        ("female", False): 200.0,
        ("female", True): 100.0,
        ("male", False): 400.0,
        ("male", True): 300.0,
    }


def test_land_spared():
    # 10 t on 2 ha where the starting yield was 2 t/ha: 5 ha needed then, 3 ha spared.
    assert land_spared(10.0, 2.0, 2.0) == 3.0
    np.testing.assert_allclose(land_spared([10.0, 2.0], [2.0, 2.0], [2.0, 2.0]), [3.0, -1.0])
    with pytest.raises(ValueError, match="baseline_yield"):
        land_spared(1.0, 1.0, 0.0)
