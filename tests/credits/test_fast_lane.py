"""The fast lane: a batch's alerting runs are committed and alerted before the rest, with the same outcomes."""
from __future__ import annotations

from datetime import timedelta

from freezegun import freeze_time

from jobs.credits.cases.service import all_cases
from jobs.credits.intake.schema import validate_run
from store.ledger.ledger import read_sig_lines
from tests.credits.conftest import START, entries, raw_run, set_baseline


def commit_sizes(ctx) -> list[int]:
    """The ledger size after each commit, from ledger.sigs (one line per commit)."""
    lines, _, _ = read_sig_lines(ctx.data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.sigs")
    return [line.size for line in lines]


def seq_of(ctx, kind: str, run_id: str) -> int:
    return next(e["seq"] for e in entries(ctx) if e["kind"] == kind and e.get("Run_ID") == run_id)


@freeze_time(START)
def test_an_alerting_run_is_committed_and_alerted_before_the_runs_that_arrived_with_it(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    before = commit_sizes(ctx)[-1]
    batch = [validate_run(raw_run(run_id=f"run_{n}", credits=100.0)) for n in range(5)]
    batch.append(validate_run(raw_run(run_id="run_spike", credits=700.0, Risk_Flags=["retry_loop"])))
    outcomes = recorder.record(batch)
    assert [o.run_id for o in outcomes] == [r.run_id for r in batch]           # answers in arrival order
    assert [o.severity for o in outcomes] == ["NORMAL"] * 5 + ["SEV1"]
    alert_commit = seq_of(ctx, "alert.queued", "run_spike") + 1
    assert commit_sizes(ctx)[-2:] == [alert_commit, alert_commit + 5]        # two commits, the alert's first
    assert seq_of(ctx, "run.recorded", "run_spike") < seq_of(ctx, "run.recorded", "run_0")
    assert alert_commit - before == 3                         # run.recorded, case.opened, alert.queued
    [alert] = ctx.notifier.sent
    assert alert.fields["run"] == "run_spike" and all_cases(ctx)[0].run_id == "run_spike"


def test_a_sev2_completing_a_pattern_takes_the_earlier_sev2_runs_of_its_batch_along(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    with freeze_time(START):
        recorder.record([validate_run(raw_run(run_id="run_a", credits=300.0, Risk_Flags=["retry_loop"]))])
    moment = START + timedelta(days=1)
    batch = [validate_run(raw_run(run_id=run_id, credits=credits, Started_At=moment.isoformat()))
             for run_id, credits in (("run_n1", 100.0), ("run_b", 300.0), ("run_n2", 100.0), ("run_c", 300.0),
                                     ("run_d", 300.0))]
    with freeze_time(moment):
        outcomes = recorder.record(batch)
    [case] = all_cases(ctx)
    assert case.run_id == "run_c" and case.related_run_ids == ("run_c", "run_d")    # as in arrival order
    assert [o.case_id for o in outcomes] == ["", "", "", case.case_id, case.case_id]
    lane = sorted(("run_b", "run_c", "run_n1", "run_n2", "run_d"), key=lambda r: seq_of(ctx, "run.recorded", r))
    assert lane == ["run_b", "run_c", "run_n1", "run_n2", "run_d"]
    [alert] = ctx.notifier.sent
    assert "Pattern: 3 SEV2 runs of scn-invoice within 7 days" in alert.text


@freeze_time(START)
def test_a_run_id_given_twice_stays_in_arrival_order_outside_the_fast_lane(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    first, spike_again = recorder.record([validate_run(raw_run(run_id="run_x", credits=100.0)),
                                          validate_run(raw_run(run_id="run_x", credits=700.0))])
    assert first.recorded and first.severity == "NORMAL"
    assert not spike_again.recorded and "earlier in this batch" in spike_again.message
    assert all_cases(ctx) == [] and ctx.notifier.sent == []
