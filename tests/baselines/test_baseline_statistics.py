"""Median and coefficient of variation on data sets computed by hand."""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.credits.baselines.stats import change_pct, coefficient_of_variation, format_change, median


def test_odd_count_median_is_the_middle_value_and_an_outlier_does_not_move_it():
    values = [4, 100, 1, 3, 2]
    assert median(values) == 3.0
    # mean 22; squared deviations 441+400+361+324+6084 = 7610; /(5-1) = 1902.5
    assert coefficient_of_variation(values) == pytest.approx(math.sqrt(1902.5) / 22)


def test_even_count_median_is_the_mean_of_the_two_middle_values():
    values = [40, 10, 30, 20]
    assert median(values) == 25.0
    # mean 25; squared deviations 225+25+25+225 = 500; /3 → stdev 12.9099…
    assert coefficient_of_variation(values) == pytest.approx(math.sqrt(500 / 3) / 25)
    assert coefficient_of_variation(values) == pytest.approx(0.516398, abs=1e-6)


def test_ties_give_the_tied_value_and_a_cv_of_one_over_the_mean():
    values = [5, 7, 5, 5]
    assert median(values) == 5.0
    # mean 5.5; squared deviations 0.25*3 + 2.25 = 3; /3 = 1 → stdev 1
    assert coefficient_of_variation(values) == pytest.approx(1 / 5.5)


def test_even_count_with_ties_in_the_middle():
    assert median([1250.5, 1250.5, 1300.0, 900.0]) == 1250.5


def test_one_run_has_a_median_but_no_measurable_cv():
    assert median([1250.5]) == 1250.5
    assert coefficient_of_variation([1250.5]) is None


def test_no_runs_has_no_median():
    with pytest.raises(ValueError):
        median([])
    assert coefficient_of_variation([]) is None


def test_identical_runs_have_cv_zero():
    assert coefficient_of_variation([800.0] * 9) == 0.0


def test_change_is_signed_with_one_decimal_as_in_the_runbook():
    assert format_change(change_pct(1250.50, 1425.75)) == "+14.0%"
    assert format_change(change_pct(1000, 968)) == "-3.2%"
    assert format_change(change_pct(1000, 1000.0001)) == "+0.0%"
    assert format_change(change_pct(100, 250)) == "+150.0%"


@given(st.lists(st.floats(min_value=0.01, max_value=1e9), min_size=1, max_size=60), st.randoms())
def test_median_lies_between_min_and_max_and_ignores_order(values, rnd):
    shuffled = list(values)
    rnd.shuffle(shuffled)
    assert min(values) <= median(values) <= max(values)
    assert median(shuffled) == median(values)
