"""Which job runs when, and what happens after downtime (docs/architecture.md §7).

Every job runs on a cron trigger in the configured zone (Pacific local time all year, across DST).
Each run is for a *slot* (local date, or ISO week for the weekly review) and a slot runs at most once,
so a catch-up on start and the regular trigger can never both run the same day.

After downtime, `plan_catch_up` looks at the occurrences missed since the job's last slot: the latest
one is run once if it is still useful (within the job's `catch_up_within`), every other one is
recorded as missed so the morning sweep can report the gap (seed 000 §5: "pipeline missed more than
one consecutive run").

Only a job whose work is built is scheduled (`built_bodies`). A job without its body is listed as
`not built` and never claims a slot nor writes `job.finished`: a run that did nothing must not read as
done in `chatops jobs` or the signed ledger, and an unclaimed slot leaves the day free for the real job
the day it lands. Its catch-up window starts when it is first scheduled, not at the install.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from apscheduler.triggers.cron import CronTrigger

from jobs.actors import DAEMON
from jobs.context import Context
from jobs.settings import Settings
from store import job_runs
from store.job_runs import JobRun, MissedRun

log = logging.getLogger("chatops.schedule")

JobBody = Callable[[Context, datetime], str]


@dataclass(frozen=True)
class JobSpec:
    name: str
    description: str
    weekly: bool
    catch_up_within: timedelta


# Why these windows: a missed export is still worth running the same day (the PR deadline and the
# sweep depend on it); the sweep and the summary are only useful the same morning; a weekly review
# missed on Monday is still wanted until Wednesday.
JOB_SPECS: tuple[JobSpec, ...] = (
    JobSpec("export", "daily session export, scrub and PR (seed 000)", False, timedelta(hours=20)),
    JobSpec("sweep", "morning enforcement sweep (seed 000 §5)", False, timedelta(hours=8)),
    JobSpec("summary", "CEO daily summary DM", False, timedelta(hours=8)),
    JobSpec("weekly_review", "weekly credit review (seed 001)", True, timedelta(days=2)),
)


def trigger_for(spec: JobSpec, settings: Settings) -> CronTrigger:
    sched = settings.schedule
    if spec.weekly:
        weekly = sched.weekly_review
        return CronTrigger(day_of_week=weekly.weekday, hour=weekly.at.hour, minute=weekly.at.minute,
                           timezone=settings.timezone)
    at = getattr(sched, spec.name)
    return CronTrigger(hour=at.hour, minute=at.minute, timezone=settings.timezone)


def occurrences(trigger: CronTrigger, after: datetime, until: datetime) -> list[datetime]:
    """Fire times t with after < t <= until, as the trigger computes them."""
    found: list[datetime] = []
    moment = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    while moment is not None and moment <= until:
        found.append(moment)
        moment = trigger.get_next_fire_time(moment, moment + timedelta(microseconds=1))
    return found


def next_fire(trigger: CronTrigger, now: datetime) -> datetime:
    return trigger.get_next_fire_time(None, now)


def schedule_lines(ctx: Context, bodies: dict[str, JobBody] | None = None) -> list[str]:
    """One line per job: name, next run in local time with its UTC offset, what it does; a job whose
    work is not built says so instead of a next run."""
    built = built_bodies() if bodies is None else bodies
    now = ctx.now()
    lines = []
    for spec in JOB_SPECS:
        if spec.name not in built:
            lines.append(f"{spec.name:<14} {NOT_BUILT}: not scheduled, no slot claimed  {spec.description}")
            continue
        fire = next_fire(trigger_for(spec, ctx.settings), now).astimezone(ctx.settings.timezone)
        lines.append(f"{spec.name:<14} next {fire:%a %Y-%m-%d %H:%M %Z (UTC%z)}  {spec.description}")
    return lines


def scheduled_specs(bodies: dict[str, JobBody]) -> list[JobSpec]:
    """The jobs that have a body, in schedule order: the only ones the daemon triggers or catches up."""
    return [spec for spec in JOB_SPECS if spec.name in bodies]


def latest_occurrence(trigger: CronTrigger, now: datetime, weekly: bool) -> datetime | None:
    window = timedelta(days=8 if weekly else 2)
    found = occurrences(trigger, now - window, now)
    return found[-1] if found else None


def slot_for(spec: JobSpec, moment: datetime, settings: Settings) -> str:
    local = moment.astimezone(settings.timezone)
    if spec.weekly:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.date().isoformat()


@dataclass(frozen=True)
class CatchUpPlan:
    job: JobSpec
    run: datetime | None
    missed: tuple[datetime, ...] = ()


def plan_catch_up(spec: JobSpec, settings: Settings, last: datetime | None, now: datetime) -> CatchUpPlan:
    if last is None:
        return CatchUpPlan(spec, None)
    missed = occurrences(trigger_for(spec, settings), last, now)
    if not missed:
        return CatchUpPlan(spec, None)
    latest = missed[-1]
    if now - latest <= spec.catch_up_within:
        return CatchUpPlan(spec, latest, tuple(missed[:-1]))
    return CatchUpPlan(spec, None, tuple(missed))


@dataclass
class JobRunner:
    """Runs job bodies for slots, recording start, end and failure; tracks what is in flight."""

    ctx: Context
    bodies: dict[str, JobBody]
    stopping: threading.Event = field(default_factory=threading.Event)
    _active: set[str] = field(default_factory=set)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def run(self, spec: JobSpec, scheduled_for: datetime, reason: str) -> str | None:
        """Run `spec` for the slot of `scheduled_for`. Returns the status, or None if already done."""
        if self.stopping.is_set():
            return None
        settings = self.ctx.settings
        slot = slot_for(spec, scheduled_for, settings)
        started = self.ctx.now()
        claimed = job_runs.claim(self.ctx.state, JobRun(
            job=spec.name, slot=slot, scheduled_for=scheduled_for.astimezone(timezone.utc).isoformat(),
            started_at=started.isoformat(), reason=reason, pid=os.getpid()))
        if not claimed:
            log.info("%s for %s already ran; not running it again", spec.name, slot)
            return None
        with self._cond:
            self._active.add(spec.name)
        log.info("%s started for %s (%s)", spec.name, slot, reason)
        details = {"job": spec.name, "slot": slot, "reason": reason,
                   "scheduled_for": scheduled_for.astimezone(timezone.utc).isoformat()}
        try:
            self.ctx.ledgers.operations.append("job.started", DAEMON.ledger_id, None, {"data": details})
            outcome = self.bodies[spec.name](self.ctx, scheduled_for)
        except Exception as exc:  # a failing job must never take the daemon down
            log.exception("%s failed for %s", spec.name, slot)
            error = f"{type(exc).__name__}: {exc}"
            job_runs.finish(self.ctx.state, spec.name, slot, job_runs.FAILED, self.ctx.now(), error)
            self._record_end("job.failed", {**details, "error": error})
            status = job_runs.FAILED
        else:
            job_runs.finish(self.ctx.state, spec.name, slot, job_runs.OK, self.ctx.now())
            self._record_end("job.finished", {**details, "outcome": outcome})
            log.info("%s finished for %s: %s", spec.name, slot, outcome)
            status = job_runs.OK
        finally:
            with self._cond:
                self._active.discard(spec.name)
                self._cond.notify_all()
        return status

    def _record_end(self, kind: str, details: dict[str, str]) -> None:
        """The end of a run goes to the operations ledger too; a ledger that refuses is logged, and the
        run's own record in the store still says how it ended."""
        try:
            self.ctx.ledgers.operations.append(kind, DAEMON.ledger_id, None, {"data": details})
        except Exception:
            log.exception("could not record %s for %s %s in the operations ledger", kind, details["job"],
                          details["slot"])

    def run_now(self, spec: JobSpec, reason: str = "scheduled") -> str | None:
        """Entry point for the scheduler: run for the occurrence that just fired."""
        now = self.ctx.now()
        latest = latest_occurrence(trigger_for(spec, self.ctx.settings), now, spec.weekly)
        return self.run(spec, latest or now, reason)

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._active, timeout=timeout)

    def catch_up(self, now: datetime) -> list[CatchUpPlan]:
        """Mark runs a dead daemon left unfinished, record missed slots, and plan the catch-up runs.

        Only jobs with a body take part. On a job's first scheduled start nothing counts as missed: the
        time it was first scheduled is its starting point (a job built later does not inherit the days
        before it existed as missed).
        """
        store = self.ctx.state
        job_runs.mark_interrupted(store, os.getpid(), now)
        plans = []
        for spec in scheduled_specs(self.bodies):
            first = job_runs.set_setting_once(store, f"schedule.started_at.{spec.name}", now.isoformat())
            last = job_runs.last_scheduled_for(store, spec.name) or datetime.fromisoformat(first)
            plan = plan_catch_up(spec, self.ctx.settings, last, now)
            job_runs.record_missed(store, [
                MissedRun(job=spec.name, slot=slot_for(spec, m, self.ctx.settings),
                          scheduled_for=m.astimezone(timezone.utc).isoformat(), recorded_at=now.isoformat(),
                          reason="the daemon was not running")
                for m in plan.missed])
            for m in plan.missed:
                log.warning("%s missed for %s (daemon not running); recorded for the sweep",
                            spec.name, slot_for(spec, m, self.ctx.settings))
            plans.append(plan)
        return plans


#: How `chatops jobs` and `config check` show a job whose work has not landed yet.
NOT_BUILT = "not built"


#: Where each area declares its scheduled jobs: a module `jobs/<area>/scheduled.py` whose `JOBS` maps a
#: job name of `JOB_SPECS` to its body. An area lands its job by adding that module and its line here;
#: the daemon wires none by hand.
SCHEDULED_AREAS: tuple[str, ...] = (
    "jobs.credits.scheduled",
    "jobs.export.scheduled",
    "jobs.sweep.scheduled",
)


def built_bodies(areas: tuple[str, ...] = SCHEDULED_AREAS) -> dict[str, JobBody]:
    """The body of every job whose work exists, collected from the areas' `scheduled` modules. A job
    named by no area is not built and is not scheduled; two areas claiming one job is a programming
    error, refused at start."""
    import importlib

    bodies: dict[str, JobBody] = {}
    known = {spec.name for spec in JOB_SPECS}
    for module_name in areas:
        jobs = importlib.import_module(module_name).JOBS
        for name, body in jobs.items():
            if name not in known:
                raise ValueError(f"{module_name} schedules {name!r}, which is not a job of JOB_SPECS")
            if name in bodies:
                raise ValueError(f"{module_name} schedules {name!r}, which another area already schedules")
            bodies[name] = body
    return bodies
