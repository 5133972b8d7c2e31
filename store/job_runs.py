"""Typed access to the record of scheduled job runs and missed slots (table `job_runs`, `missed_runs`).

A *slot* is what a job is run for: the local date for a daily job (`2026-11-22`), the ISO week for
a weekly one (`2026-W48`). One slot is run at most once successfully, which is what makes catch-up
after downtime safe: the scheduler and a catch-up can both try, only the first claim wins.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from tinydb import Query

from store.state import StateStore

RUNNING = "running"
OK = "ok"
FAILED = "failed"
INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class JobRun:
    job: str
    slot: str
    scheduled_for: str      # UTC ISO-8601
    started_at: str
    reason: str             # "scheduled" or "catch-up"
    pid: int
    status: str = RUNNING
    ended_at: str = ""
    error: str = ""


@dataclass(frozen=True)
class MissedRun:
    job: str
    slot: str
    scheduled_for: str
    recorded_at: str
    reason: str


def claim(store: StateStore, run: JobRun) -> bool:
    """Record that `run` starts, unless its slot already ran or is running. True if claimed."""
    q = Query()
    with store.transaction() as db:
        table = db.table("job_runs")
        existing = table.get((q.job == run.job) & (q.slot == run.slot))
        if existing and existing["status"] in (RUNNING, OK):
            return False
        if existing:
            table.remove((q.job == run.job) & (q.slot == run.slot))
        table.insert(asdict(run))
        db.table("missed_runs").remove((q.job == run.job) & (q.slot == run.slot))
        return True


def finish(store: StateStore, job: str, slot: str, status: str, ended_at: datetime, error: str = "") -> None:
    q = Query()
    with store.transaction() as db:
        db.table("job_runs").update({"status": status, "ended_at": ended_at.isoformat(), "error": error},
                                    (q.job == job) & (q.slot == slot))


def mark_interrupted(store: StateStore, live_pid: int, now: datetime) -> list[JobRun]:
    """Runs left `running` by a daemon that died: mark them so a catch-up may run their slot again."""
    q = Query()
    with store.transaction() as db:
        table = db.table("job_runs")
        stale = table.search((q.status == RUNNING) & (q.pid != live_pid))
        table.update({"status": INTERRUPTED, "ended_at": now.isoformat(),
                      "error": "the daemon stopped before this run finished"},
                     (q.status == RUNNING) & (q.pid != live_pid))
    return [JobRun(**row) for row in stale]


def last_scheduled_for(store: StateStore, job: str) -> datetime | None:
    """The latest slot this job ran for, or was recorded as missed, so downtime is counted once."""
    q = Query()
    db = store.snapshot()
    times = [row["scheduled_for"] for row in db.table("job_runs").search(q.job == job)]
    times += [row["scheduled_for"] for row in db.table("missed_runs").search(q.job == job)]
    return max((datetime.fromisoformat(t) for t in times), default=None)


def record_missed(store: StateStore, missed: list[MissedRun]) -> None:
    if not missed:
        return
    q = Query()
    with store.transaction() as db:
        table = db.table("missed_runs")
        for item in missed:
            if not table.contains((q.job == item.job) & (q.slot == item.slot)):
                table.insert(asdict(item))


def missed_runs(store: StateStore, job: str | None = None) -> list[MissedRun]:
    table = store.snapshot().table("missed_runs")
    rows = table.all() if job is None else table.search(Query().job == job)
    return sorted((MissedRun(**row) for row in rows), key=lambda m: m.scheduled_for)


def recent_runs(store: StateStore, limit: int = 20) -> list[JobRun]:
    rows = sorted(store.snapshot().table("job_runs").all(), key=lambda r: r["started_at"], reverse=True)
    return [JobRun(**row) for row in rows[:limit]]


def get_setting(store: StateStore, key: str) -> str | None:
    row = store.snapshot().table("meta").get(Query().key == key)
    return row["value"] if row else None


def set_setting_once(store: StateStore, key: str, value: str) -> str:
    """Store `value` under `key` unless already set; return what is stored."""
    q = Query()
    with store.transaction() as db:
        table = db.table("meta")
        row = table.get(q.key == key)
        if row:
            return row["value"]
        table.insert({"key": key, "value": value})
        return value
