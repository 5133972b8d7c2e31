"""Classification: the runbook's thresholds, misconfig likelihood, backfill relaxation, no false SEV1."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jobs.credits import policy
from jobs.credits.records import BackfillWindow, Likelihood, ScenarioSettings, Severity
from jobs.credits.intake.schema import validate_run
from jobs.settings import CreditsSettings
from tests.credits.conftest import START, raw_run

POLICY = CreditsSettings()


def classify(credits: float, baseline: float | None = 100.0, scenario=None, **extra):
    return policy.classify(validate_run(raw_run(credits=credits, **extra)), baseline, "manual", scenario, POLICY)


@pytest.mark.parametrize("credits,exposure,expected", [
    (199.9, False, Severity.NORMAL), (200.0, False, Severity.SEV2), (499.9, False, Severity.SEV2),
    (500.0, False, Severity.SEV1), (5000.0, False, Severity.SEV1), (999.9, True, Severity.SEV1),
    (1000.0, True, Severity.SEV0), (150.0, True, Severity.NORMAL),
])
def test_severity_follows_the_runbook_thresholds(credits, exposure, expected):
    extra = {"Risk_Flags": ["pii_exposure"]} if exposure else {}
    result = classify(credits, **extra)
    assert result.severity is expected
    assert result.variance == pytest.approx(credits / 100.0)


@pytest.mark.parametrize("extra", [{"pii_data_source": True}, {"regulatory_data_source": True},
                                   {"Risk_Flags": ["regulatory_data"]}])
def test_pii_or_regulatory_data_sources_count_as_exposure(extra):
    assert classify(1200.0, **extra).severity is Severity.SEV0


def test_a_clean_run_of_a_scenario_without_baseline_is_unbaselined_never_a_false_sev1():
    result = classify(1_000_000.0, baseline=None)
    assert result.severity is Severity.UNBASELINED and result.variance is None
    assert classify(500.0, baseline=0.0).severity is Severity.UNBASELINED
    assert classify(500.0, baseline=None, Risk_Flags=["batch_job"]).severity is Severity.UNBASELINED
    assert classify(500.0, baseline=None, Risk_Flags=["deployment_correlation", "batch_job"]).severity \
        is Severity.UNBASELINED                                   # misconfig likelihood Low


@pytest.mark.parametrize("extra", [{"Risk_Flags": ["pii_exposure"]}, {"Risk_Flags": ["regulatory_data"]},
                                   {"pii_data_source": True}, {"regulatory_data_source": True}])
def test_exposure_with_no_baseline_is_sev0_whatever_the_credits(extra):
    result = classify(1.0, baseline=None, **extra)
    assert result.severity is Severity.SEV0 and result.variance is None and result.baseline_credits is None
    assert policy.held_without_baseline(result)


@pytest.mark.parametrize("extra", [{"Risk_Flags": ["retry_loop"]}, {"retry_count": 9},
                                   {"has_max_items_config": False}, {"Risk_Flags": ["sudden_prompt_growth"]}])
def test_a_misconfig_signal_with_no_baseline_is_sev1_and_held(extra):
    result = classify(1.0, baseline=None, **extra)
    assert result.severity is Severity.SEV1 and policy.held_without_baseline(result)
    assert not policy.held_without_baseline(classify(600.0, **extra))      # with a baseline: the usual SEV1


@pytest.mark.parametrize("extra,expected", [
    ({"Risk_Flags": ["retry_loop"]}, Likelihood.HIGH),
    ({"retry_count": 9}, Likelihood.HIGH),                       # retry_count > 3 reads as retry_loop
    ({"has_max_items_config": False}, Likelihood.HIGH),          # reads as unbounded_iterator
    ({"Risk_Flags": ["sudden_prompt_growth"]}, Likelihood.MEDIUM),
    ({"Risk_Flags": ["retry_loop", "batch_job"]}, Likelihood.MEDIUM),
    ({"Risk_Flags": ["batch_job", "linear_scaling"]}, Likelihood.LOW),
    ({}, Likelihood.LOW),
])
def test_misconfig_likelihood_weighs_misconfig_against_legit_load_signals(extra, expected):
    assert classify(600.0, **extra).likelihood is expected


def _window(hours_before: int = 1, hours_after: int = 5) -> ScenarioSettings:
    return ScenarioSettings("scn-invoice", backfill=BackfillWindow(
        START - timedelta(hours=hours_before), START + timedelta(hours=hours_after), "reprocess Q3", "ana"))


def test_backfill_mode_relaxes_sev1_and_adds_the_legit_bonus():
    normal = classify(600.0, Risk_Flags=["retry_loop"])
    backfill = classify(600.0, scenario=_window(), Risk_Flags=["retry_loop"])
    assert normal.severity is Severity.SEV1 and backfill.severity is Severity.SEV2
    assert backfill.backfill and backfill.sev1_threshold == POLICY.backfill_sev1_multiplier
    assert backfill.misconfig_score == normal.misconfig_score - POLICY.backfill_legit_bonus
    assert backfill.likelihood is Likelihood.MEDIUM and normal.likelihood is Likelihood.HIGH
    assert classify(800.0, scenario=_window()).severity is Severity.SEV1
    assert classify(600.0, is_backfill=True).severity is Severity.SEV2


def test_backfill_window_covers_only_its_start_to_end():
    assert classify(600.0, scenario=_window(hours_before=-1)).severity is Severity.SEV1   # starts after the run
    assert classify(600.0, scenario=_window(hours_before=5, hours_after=-1)).severity is Severity.SEV1


def test_backfill_never_relaxes_sev0():
    assert classify(1000.0, scenario=_window(), Risk_Flags=["pii_exposure"]).severity is Severity.SEV0


def test_rerun_gate_always_for_sev0_sev1_and_for_sev2_only_when_misconfig_flagged():
    assert policy.rerun_gate_required(classify(600.0), POLICY)
    assert policy.rerun_gate_required(classify(1200.0, Risk_Flags=["pii_exposure"]), POLICY)
    assert policy.rerun_gate_required(classify(300.0, Risk_Flags=["retry_loop"]), POLICY)
    assert not policy.rerun_gate_required(classify(300.0, Risk_Flags=["batch_job"]), POLICY)
    assert not policy.rerun_gate_required(classify(100.0, Risk_Flags=["retry_loop"]), POLICY)


def test_sev2_persistence_counts_only_inside_the_window():
    now = datetime(2026, 11, 22, tzinfo=timezone.utc)
    assert policy.sev2_persists([now - timedelta(days=6), now - timedelta(days=1), now], now, POLICY)
    assert not policy.sev2_persists([now - timedelta(days=8), now - timedelta(days=1), now], now, POLICY)
