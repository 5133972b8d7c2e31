"""The runs of a week (and the week before it), streamed from the signed credit ledger.

Design (measured by `bench/review_bench.py`):

* Where to start. The ledger is in recording order and every entry has its recording time `ts` (UTC,
  one format, so strings compare as times). A run is recorded after it started, so no line recorded
  before the window opened can hold a run of the window: a binary search over byte offsets (about 30
  lines read) finds the first line recorded at or after the window's start less `CLOCK_SLACK` (an
  orchestrator's clock running ahead, a host clock stepped back), and only the rest of the file is
  read. Runs recorded late (backfills, an inbox drained after downtime) are after that point too.
* What to parse. The entries are canonical JSON (docs/ledger.md §2), so a run's start appears as the
  exact bytes `"Started_At":"YYYY-MM-DD`. Each 8 MiB block is searched with `bytes.find` (C speed) for
  `"Started_At":"YYYY-MM-` of the months the two weeks touch, the ten date bytes after it are compared
  with the weeks' dates (one day more each side, for offsets), and only those lines are parsed. A line is
  then trusted only by its parsed `kind` and its `Started_At` read in the configured zone: the byte search
  is a prefilter, never the decision.

Memory is one block plus the two weeks' aggregates; nothing is indexed. A torn last line (no newline
yet) is not read. The signed ledger, not the run log view beside it, is read: the view may trail it
after a crash until the next load (docs/ledger.md §2), and a report must not miss a recorded run.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import orjson

from jobs.credits.review.records import Period, SeenRun

BLOCK = 8 * 1024 * 1024
#: How long before the window opens a line may have been recorded and still hold a run of the window.
CLOCK_SLACK = timedelta(days=2)
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
RUN_KIND = b'"kind":"run.recorded"'
STARTED = b'"Started_At":"'


@dataclass
class ScenarioWeek:
    """One scenario's runs in the week: what the sections are computed from."""

    credits: list[float] = field(default_factory=list)
    severities: Counter = field(default_factory=Counter)
    daily_credits: dict[date, float] = field(default_factory=dict)
    daily_runs: dict[date, int] = field(default_factory=dict)
    last_baseline: float | None = None      # the baseline its latest run of the week was classified against

    @property
    def runs(self) -> int:
        return len(self.credits)

    @property
    def total(self) -> float:
        return sum(self.credits)


@dataclass
class WeekRuns:
    """The week's runs by scenario, its spikes, SEV counts per day, and the week before's run counts."""

    period: Period
    scenarios: dict[str, ScenarioWeek] = field(default_factory=dict)
    spikes: list[SeenRun] = field(default_factory=list)
    sev_by_day: dict[date, Counter] = field(default_factory=dict)
    previous_runs: Counter = field(default_factory=Counter)
    ledger_found: bool = True

    @property
    def runs(self) -> int:
        return sum(s.runs for s in self.scenarios.values())

    def add(self, run: SeenRun) -> None:
        day = run.started_at.date()
        week = self.scenarios.setdefault(run.scenario_id, ScenarioWeek())
        week.credits.append(run.credits)
        week.severities[run.severity] += 1
        week.daily_credits[day] = week.daily_credits.get(day, 0.0) + run.credits
        week.daily_runs[day] = week.daily_runs.get(day, 0) + 1
        if run.baseline_credits is not None:
            week.last_baseline = run.baseline_credits
        self.sev_by_day.setdefault(day, Counter())[run.severity] += 1
        if run.is_spike:
            self.spikes.append(run)

    def add_previous(self, run: SeenRun) -> None:
        self.previous_runs[run.scenario_id] += 1


def read_week(ledger: Path, week: Period) -> WeekRuns:
    """The runs of `week` and the run counts of the week before, from the signed credit ledger."""
    result = WeekRuns(week)
    if not ledger.exists():
        result.ledger_found = False
        return result
    previous = week.previous()
    wanted = _date_bytes(previous.first_day - timedelta(days=1), week.end_day)
    seen: set[str] = set()
    for entry in _entries(ledger, wanted, since=previous.start - CLOCK_SLACK):
        started = started_at(entry)
        if started is None or not previous.start <= started < week.end:
            continue
        run = seen_run(entry, week.zone)
        if run is None or run.run_id in seen:
            continue
        seen.add(run.run_id)
        if week.contains(run.started_at):
            result.add(run)
        else:
            result.add_previous(run)
    return result


def started_at(entry: dict[str, Any]) -> datetime | None:
    """The entry's `Started_At` as an aware time, None when missing or not one."""
    started = entry.get("Started_At")
    if not isinstance(started, str):
        return None
    try:
        moment = datetime.fromisoformat(started)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@dataclass(frozen=True)
class LedgerExtent:
    """What an empty week's report says about the ledger: how many runs it holds, first and last start."""

    runs: int
    first: str | None
    last: str | None


def ledger_extent(ledger: Path) -> LedgerExtent:
    """Counted only when a week is empty (a second pass is then cheap next to a person's confusion)."""
    runs, first, last = 0, None, None
    with ledger.open("rb") as handle:
        for block in blocks(handle):
            runs += block.count(RUN_KIND)
            pos = block.find(STARTED)
            while pos >= 0:
                stamp = block[pos + len(STARTED):pos + len(STARTED) + 10].decode("ascii", "replace")
                first = stamp if first is None or stamp < first else first
                last = stamp if last is None or stamp > last else last
                pos = block.find(STARTED, pos + 1)
    return LedgerExtent(runs, first, last)


def seen_run(entry: dict[str, Any], zone: ZoneInfo) -> SeenRun | None:
    """A `run.recorded` entry as a SeenRun; None for any other entry or one missing what the review needs."""
    if entry.get("kind") != "run.recorded":
        return None
    run_id, scenario, credits = entry.get("Run_ID"), entry.get("Scenario_ID"), entry.get("Credits_Total")
    moment = started_at(entry)
    if not (isinstance(run_id, str) and isinstance(scenario, str)) or moment is None:
        return None
    if isinstance(credits, bool) or not isinstance(credits, (int, float)):
        return None
    variance, baseline = entry.get("Variance"), entry.get("Baseline_Credits")
    case = entry.get("Case_ID")
    return SeenRun(run_id=run_id, scenario_id=scenario, credits=float(credits),
                   severity=str(entry.get("Severity") or ""), started_at=moment.astimezone(zone),
                   variance=float(variance) if isinstance(variance, (int, float)) else None,
                   baseline_credits=float(baseline) if isinstance(baseline, (int, float)) else None,
                   case_id=case if isinstance(case, str) else None,
                   likelihood=str(entry.get("Misconfig_Likelihood") or ""))


# ---- internals -------------------------------------------------------------------------------------


def _date_bytes(first: date, end: date) -> frozenset[bytes]:
    days = (end - first).days + 1
    return frozenset((first + timedelta(days=i)).isoformat().encode() for i in range(days))


def blocks(handle) -> Iterator[bytes]:
    """Whole lines, one block at a time, from where `handle` stands (a line start); a torn last line is
    never yielded."""
    tail = b""
    while True:
        chunk = handle.read(BLOCK)
        if not chunk:
            return
        block = tail + chunk if tail else chunk
        end = block.rfind(b"\n")
        if end < 0:
            tail = block
            continue
        tail = block[end + 1:]
        yield block if end == len(block) - 1 else block[:end + 1]


def first_offset_recorded_since(handle, size: int, since: datetime) -> int:
    """The offset of a line start at or before the first line whose `ts` is >= `since` (binary search).

    Every line before the offset returned was recorded before `since`, as far as the lines looked at
    say; a line that cannot be read (torn, damaged) moves the search earlier, never later."""
    wanted = since.astimezone(timezone.utc).strftime(TS_FORMAT)
    lo, hi = 0, size
    while hi - lo > 64 * 1024:
        mid = (lo + hi) // 2
        handle.seek(mid)
        handle.readline()                     # to the next line start
        start = handle.tell()
        ts = _ts(handle.readline())
        if ts is not None and ts < wanted:
            lo = start
        else:
            hi = mid
    return lo


def _ts(line: bytes) -> str | None:
    if not line.endswith(b"\n"):
        return None
    try:
        ts = orjson.loads(line).get("ts")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return ts if isinstance(ts, str) else None


def _entries(ledger: Path, dates: frozenset[bytes], since: datetime) -> Iterator[dict[str, Any]]:
    months = sorted({d[:8] for d in dates})          # b"2026-11-"
    needles = [STARTED + m for m in months]
    offset = len(STARTED)
    with ledger.open("rb") as handle:
        handle.seek(first_offset_recorded_since(handle, ledger.stat().st_size, since))
        for block in blocks(handle):
            starts: list[int] = []
            for needle in needles:
                pos = block.find(needle)
                while pos >= 0:
                    if block[pos + offset:pos + offset + 10] in dates:
                        starts.append(block.rfind(b"\n", 0, pos) + 1)
                    pos = block.find(needle, pos + offset)
            for start in sorted(set(starts)):
                try:
                    entry = orjson.loads(block[start:block.find(b"\n", start)])
                except orjson.JSONDecodeError:
                    continue     # `chatops ledger verify` reports a damaged line; the review does not use it
                if isinstance(entry, dict):
                    yield entry


def entries_with(path: Path, needles: list[bytes]) -> Iterator[dict[str, Any]]:
    """Parsed lines containing any of `needles`, in file order (the audit reports' kinds and months)."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        for block in blocks(handle):
            starts = set()
            for needle in needles:
                pos = block.find(needle)
                while pos >= 0:
                    starts.add(block.rfind(b"\n", 0, pos) + 1)
                    pos = block.find(needle, pos + len(needle))
            for start in sorted(starts):
                try:
                    entry = orjson.loads(block[start:block.find(b"\n", start)])
                except orjson.JSONDecodeError:
                    continue
                if isinstance(entry, dict):
                    yield entry
