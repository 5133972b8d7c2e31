"""The daemon's Monday 10:00 job (`jobs/credits/scheduled.py`) through the real JobRunner, time frozen:
it reviews the week before its slot, posts the summary to #ops-review, runs once per slot, and a catch-up
on Tuesday still reviews the week before that Monday."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from freezegun import freeze_time

from jobs.credits import scheduled
from jobs.schedule import JOB_SPECS, JobRunner, built_bodies
from store import job_runs
from store.outbox import Outbox
from tests.review.conftest import NOW, build_week, make_context

SPEC = next(spec for spec in JOB_SPECS if spec.name == "weekly_review")


def test_the_weekly_review_is_a_built_job_of_the_credit_area():
    assert built_bodies()["weekly_review"] is scheduled.weekly_review


def test_monday_at_ten_the_job_writes_last_weeks_report_and_queues_the_summary_once(tmp_path):
    with freeze_time(NOW):                      # Monday 23 November 2026, 10:00 in Los Angeles
        ctx = make_context(tmp_path / "var")
        build_week(ctx)
        runner = JobRunner(ctx=ctx, bodies=built_bodies())
        assert runner.run_now(SPEC) == job_runs.OK
        assert runner.run_now(SPEC) is None         # the slot 2026-W48 ran already
    report = json.loads((ctx.data_dir / "runs/CREDIT_REVIEWS/weekly_2026-11-16.json").read_text())
    assert (report["week"], report["generated_by"], report["summary"]["runs"]) == ("2026-W47", "daemon", 89)
    [queued] = [m for m in Outbox(ctx.data_dir).messages() if m.item["notice"]["kind"] == "review.weekly"]
    notice = queued.item["notice"]
    assert (queued.item["to"], notice["subject"], notice["subject_kind"]) == ("#ops-review", "WEEKLY-2026-W47",
                                                                              "weekly_review")
    assert notice["fields"]["files"][0]["path"].endswith("runs/CREDIT_REVIEWS/weekly_2026-11-16.png")
    [finished] = [e for e in map(json.loads, (ctx.data_dir / "operations/ledger.jsonl").read_text().splitlines())
                  if e["kind"] == "job.finished"]
    assert finished["data"]["slot"] == "2026-W48"
    assert finished["data"]["outcome"] == ("runs/CREDIT_REVIEWS/weekly_2026-11-16.json: 89 runs, 5 policy violations, "
                                           "8 SEV2 without a case, 3 baseline candidates")


def test_a_catch_up_on_tuesday_reviews_the_week_before_the_missed_monday(tmp_path):
    with freeze_time("2026-11-20T12:00:00Z"):
        ctx = make_context(tmp_path / "var")
        runner = JobRunner(ctx=ctx, bodies={"weekly_review": built_bodies()["weekly_review"]})
        runner.catch_up(datetime.now(timezone.utc))           # the job is first scheduled on Friday
    with freeze_time("2026-11-24T17:00:00Z"):                 # Tuesday 09:00: the daemon was down on Monday
        [plan] = [p for p in runner.catch_up(datetime.now(timezone.utc)) if p.job is SPEC]   # export, sweep… too
        assert plan.run is not None and plan.run.astimezone(ctx.settings.timezone).strftime("%a %H:%M") == "Mon 10:00"
        assert runner.run(SPEC, plan.run, "catch-up") == job_runs.OK
    assert (ctx.data_dir / "runs/CREDIT_REVIEWS/weekly_2026-11-16.json").exists()
    assert not (ctx.data_dir / "runs/CREDIT_REVIEWS/weekly_2026-11-23.json").exists()
