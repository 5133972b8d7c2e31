"""The one validator for run records, whichever way they arrive (CLI, inbox file, HTTP).

Every problem is collected and named, field by field, so an orchestrator's author fixes a bad record
in one round: `Credits_Total = "12k": expected a number >= 0`. Unknown fields are errors (with the
closest known name), because a misspelt `Credit_Total` silently ignored would record a run with no
credits at all.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

import orjson

from jobs.credits.records import RunRecord
from jobs.errors import Invalid

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
SCENARIO_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
FLAG_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_CREDITS = 2.0 ** 53
MAX_RECORD_BYTES = 32 * 1024


@dataclass(frozen=True)
class FieldError:
    field: str
    value: Any
    expected: str

    def __str__(self) -> str:
        if self.value is _MISSING:
            return f"{self.field}: missing; expected {self.expected}"
        shown = orjson.dumps(self.value, default=str).decode()
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{self.field} = {shown}: expected {self.expected}"


class RunRecordInvalid(Invalid):
    """A run record that cannot be recorded; `errors` names every bad field."""

    def __init__(self, errors: list[FieldError] | list[str], source: str = "run record") -> None:
        self.errors = [str(e) for e in errors]
        self.source = source
        # Records are checked whole before any is recorded, so a rejection means none of the source was.
        super().__init__(f"{source} rejected ({len(self.errors)} problem"
                         f"{'s' if len(self.errors) != 1 else ''}; nothing from it was recorded):\n  "
                         + "\n  ".join(self.errors))


class _Missing:
    def __repr__(self) -> str:
        return "missing"


_MISSING = _Missing()


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) and ID_PATTERN.match(value) else None


def _scenario(value: Any) -> str | None:
    return value if isinstance(value, str) and SCENARIO_PATTERN.match(value) else None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and 0 < len(value.strip()) <= 64 else None


def _credits(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) and 0 <= number < MAX_CREDITS else None


#: the numeric fields' allowed ranges, named when a number is outside them (not "expected a number")
_RANGES: dict[str, tuple[str, float, float, str]] = {
    "Credits_Total": ("a number", 0, MAX_CREDITS, "2^53"),
    "retry_count": ("a whole number", 0, 2 ** 31, "2^31"),
}


def _out_of_range(name: str, value: Any) -> str | None:
    """For a number of the right kind but outside its range: what is wrong with it and the allowed range."""
    if name not in _RANGES or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    kind, low, high, shown = _RANGES[name]
    if name == "retry_count" and not isinstance(value, int):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        what = "not a finite number"
    elif value >= high:
        what = "too large"
    elif value < low:
        what = "negative"
    else:
        return None
    return f"{kind} from {low:g} up to (not including) {shown} = {high:,.0f}; this one is {what}"


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2 ** 31:
        return None
    return value


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _flags(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list) or len(value) > 64:
        return None
    if not all(isinstance(v, str) and FLAG_PATTERN.match(v) for v in value) or len(set(value)) != len(value):
        return None
    return tuple(value)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


_ID = "an id of letters, digits, '_', '.', '-' (1-128 characters, e.g. \"run_20261122_0830_7f3a\")"
_TIME = "an RFC 3339 time with its UTC offset, e.g. \"2026-11-22T08:30:00-08:00\""

#: field name -> (converter returning None when invalid, what is expected, required, default)
FIELDS: dict[str, tuple[Callable[[Any], Any], str, bool, Any]] = {
    "Run_ID": (_id, _ID, True, None),
    "Scenario_ID": (_scenario, "a scenario id of letters, digits, '_', '.', ':', '-' (1-128 characters)", True,
                    None),
    "Job_Type": (_text, "a non-empty name of at most 64 characters, e.g. \"export\"", True, None),
    "Credits_Total": (_credits, "a number >= 0 (credits used by the run)", True, None),
    "retry_count": (_count, "a whole number >= 0", True, None),
    "has_max_items_config": (_bool, "true or false", True, None),
    "Risk_Flags": (_flags, "a list of distinct lower-case flags, e.g. [\"retry_loop\"]", False, ()),
    "pii_data_source": (_bool, "true or false (the run read a PII data source)", False, False),
    "regulatory_data_source": (_bool, "true or false (the run read regulatory data)", False, False),
    "is_backfill": (_bool, "true or false", False, False),
    "rerun_of": (lambda v: v if v is None else _id(v), "the Run_ID of the original run, or null", False, None),
    "Started_At": (_time, _TIME, True, None),
    "Ended_At": (lambda v: v if v is None else _time(v), _TIME + " or null", False, None),
}


def validate_run(raw: Any, source: str = "run record") -> RunRecord:
    """Turn a decoded JSON object into a `RunRecord`, or raise `RunRecordInvalid` naming every problem."""
    if not isinstance(raw, dict):
        raise RunRecordInvalid([f"expected a JSON object with fields {', '.join(FIELDS)}; "
                                f"got {type(raw).__name__}"], source)
    errors: list[FieldError | str] = []
    values: dict[str, Any] = {}
    for name in raw:
        if name not in FIELDS:
            close = difflib.get_close_matches(name, list(FIELDS), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else "known fields: " + ", ".join(FIELDS)
            errors.append(f"{name}: unknown field; {hint}")
    for name, (convert, expected, required, default) in FIELDS.items():
        if name not in raw:
            if required:
                errors.append(FieldError(name, _MISSING, expected))
            values[name] = default
            continue
        converted = convert(raw[name])
        if converted is None and not (raw[name] is None and not required and default is None):
            errors.append(FieldError(name, raw[name], _out_of_range(name, raw[name]) or expected))
        values[name] = converted
    started, ended = values.get("Started_At"), values.get("Ended_At")
    if isinstance(started, datetime) and isinstance(ended, datetime) and ended < started:
        errors.append(FieldError("Ended_At", raw["Ended_At"], f"a time not before Started_At ({raw['Started_At']})"))
    if values.get("rerun_of") and values.get("rerun_of") == values.get("Run_ID"):
        errors.append(FieldError("rerun_of", raw["rerun_of"], "the Run_ID of another run (not itself)"))
    if errors:
        raise RunRecordInvalid(errors, source)  # type: ignore[arg-type]
    return RunRecord(
        run_id=values["Run_ID"], scenario_id=values["Scenario_ID"], job_type=values["Job_Type"],
        credits_total=values["Credits_Total"], retry_count=values["retry_count"],
        has_max_items_config=values["has_max_items_config"], risk_flags=values["Risk_Flags"],
        started_at=values["Started_At"], ended_at=values["Ended_At"],
        pii_data_source=values["pii_data_source"], regulatory_data_source=values["regulatory_data_source"],
        is_backfill=values["is_backfill"], rerun_of=values["rerun_of"])


def parse_run_bytes(data: bytes, source: str = "run record") -> RunRecord:
    """Decode JSON bytes (a file, stdin, an HTTP body) and validate them."""
    if len(data) > MAX_RECORD_BYTES:
        raise RunRecordInvalid([f"record is {len(data)} bytes; expected at most {MAX_RECORD_BYTES} "
                                "(one run per record)"], source)
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise RunRecordInvalid([f"not valid JSON: {exc}"], source) from None
    return validate_run(raw, source)
