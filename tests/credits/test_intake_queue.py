"""Group commit for the daemon's intake: submissions that wait share commits, alerting runs jump the queue,
a failed commit fails every waiting submitter and the queue goes on, and stopping records what was taken."""
from __future__ import annotations

from dataclasses import replace

import pytest
from freezegun import freeze_time

from jobs.credits.intake.recorder import Recorder
from jobs.credits.intake.group_commit import IntakeClosed, IntakeQueue
from jobs.credits.intake.schema import validate_run
from store.state import StateCorrupted
from tests.credits.conftest import START, entries, raw_run, set_baseline
from tests.credits.test_fast_lane import commit_sizes, seq_of


def normal(run_id: str):
    return validate_run(raw_run(run_id=run_id, credits=100.0))


def spike(run_id: str):
    return validate_run(raw_run(run_id=run_id, credits=700.0, Risk_Flags=["retry_loop"]))


@pytest.fixture
def small_commits(ctx):
    """At most 4 runs per commit, so that a backlog is several commits long."""
    ctx.settings = replace(ctx.settings, credits=replace(ctx.settings.credits, group_commit_max=4))
    set_baseline(ctx, "scn-invoice", 100.0)
    return ctx


@pytest.fixture
def queue(small_commits):
    intake = IntakeQueue(Recorder(small_commits))
    yield intake
    intake.close()


@freeze_time(START)
def test_the_recorder_takes_an_alerting_run_from_beyond_the_first_commit_of_a_backlog(small_commits):
    runs = [normal(f"run_{n}") for n in range(6)] + [spike("run_spike")]      # within two commits' worth
    before = commit_sizes(small_commits)[-1]
    outcomes = Recorder(small_commits).record(runs)
    assert [o.run_id for o in outcomes] == [r.run_id for r in runs]
    assert [o.severity for o in outcomes] == ["NORMAL"] * 6 + ["SEV1"]
    sizes = [size - before for size in commit_sizes(small_commits) if size > before]
    assert sizes == [3, 7, 9]            # the spike's commit (run, case, alert), then 4 + 2 runs
    assert seq_of(small_commits, "run.recorded", "run_spike") < seq_of(small_commits, "run.recorded", "run_0")


@freeze_time(START)
def test_submissions_that_wait_during_a_commit_share_the_next_ones(queue, small_commits):
    before = len(commit_sizes(small_commits))
    with queue.recording:                              # a commit is being written: everything waits
        futures = [queue.submit([normal(f"run_{n}")]) for n in range(12)]
    results = [f.result(timeout=30) for f in futures]
    assert [r[0].run_id for r in results] == [f"run_{n}" for n in range(12)]
    assert all(r[0].recorded and r[0].severity == "NORMAL" for r in results)
    commits = len(commit_sizes(small_commits)) - before
    assert commits <= 4      # 12 runs, 4 per commit; the first may have been taken alone before the rest came


@freeze_time(START)
def test_an_alerting_run_submitted_behind_a_backlog_is_recorded_before_it(queue, small_commits):
    with queue.recording:
        backlog = [queue.submit([normal(f"run_{n}")]) for n in range(6)]     # within two commits' worth
        alert = queue.submit([spike("run_spike")])
    [outcome] = alert.result(timeout=30)
    assert outcome.severity == "SEV1" and outcome.case_id == "CASE-1"
    for future in backlog:
        future.result(timeout=30)
    # At most the first run was taken before the spike arrived; every later one is recorded after it.
    assert seq_of(small_commits, "run.recorded", "run_spike") < seq_of(small_commits, "run.recorded", "run_1")
    assert small_commits.notifier.sent[0].fields["run"] == "run_spike"


@freeze_time(START)
def test_a_failed_commit_fails_every_waiting_submitter_and_the_queue_goes_on(queue, small_commits):
    date_dir = small_commits.data_dir / "runs" / "CREDIT_MONITORING" / "2026-11-22"
    date_dir.parent.mkdir(parents=True, exist_ok=True)
    date_dir.write_text("not a directory")             # the run files cannot be written
    with queue.recording:
        futures = [queue.submit([normal(f"run_{n}")]) for n in range(3)]
    for future in futures:
        with pytest.raises(OSError):
            future.result(timeout=30)
    assert not any(e["kind"] == "run.recorded" for e in entries(small_commits))
    date_dir.unlink()
    [again] = queue.submit([normal("run_0")]).result(timeout=30)
    assert again.recorded and seq_of(small_commits, "run.recorded", "run_0") > 0


@freeze_time(START)
def test_close_records_what_was_queued_and_refuses_what_comes_after(queue, small_commits):
    queued = [queue.submit([normal(f"run_{n}")]) for n in range(6)]
    queue.close()
    assert [f.result(timeout=0)[0].run_id for f in queued] == [f"run_{n}" for n in range(6)]
    with pytest.raises(IntakeClosed, match="the daemon is stopping"):
        queue.submit([normal("run_late")])
    recorded = [e["Run_ID"] for e in entries(small_commits) if e["kind"] == "run.recorded"]
    assert recorded == [f"run_{n}" for n in range(6)]


def behind_a_backlog(queue, count: int, *late):
    """Submit `count` normal runs, then `late` ones, while a commit holds the queue; every outcome."""
    with queue.recording:
        backlog = [queue.submit([normal(f"run_{n}")]) for n in range(count)]
        after = [queue.submit([record]) for record in late]
    return [f.result(timeout=30)[0] for f in backlog], [f.result(timeout=30)[0] for f in after]


@freeze_time(START)
def test_an_alerting_run_jumps_a_backlog_longer_than_the_recorders_window(queue, small_commits):
    _, [alert] = behind_a_backlog(queue, 20, spike("run_spike"))     # five times the recorder's window of 8
    assert alert.severity == "SEV1"
    # At most the first commit's runs were taken before the spike arrived.
    assert seq_of(small_commits, "run.recorded", "run_spike") < seq_of(small_commits, "run.recorded", "run_4")


@freeze_time(START)
def test_a_rerun_whose_original_still_waits_keeps_its_place_behind_it(queue, small_commits):
    rerun = validate_run(raw_run(run_id="run_again", credits=700.0, rerun_of="run_orig", Risk_Flags=["retry_loop"]))
    _, [original, again] = behind_a_backlog(queue, 12, normal("run_orig"), rerun)
    assert original.severity == "NORMAL" and again.severity == "SEV1"
    assert seq_of(small_commits, "run.recorded", "run_orig") < seq_of(small_commits, "run.recorded", "run_again")


@freeze_time(START)
def test_a_run_id_given_again_while_the_first_waits_is_recorded_once_in_arrival_order(queue, small_commits):
    backlog, [again] = behind_a_backlog(queue, 12, spike("run_3"))    # alerting, but run_3 itself still waits
    assert not again.recorded and "already recorded" in again.message
    assert backlog[3].severity == "NORMAL"


@freeze_time(START)
def test_runs_whose_forecast_fails_are_answered_with_the_error_not_left_waiting(queue, small_commits):
    state = small_commits.data_dir / "state.json"
    good = state.read_bytes()
    state.write_bytes(b'{"credit_cases": ')                 # not written by chatops: refused, never emptied
    with queue.recording:
        futures = [queue.submit([normal(f"run_{n}")]) for n in range(3)]
    for future in futures:
        with pytest.raises(StateCorrupted):
            future.result(timeout=30)
    state.write_bytes(good)
    [again] = queue.submit([normal("run_0")]).result(timeout=30)
    assert again.recorded
