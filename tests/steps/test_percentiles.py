"""The percentiles reproduce numpy's linear method bit for bit, not just to 1e-9: its virtual index
(n - 1) q, its clipped indexes, its lerp (``statistics.percentile_plan``, and vectorised in
``window_statistics``)."""

from __future__ import annotations

import numpy as np

from steps.extract.statistics import PERCENTILES, lerp, percentile_plan
from steps.extract.window_statistics import _percentile_plan


def test_percentiles_equal_numpys_bit_for_bit() -> None:
    rng = np.random.default_rng(3)
    counts = [*range(1, 300), 1000, 4099, 100_000, 100_001]
    plans = _percentile_plan(np.array(counts, dtype=np.int64), np.array(PERCENTILES))
    for row, n in enumerate(counts):
        values = np.sort(rng.normal(0, 1, n))
        for column, percent in enumerate(PERCENTILES):
            first, second, gamma = percentile_plan(n, percent)
            ours = lerp(float(values[first]), float(values[second]), gamma)
            assert ours == float(np.percentile(values, percent)), (n, percent)
            assert (plans[0][row, column], plans[1][row, column], plans[2][row, column]) == (
                first,
                second,
                gamma,
            )
