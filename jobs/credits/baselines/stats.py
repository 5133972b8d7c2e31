"""The statistics of a baseline: median credits and coefficient of variation of healthy runs.

Pure functions over numbers, so the hand-computed data sets in the tests pin them down exactly.

* Median: the middle value; for an even count the mean of the two middle values (the usual
  definition, and what `statistics.median` computes). A median, not a mean, because one retry loop
  that slipped through as SEV2 should not move the baseline.
* Coefficient of variation: sample standard deviation (n − 1) ÷ mean. The sample form because the
  runs are a sample of the scenario's behaviour; it is undefined for fewer than two runs (one run
  says nothing about stability, so the runbook's "CV < 0.3" cannot be shown and is refused), and
  undefined when the mean is 0.
"""
from __future__ import annotations

import math
import statistics
from typing import Sequence

#: The longest window in days a command accepts (100 years): a longer one reaches back before any date a
#: run can have, and past what a `timedelta` holds.
MAX_DAYS = 36_500


def median(values: Sequence[float]) -> float:
    """Median of `values`; raises ValueError on an empty sequence (the caller says what is missing)."""
    if not values:
        raise ValueError("median of no values")
    return float(statistics.median(values))


def coefficient_of_variation(values: Sequence[float]) -> float | None:
    """Sample standard deviation ÷ mean, or None when it cannot be measured (< 2 values, mean 0)."""
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    if mean == 0:
        return None
    return statistics.stdev(values) / mean


def change_pct(old: float, new: float) -> float:
    """Relative change from `old` to `new` in percent (old > 0: baselines are positive)."""
    return (new - old) / old * 100.0


def format_change(pct: float) -> str:
    """`+14.0%`, `-3.2%`, `+0.0%`: always signed, one decimal, as in the runbook's update note."""
    rounded = round(pct, 1)
    if rounded == 0:
        rounded = 0.0
    return f"{rounded:+.1f}%"


def format_credits(value: float) -> str:
    """Two decimals, as the runbook prints baselines (`1250.50`)."""
    return f"{value:.2f}"


def is_finite_positive(value: float) -> bool:
    return math.isfinite(value) and value > 0
