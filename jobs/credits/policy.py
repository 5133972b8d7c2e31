"""How a run is classified (runbook: SEV0 / SEV1 / SEV2 triggers; misconfig likelihood; backfill mode).

Pure functions of the record, the scenario's baseline and `[credits]` in config.toml, so the policy is
tested without files and an auditor can read the thresholds in one place:

* variance = Credits_Total ÷ the scenario's baseline median;
* SEV0 = PII / regulatory exposure together with variance ≥ `sev0_multiplier` (10×);
* SEV1 = variance ≥ `sev1_multiplier` (5×), or `backfill_sev1_multiplier` in backfill mode;
* SEV2 = variance ≥ `sev2_multiplier` (2×);
* no baseline: the variance is unknown, so the run is judged on what is known, failing safe
  (`unbaselined_severity`): PII / regulatory exposure → SEV0 (exposure does not depend on a baseline,
  and the spike that would lower it cannot be ruled out: quarantine until an O3 assesses it); a
  misconfig likelihood of Medium or more → SEV1 (the runbook's "Baseline not found" trouble shows the
  reference system raising SEV1 here); either way downstream dispatch is held until an O3 resolves the
  case. Otherwise UNBASELINED: no guessed severity for a clean run of a new scenario (that false SEV1 for
  every such run is the runbook's trouble), and one notice per scenario asking for a baseline.

Misconfig likelihood: the sum of the weights of the misconfig signals present minus the weights of the
legit-load signals present (plus the backfill bonus), compared with the High / Medium cut-offs. Two
signals are read from the record itself as the runbook's quick checks do: `retry_count` above
`retry_loop_after` counts as `retry_loop`, and `has_max_items_config = false` as `unbounded_iterator`.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from jobs.credits.records import Classification, Likelihood, RunRecord, ScenarioSettings, Severity
from jobs.settings import CreditsSettings


def signals_of(record: RunRecord, policy: CreditsSettings) -> tuple[str, ...]:
    """Risk flags plus the signals the runbook's quick checks read from the record's own fields."""
    found = list(record.risk_flags)
    if record.retry_count > policy.retry_loop_after and "retry_loop" not in found:
        found.append("retry_loop")
    if not record.has_max_items_config and "unbounded_iterator" not in found:
        found.append("unbounded_iterator")
    return tuple(found)


def misconfig_score(signals: tuple[str, ...], backfill: bool, policy: CreditsSettings) -> float:
    score = sum(policy.misconfig_weights.get(s, 0.0) for s in signals)
    score -= sum(policy.legit_weights.get(s, 0.0) for s in signals)
    if backfill:
        score -= policy.backfill_legit_bonus
    return score


def likelihood_of(score: float, policy: CreditsSettings) -> Likelihood:
    if score >= policy.likelihood_high:
        return Likelihood.HIGH
    if score >= policy.likelihood_medium:
        return Likelihood.MEDIUM
    return Likelihood.LOW


def has_exposure(record: RunRecord, policy: CreditsSettings) -> bool:
    return (record.pii_data_source or record.regulatory_data_source
            or any(flag in policy.exposure_flags for flag in record.risk_flags))


def in_backfill(record: RunRecord, scenario: ScenarioSettings | None) -> bool:
    """The record says so, or the scenario's backfill window (start..end) covers the run's start."""
    if record.is_backfill:
        return True
    return bool(scenario and scenario.backfill and scenario.backfill.covers(record.started_at))


def classify(record: RunRecord, baseline_credits: float | None, baseline_source: str | None,
             scenario: ScenarioSettings | None, policy: CreditsSettings) -> Classification:
    backfill = in_backfill(record, scenario)
    signals = signals_of(record, policy)
    score = misconfig_score(signals, backfill, policy)
    counted = tuple(s for s in signals if s in policy.misconfig_weights or s in policy.legit_weights)
    exposure = has_exposure(record, policy)
    sev1 = policy.backfill_sev1_multiplier if backfill else policy.sev1_multiplier
    variance: float | None = None
    likelihood = likelihood_of(score, policy)
    if baseline_credits is None or baseline_credits <= 0:
        severity = unbaselined_severity(exposure, likelihood)
        baseline_credits = None
    else:
        variance = record.credits_total / baseline_credits
        severity = severity_for(variance, exposure, sev1, policy)
    return Classification(severity=severity, variance=variance, baseline_credits=baseline_credits,
                          baseline_source=baseline_source if baseline_credits is not None else None,
                          likelihood=likelihood, misconfig_score=score, signals=counted,
                          exposure=exposure, backfill=backfill, sev1_threshold=sev1)


def unbaselined_severity(exposure: bool, likelihood: Likelihood) -> Severity:
    """The fail-safe severity of a run whose scenario has no baseline (module docstring)."""
    if exposure:
        return Severity.SEV0
    if likelihood.rank >= Likelihood.MEDIUM.rank:
        return Severity.SEV1
    return Severity.UNBASELINED


def held_without_baseline(classification: Classification) -> bool:
    """A SEV0 / SEV1 raised with no baseline: its downstream dispatch waits for an O3 (its case resolved)."""
    return classification.baseline_credits is None and classification.severity in (Severity.SEV0, Severity.SEV1)


def severity_for(variance: float, exposure: bool, sev1_threshold: float, policy: CreditsSettings) -> Severity:
    if exposure and variance >= policy.sev0_multiplier:
        return Severity.SEV0
    if variance >= sev1_threshold:
        return Severity.SEV1
    if variance >= policy.sev2_multiplier:
        return Severity.SEV2
    return Severity.NORMAL


def rerun_gate_required(classification: Classification, policy: CreditsSettings) -> bool:
    """Runbook "Rerun Approval Gates": SEV0 and SEV1 always; SEV2 when flagged as misconfig."""
    if classification.severity in (Severity.SEV0, Severity.SEV1):
        return True
    if classification.severity is Severity.SEV2:
        return classification.likelihood.rank >= Likelihood(policy.sev2_rerun_gate).rank
    return False


def is_spike(classification: Classification) -> bool:
    """A rerun "spikes again" when it is itself SEV2 or worse."""
    return classification.severity in (Severity.SEV0, Severity.SEV1, Severity.SEV2)


def ack_minutes(severity: Severity, policy: CreditsSettings) -> int | None:
    """ACK deadline (and re-notification interval) in minutes; None when no ACK is required."""
    return {Severity.SEV0: policy.ack_sev0_minutes, Severity.SEV1: policy.ack_sev1_minutes}.get(severity)


def sev2_persists(recent_sev2: list[datetime], now: datetime, policy: CreditsSettings) -> bool:
    """N SEV2 runs of one scenario within the window (including the current one) make a pattern."""
    window_start = now - timedelta(days=policy.sev2_window_days)
    return sum(1 for moment in recent_sev2 if moment >= window_start) >= policy.sev2_case_after
