"""The schedule: Pacific wall-clock times across DST, one run per slot, catch-up after downtime."""
from __future__ import annotations

import json
import sys
import types
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from chatops.config import parse_settings
from jobs.compose import build_context
from jobs.schedule import JOB_SPECS, JobRunner, built_bodies, occurrences, schedule_lines, slot_for, trigger_for
from store import job_runs

PACIFIC = ZoneInfo("America/Los_Angeles")
SPECS = {spec.name: spec for spec in JOB_SPECS}


def _local_times(job: str, start: datetime, end: datetime) -> list[datetime]:
    settings = parse_settings({})
    return [t.astimezone(PACIFIC) for t in occurrences(trigger_for(SPECS[job], settings), start, end)]


@pytest.mark.parametrize("job, hour, minute", [("export", 5, 0), ("sweep", 8, 30)])
@pytest.mark.parametrize("first_day", [date(2026, 3, 6), date(2026, 10, 30), date(2026, 6, 15)])
def test_daily_jobs_fire_once_a_day_at_pacific_wall_clock_time_across_dst(job, hour, minute, first_day):
    start = datetime.combine(first_day, datetime.min.time(), PACIFIC)
    fired = _local_times(job, start, start + timedelta(days=5))
    assert [t.date() for t in fired] == [first_day + timedelta(days=d) for d in range(5)]  # never skipped, never twice
    assert all((t.hour, t.minute) == (hour, minute) for t in fired)


def test_dst_change_days_shift_the_utc_time_not_the_local_time():
    spring = _local_times("export", datetime(2026, 3, 7, tzinfo=PACIFIC), datetime(2026, 3, 9, 12, tzinfo=PACIFIC))
    assert [t.astimezone(timezone.utc).hour for t in spring] == [13, 12, 12]   # PST -> PDT on 2026-03-08
    autumn = _local_times("sweep", datetime(2026, 10, 31, tzinfo=PACIFIC), datetime(2026, 11, 2, 12, tzinfo=PACIFIC))
    assert [t.astimezone(timezone.utc).strftime("%H:%M") for t in autumn] == ["15:30", "16:30", "16:30"]


def test_weekly_review_fires_mondays_at_ten():
    fired = _local_times("weekly_review", datetime(2026, 11, 1, tzinfo=PACIFIC), datetime(2026, 12, 1, tzinfo=PACIFIC))
    assert [t.strftime("%a %d %H:%M") for t in fired] == ["Mon 02 10:00", "Mon 09 10:00", "Mon 16 10:00",
                                                          "Mon 23 10:00", "Mon 30 10:00"]


def _runner(tmp_path: Path, calls: list | None = None) -> JobRunner:
    ctx = build_context(parse_settings({}), tmp_path)
    bodies = {spec.name: _done(spec.name) for spec in JOB_SPECS}   # stand-ins for the jobs' work, as if built
    if calls is not None:
        def export(ctx, scheduled_for):
            calls.append(scheduled_for)
            return "exported"
        bodies["export"] = export
    return JobRunner(ctx=ctx, bodies=bodies)


def _done(name: str):
    def body(ctx, scheduled_for):
        return f"{name} done"
    return body


def test_a_slot_runs_once_even_when_the_trigger_and_a_catch_up_both_try(tmp_path: Path):
    calls: list[datetime] = []
    runner = _runner(tmp_path, calls)
    moment = datetime(2026, 11, 23, 13, 0, tzinfo=timezone.utc)
    with freeze_time(moment):
        assert runner.run(SPECS["export"], moment, "scheduled") == job_runs.OK
        assert runner.run(SPECS["export"], moment, "catch-up") is None
        assert runner.run_now(SPECS["export"]) is None
    assert len(calls) == 1


def test_a_failing_job_is_recorded_with_its_error_and_the_daemon_goes_on(tmp_path: Path):
    runner = _runner(tmp_path)

    def broken(ctx, scheduled_for):
        raise OSError("disk full")
    runner.bodies["sweep"] = broken
    moment = datetime(2026, 11, 23, 16, 30, tzinfo=timezone.utc)
    with freeze_time(moment):
        assert runner.run(SPECS["sweep"], moment, "scheduled") == job_runs.FAILED
    (run,) = job_runs.recent_runs(runner.ctx.state)
    assert (run.job, run.slot, run.status, run.error) == ("sweep", "2026-11-23", "failed", "OSError: disk full")
    kinds = [_entry(line) for line in (tmp_path / "operations" / "ledger.jsonl").read_text().splitlines()]
    assert [k for k, _ in kinds if k.startswith("job.")] == ["job.started", "job.failed"]
    assert dict(kinds)["job.failed"]["error"] == "OSError: disk full"


def _entry(line: str) -> tuple[str, dict]:
    entry = json.loads(line)
    return entry["kind"], entry.get("data", {})


def test_downtime_across_five_am_runs_the_missed_export_once_on_start(tmp_path: Path):
    calls: list[datetime] = []
    with freeze_time("2026-11-22T12:00:00Z"):      # first start, 04:00 Pacific
        _runner(tmp_path, calls).catch_up(datetime.now(timezone.utc))
    with freeze_time("2026-11-22T15:00:00Z"):      # back at 07:00 Pacific: 05:00 was missed
        runner = _runner(tmp_path, calls)
        plans = {p.job.name: p for p in runner.catch_up(datetime.now(timezone.utc))}
        assert plans["export"].run == datetime(2026, 11, 22, 5, 0, tzinfo=PACIFIC)
        assert plans["export"].missed == ()
        runner.run(plans["export"].job, plans["export"].run, "catch-up")
    with freeze_time("2026-11-22T15:05:00Z"):      # restarted again: nothing to catch up twice
        plans = {p.job.name: p for p in _runner(tmp_path, calls).catch_up(datetime.now(timezone.utc))}
        assert plans["export"].run is None
    assert len(calls) == 1


def test_downtime_across_several_days_catches_up_once_and_records_the_missed_days(tmp_path: Path):
    with freeze_time("2026-11-18T12:00:00Z"):
        _runner(tmp_path).catch_up(datetime.now(timezone.utc))
    with freeze_time("2026-11-22T14:00:00Z"):      # 06:00 Pacific four days later
        runner = _runner(tmp_path)
        plans = {p.job.name: p for p in runner.catch_up(datetime.now(timezone.utc))}
    export = plans["export"]
    assert export.run == datetime(2026, 11, 22, 5, 0, tzinfo=PACIFIC)
    missed = [m.slot for m in job_runs.missed_runs(runner.ctx.state, "export")]
    assert missed == ["2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"]
    assert plans["sweep"].run is None    # yesterday's sweep is no longer useful: recorded as missed
    assert "2026-11-21" in [m.slot for m in job_runs.missed_runs(runner.ctx.state, "sweep")]


def test_a_run_left_running_by_a_killed_daemon_is_marked_interrupted_and_can_run_again(tmp_path: Path):
    moment = datetime(2026, 11, 23, 13, 0, tzinfo=timezone.utc)
    ctx = build_context(parse_settings({}), tmp_path)
    job_runs.claim(ctx.state, job_runs.JobRun(job="export", slot="2026-11-23", scheduled_for=moment.isoformat(),
                                               started_at=moment.isoformat(), reason="scheduled", pid=999999))
    calls: list[datetime] = []
    runner = _runner(tmp_path, calls)
    with freeze_time(moment + timedelta(minutes=30)):
        runner.catch_up(datetime.now(timezone.utc))
        assert job_runs.recent_runs(ctx.state)[0].status == job_runs.INTERRUPTED
        assert runner.run(SPECS["export"], moment, "catch-up") == job_runs.OK
    assert len(calls) == 1


def test_slots_are_local_dates_and_iso_weeks():
    settings = parse_settings({})
    late_evening_utc = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)   # 22:00 Sunday Pacific
    assert slot_for(SPECS["export"], late_evening_utc, settings) == "2026-11-22"
    assert slot_for(SPECS["weekly_review"], late_evening_utc, settings) == "2026-W47"


def test_a_job_whose_work_is_not_built_is_not_planned_and_leaves_its_slot_free(tmp_path: Path):
    ctx = build_context(parse_settings({}), tmp_path)
    unbuilt = JobRunner(ctx=ctx, bodies={})
    with freeze_time("2026-11-22T12:00:00Z"):
        assert unbuilt.catch_up(datetime.now(timezone.utc)) == []
        assert all("not built: not scheduled" in line for line in schedule_lines(ctx, {}))
    with freeze_time("2026-11-23T13:00:00Z"):        # the export lands a day later and runs that same day
        calls: list[datetime] = []
        runner = _runner(tmp_path, calls)
        plans = {p.job.name: p for p in runner.catch_up(datetime.now(timezone.utc))}
        assert plans["export"].missed == () and plans["export"].run is None   # its days before it existed are not missed
        assert runner.run(SPECS["export"], datetime.now(timezone.utc), "scheduled") == job_runs.OK
        export_line = next(l for l in schedule_lines(ctx, runner.bodies) if l.startswith("export "))
        assert "next Mon 2026-11-23 05:00 PST (UTC-0800)" in export_line    # local time with its UTC offset
    assert len(calls) == 1 and job_runs.missed_runs(ctx.state) == []


def test_chatops_jobs_and_config_check_show_every_job_built_and_scheduled(config_file: Path):
    from tests.conftest import run_cli

    jobs = run_cli("jobs", config=config_file)
    assert jobs.returncode == 0, jobs.stderr
    assert "not built" not in jobs.stdout      # export, sweep, summary and the weekly review are all built
    check = run_cli("config", "check", config=config_file)
    assert "not built" not in check.stdout
    lines = check.stdout.splitlines()
    for job, at in (("export", "05:00"), ("sweep", "08:30"), ("summary", "09:00")):
        assert any(line.startswith(job + " ") and " next " in line and at in line for line in lines), job


def _area_module(name: str, jobs: dict) -> str:
    module = types.ModuleType(name)
    module.JOBS = jobs
    sys.modules[name] = module
    return name


def test_scheduled_bodies_come_from_the_areas_and_a_job_is_claimed_by_one_area_only():
    body = lambda ctx, when: "done"   # noqa: E731 - a job body of the test's own area
    one = _area_module("tests_area_one_scheduled", {"export": body})
    two = _area_module("tests_area_two_scheduled", {"export": body})
    stray = _area_module("tests_area_stray_scheduled", {"nightly": body})
    try:
        assert built_bodies((one,)) == {"export": body}
        assert built_bodies(()) == {}
        with pytest.raises(ValueError, match="another area already schedules"):
            built_bodies((one, two))
        with pytest.raises(ValueError, match="not a job of JOB_SPECS"):
            built_bodies((stray,))
    finally:
        for name in (one, two, stray):
            sys.modules.pop(name, None)
