"""One decision tree at intake: the plan of a run says what recording it will do, the fast lane and the
daemon's forecast read the same plan, and a run is classified once unless its baseline changed."""
from __future__ import annotations

from datetime import timedelta

from freezegun import freeze_time

from jobs.credits import policy
from jobs.credits.intake.plan import Alert, CaseStep, Dispatch, Facts, Planner, decide, fast_lane
from jobs.credits.intake.recorder import Recorder
from jobs.credits.intake.schema import validate_run
from tests.credits.conftest import START, raw_run, set_baseline


def planned(ctx, facts: Facts = Facts(), baseline: float | None = 100.0, **run):
    record = validate_run(raw_run(**run))
    settings = ctx.settings.credits
    classification = policy.classify(record, baseline, "manual" if baseline else None, None, settings)
    return decide(record, classification, facts, settings)


def test_a_sev0_run_opens_a_case_is_quarantined_and_blocks_dispatch_with_an_alert(ctx):
    plan = planned(ctx, credits=1500.0, Risk_Flags=["pii_exposure"])
    assert (plan.severity.value, plan.case, plan.quarantine, plan.dispatch, plan.alerts) == \
        ("SEV0", CaseStep.OPEN, True, Dispatch.BLOCKED, (Alert.CASE,))


def test_a_risk_flagged_run_without_a_baseline_holds_dispatch_and_opens_a_case(ctx):
    plan = planned(ctx, baseline=None, credits=100.0, Risk_Flags=["retry_loop", "unbounded_iterator"])
    assert (plan.severity.value, plan.case, plan.quarantine, plan.dispatch) == \
        ("SEV1", CaseStep.OPEN, False, Dispatch.HELD)
    assert plan.alerting


def test_a_sev2_joins_the_open_case_of_its_scenario_without_an_alert(ctx):
    plan = planned(ctx, Facts(open_case=True), credits=300.0)
    assert (plan.severity.value, plan.case, plan.alerts, plan.weekly_review) == ("SEV2", CaseStep.JOIN, (), True)


def test_the_sev2_that_completes_a_pattern_opens_a_case_and_says_why(ctx):
    earlier = (START - timedelta(days=2), START - timedelta(days=1))
    plan = planned(ctx, Facts(sev2_times=earlier), credits=300.0)
    assert plan.case is CaseStep.OPEN and plan.alerts == (Alert.CASE,)
    assert plan.pattern == "Pattern: 3 SEV2 runs of scn-invoice within 7 days"
    assert planned(ctx, Facts(sev2_times=earlier[1:]), credits=300.0).case is CaseStep.NONE


def test_a_clean_run_without_a_baseline_tells_its_scenario_once(ctx):
    first = planned(ctx, baseline=None, credits=100.0)
    again = planned(ctx, Facts(told=True), baseline=None, credits=100.0)
    assert (first.severity.value, first.alerts, first.dispatch) == ("UNBASELINED", (Alert.UNBASELINED,), Dispatch.FREE)
    assert again.alerts == () and not again.alerting


def test_a_normal_run_plans_nothing(ctx):
    plan = planned(ctx, credits=100.0)
    assert (plan.case, plan.alerts, plan.dispatch, plan.quarantine, plan.weekly_review) == \
        (CaseStep.NONE, (), Dispatch.FREE, False, False)


@freeze_time(START)
def test_the_forecast_and_the_commit_agree_on_which_runs_alert(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    runs = [validate_run(raw_run(run_id="run_n", credits=100.0)),
            validate_run(raw_run(run_id="run_s1", credits=700.0, Risk_Flags=["retry_loop"])),
            validate_run(raw_run(run_id="run_new", scenario="scn-new", credits=50.0)),
            validate_run(raw_run(run_id="run_new2", scenario="scn-new", credits=50.0)),
            validate_run(raw_run(run_id="run_s2", credits=300.0))]
    plans = recorder.forecast(runs)
    assert fast_lane(plans) == [1, 2]              # the SEV1 and the first run of a scenario without a baseline
    outcomes = Recorder(ctx).record_batch(runs, plans=plans)
    assert [k for k, o in enumerate(outcomes) if o.alerts] == [1, 2]
    assert outcomes[4].case_id == outcomes[1].case_id        # the SEV2 joined the case the SEV1 opened


@freeze_time(START)
def test_a_run_is_classified_once_unless_its_baseline_changed_meanwhile(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    run = validate_run(raw_run(run_id="run_x", credits=700.0))
    [arrival] = recorder.forecast([run])
    planner = Planner(ctx.state, ctx.state.snapshot(), recorder.index, ctx.settings.credits)
    assert planner.classify(run, arrival) is arrival.classification
    set_baseline(ctx, "scn-invoice", 1000.0)                 # an O3 changed it before the commit
    [outcome] = Recorder(ctx).record_batch([run], plans=[arrival])
    assert arrival.severity.value == "SEV1" and outcome.severity == "NORMAL" and outcome.alerts == 0
