"""One validator for every way in: each bad field is named with its value and what is expected."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.credits.records import RunRecord
from jobs.credits.intake.schema import RunRecordInvalid, parse_run_bytes, validate_run
from tests.credits.conftest import raw_run


def errors_of(raw) -> list[str]:
    with pytest.raises(RunRecordInvalid) as caught:
        validate_run(raw)
    return caught.value.errors


def test_a_complete_record_is_read_with_the_runbook_field_names():
    record = validate_run(raw_run(Risk_Flags=["retry_loop"], pii_data_source=True, rerun_of="run_0",
                                  Ended_At="2026-11-22T17:00:00Z"))
    assert record.run_id == "run_1" and record.risk_flags == ("retry_loop",) and record.pii_data_source
    assert record.rerun_of == "run_0" and record.ended_at == datetime(2026, 11, 22, 17, tzinfo=timezone.utc)


def test_every_bad_field_is_named_in_one_answer():
    errors = errors_of({"Run_ID": "a/b", "Scenario_ID": "", "Job_Type": 3, "Credits_Total": "12k",
                        "retry_count": -1, "has_max_items_config": "yes", "Risk_Flags": ["Retry Loop"],
                        "Started_At": "2026-11-22 08:30"})
    text = "\n".join(errors)
    for name in ("Run_ID", "Scenario_ID", "Job_Type", "Credits_Total", "retry_count", "has_max_items_config",
                 "Risk_Flags", "Started_At"):
        assert f"{name} = " in text, name
    assert 'Credits_Total = "12k": expected a number >= 0' in text
    assert len(errors) == 8


def test_a_misspelt_field_is_an_error_with_the_closest_name():
    raw = raw_run()
    raw["Credit_Total"] = raw.pop("Credits_Total")
    errors = errors_of(raw)
    assert "Credit_Total: unknown field; did you mean 'Credits_Total'?" in errors
    assert "Credits_Total: missing; expected a number >= 0 (credits used by the run)" in errors


@pytest.mark.parametrize("field,value,expected", [
    ("Started_At", "2026-11-22T08:30:00", "UTC offset"),
    ("Credits_Total", float("inf"), "not a finite number"),
    ("Credits_Total", True, "number >= 0"),
    ("retry_count", 1.5, "whole number"),
    ("Risk_Flags", ["retry_loop", "retry_loop"], "distinct"),
    ("rerun_of", "run_1", "not itself"),
    ("Ended_At", "2026-11-22T00:00:00Z", "not before Started_At"),
])
def test_each_rule_names_the_field_and_the_fix(field, value, expected):
    errors = errors_of(raw_run(**{field: value}))
    assert any(e.startswith(field) and expected in e for e in errors), errors


def test_bad_json_and_non_objects_are_rejected_with_the_source_named():
    with pytest.raises(RunRecordInvalid) as caught:
        parse_run_bytes(b'{"Run_ID": ', source="inbox/runs/x.json")
    assert str(caught.value).startswith("inbox/runs/x.json rejected (1 problem; nothing from it was recorded)") and "not valid JSON" in str(caught.value)
    assert "expected a JSON object" in errors_of([raw_run()])[0]


ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(run_id=ids, scenario=ids, credits=st.floats(min_value=0, max_value=1e12, allow_nan=False),
       retries=st.integers(0, 1000), bounded=st.booleans(),
       flags=st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), unique=True, max_size=5))
def test_any_valid_record_survives_its_own_file_format(run_id, scenario, credits, retries, bounded, flags):
    record = RunRecord(run_id=run_id, scenario_id=scenario, job_type="sync", credits_total=credits,
                       retry_count=retries, has_max_items_config=bounded, risk_flags=tuple(flags),
                       started_at=datetime(2026, 11, 22, 16, 30, tzinfo=timezone.utc))
    assert parse_run_bytes(orjson.dumps(record.to_fields())) == record


@pytest.mark.parametrize("field,value,expected", [
    ("Credits_Total", 1e308, "Credits_Total = 1e+308: expected a number from 0 up to (not including) 2^53 = "
                             "9,007,199,254,740,992; this one is too large"),
    ("Credits_Total", float("nan"), "this one is not a finite number"),
    ("Credits_Total", -5, "Credits_Total = -5: expected a number from 0 up to (not including) 2^53 = "
                          "9,007,199,254,740,992; this one is negative"),
    ("retry_count", 2 ** 40, "expected a whole number from 0 up to (not including) 2^31 = 2,147,483,648; "
                             "this one is too large"),
])
def test_a_number_out_of_range_is_called_too_large_or_not_finite_with_the_allowed_range(field, value, expected):
    errors = errors_of(raw_run(**{field: value}))
    assert any(expected in e for e in errors), errors
