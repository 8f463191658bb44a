from __future__ import annotations

import numpy as np


def left_to_right_sum(values) -> float:
    total = 0.0
    for v in np.asarray(values, dtype=np.float64).tolist():
        total += v
    return total
