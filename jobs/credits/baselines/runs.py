"""Read one scenario's runs from the credit ledger, streaming, without loading every run.

Design (measured by `bench/baseline_bench.py`): the credit ledger is canonical JSON, one entry per
line (docs/ledger.md §2), so the scenario id appears in a line of that scenario as the exact bytes of
its JSON string (`"scn-invoice-sync"`). We read the file in 8 MiB blocks, find those bytes with
`bytes.find` (C speed), and parse only the lines that contain them, plus the few `quarantine.*`
lines (a quarantine move names a Run_ID, not always a Scenario_ID). A line is then trusted only if
its parsed `kind` and `Scenario_ID` match: the byte search is a prefilter, never the decision.
Memory is one block plus the scenario's own runs. No index to keep consistent with the signed file.

A torn last line (a writer mid-append, or a crash) has no newline yet and is not read.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import orjson

CREDIT_LEDGER = Path("runs") / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
BLOCK = 8 * 1024 * 1024
RUN_RECORDED = "run.recorded"
UNHEALTHY_SEVERITIES = frozenset({"SEV0", "SEV1"})
QUARANTINE_NEEDLE = b'"kind":"quarantine.'
QUARANTINE_DIR = "QUARANTINE"
#: When a run happened (jobs/credits/records.py), then the ledger's `ts` (when it was recorded).
RUN_TIME_FIELDS = ("Started_At", "Ended_At", "ts")


@dataclass(frozen=True)
class RunPoint:
    """What a baseline needs of one recorded run."""

    run_id: str
    at: datetime
    credits: float
    severity: str
    is_backfill: bool
    unassessed: bool = False    # UNBASELINED and not shown free of risk (`_unassessed`): never evidence


@dataclass(frozen=True)
class ScenarioRuns:
    """Every recorded run of one scenario, and which of them are quarantined now."""

    scenario_id: str
    runs: tuple[RunPoint, ...]
    quarantined: frozenset[str]
    ledger_path: Path
    ledger_found: bool

    def healthy(self, since: datetime, until: datetime) -> list[RunPoint]:
        """Recorded, not SEV0/SEV1, not quarantined, not backfill, not an unassessed UNBASELINED run, and
        within [since, until].

        Backfill means the record's `is_backfill` or the scenario's backfill mode (`Backfill_Mode`).
        """
        return [r for r in self.runs
                if since <= r.at <= until and r.severity not in UNHEALTHY_SEVERITIES
                and not r.is_backfill and not r.unassessed and r.run_id not in self.quarantined]

    def first_healthy(self, until: datetime) -> RunPoint | None:
        """The oldest healthy run up to `until` (how many days of healthy history there are)."""
        healthy = self.healthy(datetime.min.replace(tzinfo=until.tzinfo), until)
        return min(healthy, key=lambda r: r.at, default=None)

    def severe_since(self, since: datetime, until: datetime) -> list[RunPoint]:
        """SEV0/SEV1 runs within [since, until], whatever else is true of them."""
        return [r for r in self.runs if since <= r.at <= until and r.severity in UNHEALTHY_SEVERITIES]

    def exclusions(self, since: datetime, until: datetime) -> "Exclusions":
        """Why runs in the window were not counted as healthy: says what data is missing."""
        in_window = [r for r in self.runs if since <= r.at <= until]
        return Exclusions(
            recorded=len(in_window),
            severe=sum(r.severity in UNHEALTHY_SEVERITIES for r in in_window),
            quarantined=sum(r.run_id in self.quarantined for r in in_window),
            backfill=sum(r.is_backfill for r in in_window),
            before_window=sum(r.at < since for r in self.runs),
            unassessed=sum(r.unassessed for r in in_window),
        )


@dataclass(frozen=True)
class Exclusions:
    recorded: int
    severe: int
    quarantined: int
    backfill: int
    before_window: int
    unassessed: int = 0


def ledger_path(data_dir: Path) -> Path:
    return Path(data_dir) / CREDIT_LEDGER


def scan_scenario(data_dir: Path, scenario_id: str) -> ScenarioRuns:
    """All `run.recorded` entries of `scenario_id`, and the quarantine state of every run."""
    path = ledger_path(data_dir)
    needle = json.dumps(scenario_id, ensure_ascii=False).encode("utf-8")
    runs: dict[str, RunPoint] = {}
    quarantined: set[str] = set()
    if not path.exists():
        return ScenarioRuns(scenario_id, (), frozenset(), path, False)
    for entry in _matching_entries(path, (needle, QUARANTINE_NEEDLE)):
        kind = entry.get("kind")
        if kind == RUN_RECORDED and entry.get("Scenario_ID") == scenario_id:
            point = _run_point(entry)
            if point is not None and point.run_id not in runs:
                runs[point.run_id] = point
        elif isinstance(kind, str) and kind.startswith("quarantine."):
            _apply_quarantine(entry, quarantined)
    ordered = tuple(sorted(runs.values(), key=lambda r: (r.at, r.run_id)))
    return ScenarioRuns(scenario_id, ordered, frozenset(quarantined), path, True)


def recorded_scenarios(data_dir: Path) -> set[str]:
    """Every Scenario_ID that has a recorded run (a full pass; used only to suggest a correct id)."""
    path = ledger_path(data_dir)
    found: set[str] = set()
    if not path.exists():
        return found
    for entry in _matching_entries(path, (b'"kind":"run.recorded"',)):
        scenario = entry.get("Scenario_ID")
        if isinstance(scenario, str):
            found.add(scenario)
    return found


def data_digest(runs: list[RunPoint]) -> str:
    """SHA-256 over the (Run_ID, credits) a result was computed from: any change in the data changes it."""
    digest = hashlib.sha256()
    for run in sorted(runs, key=lambda r: r.run_id):
        digest.update(orjson.dumps([run.run_id, run.credits]) + b"\n")
    return digest.hexdigest()


# ---- internals -------------------------------------------------------------------------------------


def _matching_entries(path: Path, needles: tuple[bytes, ...]) -> Iterator[dict[str, Any]]:
    """Parsed lines containing any of `needles`, in file order; complete lines only."""
    with path.open("rb") as handle:
        tail = b""
        while True:
            chunk = handle.read(BLOCK)
            if not chunk:
                return
            block = tail + chunk
            end = block.rfind(b"\n")
            if end < 0:
                tail = block
                continue
            tail = block[end + 1:]
            yield from _entries_in(block[:end + 1], needles)


def _entries_in(block: bytes, needles: tuple[bytes, ...]) -> Iterator[dict[str, Any]]:
    starts: set[int] = set()
    for needle in needles:
        pos = block.find(needle)
        while pos >= 0:
            start = block.rfind(b"\n", 0, pos) + 1
            starts.add(start)
            line_end = block.find(b"\n", pos)
            pos = block.find(needle, line_end)
    for start in sorted(starts):
        line = block[start:block.find(b"\n", start)]
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # `chatops ledger verify` reports a damaged line; a baseline just does not use it
        if isinstance(entry, dict):
            yield entry


def _run_point(entry: dict[str, Any]) -> RunPoint | None:
    run_id, credits = entry.get("Run_ID"), entry.get("Credits_Total")
    if not isinstance(run_id, str) or isinstance(credits, bool) or not isinstance(credits, (int, float)):
        return None
    at = _run_time(entry)
    if at is None:
        return None
    severity = entry.get("Severity")
    return RunPoint(run_id=run_id, at=at, credits=float(credits),
                    severity=severity if isinstance(severity, str) else "",
                    is_backfill=entry.get("is_backfill") is True or entry.get("Backfill_Mode") is True,
                    unassessed=_unassessed(entry))


def _unassessed(entry: dict[str, Any]) -> bool:
    """An UNBASELINED run counts as evidence only if its entry shows it free of risk: `Exposure` false and
    `Misconfig_Likelihood` Low, i.e. what the fail-safe rule leaves UNBASELINED (jobs/credits/policy.py).
    Entries recorded before that rule could carry PII or misconfig signals with no alert; those, and any
    entry missing the fields, were never assessed and are left out. A clean UNBASELINED run is still
    evidence: its only unknown is its variance, which is what a first baseline measures (the runbook's
    "Calculate initial baseline")."""
    if entry.get("Severity") != "UNBASELINED":
        return False
    return entry.get("Exposure") is not False or entry.get("Misconfig_Likelihood") != "Low"


def _run_time(entry: dict[str, Any]) -> datetime | None:
    for name in RUN_TIME_FIELDS:
        value = entry.get(name)
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            if moment.tzinfo is not None:
                return moment
    return None


def _apply_quarantine(entry: dict[str, Any], quarantined: set[str]) -> None:
    """A move into runs/QUARANTINE/ quarantines the run; a move out (a release) lifts it."""
    data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
    run_id = entry.get("Run_ID") or data.get("Run_ID") or data.get("run_id")
    if not isinstance(run_id, str):
        return
    kind = entry["kind"]
    destination = str(data.get("to") or data.get("new_path") or data.get("destination") or "")
    if kind == "quarantine.released" or (destination and QUARANTINE_DIR not in destination):
        quarantined.discard(run_id)
    else:
        quarantined.add(run_id)


def window(until: datetime, days: int) -> tuple[datetime, datetime]:
    return until - timedelta(days=days), until
