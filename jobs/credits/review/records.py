"""What the weekly review and the audit reports talk about: periods, the runs of a week, report files.

A run belongs to the ISO week (Monday to Sunday) of its `Started_At` in the configured zone, the
same wall-clock weeks the Monday 10:00 job is scheduled in (`jobs/schedule.py` slots). A report is
named by its period's first day: `weekly_<Monday>.json` (the runbook's `weekly_<date>.json`),
`monthly_<YYYY-MM>.json`, `quarterly_<YYYY-Qn>.json`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from zoneinfo import ZoneInfo

from jobs.errors import Invalid

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


class PeriodKind(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


@dataclass(frozen=True)
class Period:
    """[start, end) in local wall-clock time; `label` is how a person names it (`2026-W47`)."""

    kind: PeriodKind
    label: str
    first_day: date
    end_day: date          # the day after the last day
    zone: ZoneInfo

    @cached_property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(0), self.zone)

    @cached_property
    def end(self) -> datetime:
        return datetime.combine(self.end_day, time(0), self.zone)

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range((self.end_day - self.first_day).days)]

    @property
    def file_stem(self) -> str:
        name = self.first_day.isoformat() if self.kind is PeriodKind.WEEKLY else self.label
        return f"{self.kind.value}_{name}"

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def previous(self) -> "Period":
        if self.kind is not PeriodKind.WEEKLY:
            raise ValueError("only a week has a previous period here")
        return week_of(self.first_day - timedelta(days=7), self.zone)

    def to_json(self) -> dict[str, str]:
        return {"label": self.label, "first_day": self.first_day.isoformat(),
                "last_day": (self.end_day - timedelta(days=1)).isoformat(), "start": self.start.isoformat(),
                "end": self.end.isoformat(), "timezone": str(self.zone)}


def week_of(day: date, zone: ZoneInfo) -> Period:
    year, week, weekday = day.isocalendar()
    monday = day - timedelta(days=weekday - 1)
    return Period(PeriodKind.WEEKLY, f"{year}-W{week:02d}", monday, monday + timedelta(days=7), zone)


#: Years a period may name: a report's period and the one before it must be dates Python can hold.
YEARS = range(1900, 9999)


def _year_in_range(flag: str, text: str, year: int) -> None:
    if year not in YEARS:
        raise Invalid(f"{flag} {text!r}: the year must be from {YEARS.start} to {YEARS.stop - 1}")


def parse_week(text: str, zone: ZoneInfo) -> Period:
    match = WEEK.match(text.strip().upper())     # 2026-w47 is what a person types as often
    if match:
        _year_in_range("--week", text, int(match[1]))
    try:
        if not match:
            raise ValueError
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise Invalid(f"--week {text!r} is not an ISO week; write YYYY-Www, e.g. --week 2026-W47") from None
    return week_of(monday, zone)


def parse_month(text: str, zone: ZoneInfo) -> Period:
    match = MONTH.match(text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise Invalid(f"--month {text!r} is not a month; write YYYY-MM, e.g. --month 2026-11")
    _year_in_range("--month", text, int(match[1]))
    first = date(int(match[1]), int(match[2]), 1)
    return Period(PeriodKind.MONTHLY, f"{first:%Y-%m}", first, _add_months(first, 1), zone)


def parse_quarter(text: str, zone: ZoneInfo) -> Period:
    match = QUARTER.match(text.strip().upper())
    if not match:
        raise Invalid(f"--quarter {text!r} is not a quarter; write YYYY-Qn, e.g. --quarter 2026-Q4")
    _year_in_range("--quarter", text, int(match[1]))
    first = date(int(match[1]), 3 * (int(match[2]) - 1) + 1, 1)
    return Period(PeriodKind.QUARTERLY, f"{first.year}-Q{match[2]}", first, _add_months(first, 3), zone)


def last_complete(kind: PeriodKind, now: datetime, zone: ZoneInfo) -> Period:
    """The latest period that has ended by `now` (local): what a report without a period covers."""
    today = now.astimezone(zone).date()
    if kind is PeriodKind.WEEKLY:
        return week_of(today - timedelta(days=7), zone)
    this_month = today.replace(day=1)
    if kind is PeriodKind.MONTHLY:
        previous = _add_months(this_month, -1)
        return parse_month(f"{previous:%Y-%m}", zone)
    quarter_start = this_month.replace(month=3 * ((this_month.month - 1) // 3) + 1)
    previous = _add_months(quarter_start, -3)
    return parse_quarter(f"{previous.year}-Q{(previous.month - 1) // 3 + 1}", zone)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class SeenRun:
    """What the review needs of one recorded run (fields of its `run.recorded` entry)."""

    run_id: str
    scenario_id: str
    credits: float
    severity: str
    started_at: datetime          # local time
    variance: float | None
    baseline_credits: float | None
    case_id: str | None
    likelihood: str                # Misconfig_Likelihood, for the quarterly confusion table

    @property
    def is_spike(self) -> bool:
        return self.severity in SPIKE_SEVERITIES


SPIKE_SEVERITIES = ("SEV0", "SEV1", "SEV2")
SEVERE = ("SEV0", "SEV1")


@dataclass(frozen=True)
class WrittenReport:
    """A report written beside its sidecar and recorded in the credit ledger."""

    period: Period
    path: str                     # relative to the data directory
    sha256: str
    chart: str = ""               # relative path of the PNG, weekly only
    chart_sha256: str = ""
    report: dict | None = None    # the report as written


class Sev2Decision(StrEnum):
    """The runbook's SEV2 batch review: a case is warranted, or the spike was isolated (noted)."""

    CASE_OPENED = "case_opened"
    ISOLATED = "isolated"
