"""Baselines: the runbook's "Baseline Update Procedure" and its "Baseline not found" trouble (seed 001).

Classification reads `current_baseline`; an O3 changes a baseline only through `set_baseline`
(manual, when data is insufficient) or `update` (calculated from healthy runs, after the runbook's
prerequisites). `calculate` proposes and changes nothing. The steps mirror the runbook:

* Step 1 — calculate: median credits of the scenario's healthy runs in the window (`calculate`).
* Step 2 — review change: change from the current baseline in %; over `large_change_pct` needs
  `--force-large-change` ("if > 50 % change, investigate further before applying").
* Step 3 — document rationale: the update note (`baseline_note`).
* Step 4 — apply: store + export + note + ledger entry in one step (`baseline_apply.commit`).
* Step 5 — verify: `baseline show` prints the current value, its age, and whether the export matches.

Proposals that another O3 approves with a button live in `proposals`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from jobs import approvals
from jobs.closest import closest
from jobs.actors import Actor, Permission, authorize
from jobs.context import Context
from jobs.credits.baselines import runs as baseline_runs
from jobs.credits.audit import scenario_subject
from jobs.credits.baselines.apply import Applied, NoteWrite, ProposalApproval, commit, refused
from jobs.credits.baselines.pending import pending
from jobs.credits.baselines.note import UpdateNote, note_path, rationale_lines, render, with_note
from jobs.credits.baselines.runs import RunPoint, ScenarioRuns
from jobs.credits.baselines.stats import (MAX_DAYS, change_pct, coefficient_of_variation, format_change,
                                         format_credits, median)
from jobs.credits.intake.schema import MAX_CREDITS
from store import baselines as store
from store.baselines import Baseline, BaselineSource
from jobs.errors import ExitCode, Invalid, NotFound, Refused

SCENARIO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


class BaselineError(Refused):
    """A request that was refused; the message names the thing, the value and the fix."""


class BadInput(BaselineError, Invalid):
    """A value that cannot be used (days, credits, scenario id, missing reason)."""

    exit_code = ExitCode.INVALID


class UnknownScenario(BadInput, NotFound):
    """No run and no baseline of this scenario id; the message names the closest known ids."""

    exit_code = ExitCode.NOT_FOUND


class NoHealthyRuns(BadInput):
    """Nothing to compute from in the window; the message says what is missing and suggests `baseline set`."""


class UpdateRefused(BaselineError):
    """The runbook's prerequisites are not met; `failures` names each one with its measured value."""

    def __init__(self, scenario_id: str, failures: list[str], command: str = "baseline update") -> None:
        self.failures = failures
        lines = [f"{command} for {scenario_id} refused: {len(failures)} prerequisite"
                 f"{'s' if len(failures) != 1 else ''} not met"]
        lines += [f"  - {f}" for f in failures]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Calculation:
    """Step 1's result: what the baseline would be, from which data; nothing is changed by it."""

    scenario_id: str
    median_credits: float
    sample_size: int
    cv: float | None
    days: int
    window_start: datetime
    window_end: datetime
    data_digest: str
    current: Baseline | None
    first_healthy_at: datetime | None       # oldest healthy run of the scenario (history length)
    severe_recent: tuple[RunPoint, ...]     # SEV0/SEV1 runs within the stable weeks

    @property
    def change_pct(self) -> float | None:
        if self.current is None:
            return None
        return change_pct(self.current.median_credits, self.median_credits)


# ---- reading ---------------------------------------------------------------------------------------


def current_baseline(ctx: Context, scenario_id: str) -> Baseline | None:
    """The baseline classification uses: the store's newest version, never the JSON export."""
    return store.current(ctx.state, scenario_id)


def show(ctx: Context, scenario_id: str | None = None, with_history: bool = False
         ) -> tuple[list[Baseline], store.ExportStatus]:
    """Current baselines (or every version with `with_history`) and the state of the JSON export."""
    if scenario_id is not None:
        if store.current(ctx.state, scenario_id) is None:
            _raise_unknown(ctx, scenario_id, has_runs=bool(baseline_runs.scan_scenario(
                ctx.data_dir, scenario_id).runs))
        found = store.history(ctx.state, scenario_id) if with_history else [store.current(ctx.state, scenario_id)]
    else:
        found = store.history(ctx.state) if with_history else store.current_all(ctx.state)
    return [b for b in found if b is not None], store.check_export(ctx.state, ctx.data_dir)


# ---- Step 1: calculate -------------------------------------------------------------------------------


def compute(ctx: Context, scenario_id: str, days: int | None = None) -> Calculation:
    """Runbook step 1: the median of the scenario's healthy runs in the last `days` days; changes nothing.

    Reading needs no gate (whoever reaches the data directory may read it; Slack's `/ops` is gated at
    the registry); every flow that changes a baseline passes the gate before it acts on this."""
    days = _days(ctx, days)
    runs = baseline_runs.scan_scenario(ctx.data_dir, scenario_id)
    current = store.current(ctx.state, scenario_id)
    if not runs.runs and current is None:
        _raise_unknown(ctx, scenario_id, has_runs=False)
    now = ctx.now()
    since = now - timedelta(days=days)
    healthy = runs.healthy(since, now)
    if not healthy:
        raise NoHealthyRuns(_no_runs_message(ctx, runs, since, now, days, current))
    credits = [r.credits for r in healthy]
    stable_since = now - timedelta(weeks=ctx.settings.baselines.stable_weeks)
    first = runs.first_healthy(now)
    return Calculation(
        scenario_id=scenario_id, median_credits=median(credits), sample_size=len(healthy),
        cv=coefficient_of_variation(credits), days=days, window_start=since, window_end=now,
        data_digest=baseline_runs.data_digest(healthy), current=current,
        first_healthy_at=first.at if first else None,
        severe_recent=tuple(runs.severe_since(stable_since, now)))


# ---- Step 2: the prerequisites ---------------------------------------------------------------------------


def prerequisite_failures(ctx: Context, calc: Calculation, force_large_change: bool) -> list[str]:
    """Each unmet prerequisite of the runbook, with the value measured; empty when all are met."""
    rules = ctx.settings.baselines
    failures: list[str] = []
    if calc.severe_recent:
        latest = max(calc.severe_recent, key=lambda r: r.at)
        failures.append(
            f"not stable: {len(calc.severe_recent)} SEV0/SEV1 run{'s' if len(calc.severe_recent) != 1 else ''} "
            f"in the last {rules.stable_weeks} weeks (latest {latest.run_id}, {latest.severity}, "
            f"{ctx.local(latest.at):%Y-%m-%d %H:%M %Z}); needs none")
    history_days = (calc.window_end - calc.first_healthy_at).total_seconds() / 86400 if calc.first_healthy_at else 0
    if history_days < rules.min_days:
        failures.append(f"healthy runs cover {history_days:.1f} days (first "
                        f"{ctx.local(calc.first_healthy_at):%Y-%m-%d}); needs at least {rules.min_days} days")
    if calc.cv is None:
        failures.append(f"coefficient of variation cannot be measured from {calc.sample_size} healthy run "
                        f"(needs at least 2 runs); needs < {rules.max_cv:g}")
    elif calc.cv >= rules.max_cv:
        failures.append(f"coefficient of variation {calc.cv:.2f} is not below {rules.max_cv:g} (not stable)")
    pct = calc.change_pct
    if pct is not None and abs(pct) > rules.large_change_pct and not force_large_change:
        failures.append(f"change {format_change(pct)} ({format_credits(calc.current.median_credits)} → "
                        f"{format_credits(calc.median_credits)}) is over {rules.large_change_pct:g}%: investigate "
                        "further, then repeat with --force-large-change")
    return failures


# ---- Steps 3 and 4: document and apply -------------------------------------------------------------------


def update(ctx: Context, actor: Actor, scenario_id: str, reason: str, days: int | None = None,
           force_large_change: bool = False, proposer: Actor | None = None,
           approval: ProposalApproval | None = None, expected_digest: str | None = None) -> Applied:
    """Apply a calculated baseline (O3): prerequisites, note, store, export and ledger in one step.

    `proposer` is who proposed the change (default: `actor` — then it is self-approval, refused unless
    `[baselines] allow_self_approval`). `approval` is `actor`'s approval of a proposal, decided in the
    same step as the change (a failed change leaves the proposal pending, undecided). The approval id is
    `O3-<name>-<timestamp>` of this approval. `expected_digest` binds the update to the data a proposal
    was computed from.
    """
    _check_change(ctx, actor, scenario_id, "baseline update")
    reason = _reason(ctx, actor, scenario_id, reason, "baseline update")
    proposer = proposer or actor
    self_approved = proposer.name == actor.name
    if self_approved and not ctx.settings.baselines.allow_self_approval:
        _refuse(ctx, actor, scenario_id, "baseline update", BaselineError(_self_approval_refusal(ctx, actor, scenario_id)))
    try:
        calc = compute(ctx, scenario_id, days)
    except BaselineError as exc:
        _refuse(ctx, actor, scenario_id, "baseline update", exc)
    if expected_digest is not None and calc.data_digest != expected_digest:
        _refuse(ctx, actor, scenario_id, "baseline update", BaselineError(
            f"the runs of {scenario_id} changed since the change was proposed (data digest "
            f"{expected_digest[:12]}…, now {calc.data_digest[:12]}…); the approval is void. New result: "
            f"{format_credits(calc.median_credits)} from {calc.sample_size} healthy runs."))
    _refuse_if_already_applied(ctx, actor, calc)
    failures = prerequisite_failures(ctx, calc, force_large_change)
    if failures:
        _refuse(ctx, actor, scenario_id, "baseline update", UpdateRefused(scenario_id, failures))
    now = ctx.now()
    approval_id = approvals.approval_id(actor.role_for(Permission.BASELINE_CHANGE), actor.name, now)
    pct = calc.change_pct
    forced = ctx.settings.baselines.large_change_pct if (
        pct is not None and abs(pct) > ctx.settings.baselines.large_change_pct) else None
    day = ctx.local(now).date()
    note = UpdateNote(
        scenario_id=scenario_id, day=day, approver=actor.name, approval_id=approval_id,
        old_credits=calc.current.median_credits if calc.current else None,
        old_is_manual=bool(calc.current and calc.current.is_manual), new_credits=calc.median_credits,
        change_pct=pct, rationale=rationale_lines(reason), sample_size=calc.sample_size, days=calc.days,
        cv=calc.cv if calc.cv is not None else math.nan, self_approved=self_approved,
        forced_large_change_pct=forced)
    path = note_path(ctx.data_dir, day)
    existing = path.read_text(encoding="utf-8") if path.exists() else None
    baseline = Baseline(
        scenario_id=scenario_id, median_credits=calc.median_credits, source=BaselineSource.CALCULATED,
        sample_size=calc.sample_size, calculated_at=now, last_updated=now, cv=calc.cv, window_days=calc.days,
        window_start=calc.window_start, window_end=calc.window_end, approval_id=approval_id,
        proposer=proposer.name, approver=actor.name, self_approved=self_approved, reason=reason,
        data_digest=calc.data_digest, previous_credits=calc.current.median_credits if calc.current else None)
    ledger_data = {"change_pct": round(pct, 4) if pct is not None else None,
                   "forced_large_change": forced is not None}
    return commit(ctx, actor, "baseline.updated", baseline, ledger_data,
                  NoteWrite(path, with_note(existing, render(note))), approval)


def set_baseline(ctx: Context, actor: Actor, scenario_id: str, credits: float, reason: str) -> Baseline:
    """The runbook's manual baseline (O3), for when data is insufficient; flagged `manual`.

    A scenario with no recorded run yet is accepted: setting a baseline before the first run is how a
    new scenario avoids the "Baseline not found" trouble.
    """
    _check_change(ctx, actor, scenario_id, "baseline set")
    if isinstance(credits, bool) or not isinstance(credits, (int, float)) or not math.isfinite(credits) \
            or not 0 < credits < MAX_CREDITS:
        _refuse(ctx, actor, scenario_id, "baseline set", BadInput(
            f"--credits {credits!r} is not a positive number of credits below 2^53; give the expected credits "
            "of one normal run, e.g. --credits 1250.5"))
    reason = _reason(ctx, actor, scenario_id, reason, "baseline set")
    now = ctx.now()
    previous = store.current(ctx.state, scenario_id)
    baseline = Baseline(
        scenario_id=scenario_id, median_credits=float(credits), source=BaselineSource.MANUAL, sample_size=0,
        calculated_at=now, last_updated=now, approval_id=f"O3-{actor.name}-{now:%Y%m%dT%H%M%SZ}",
        proposer=actor.name, approver=actor.name, reason=reason,
        previous_credits=previous.median_credits if previous else None)
    return commit(ctx, actor, "baseline.set", baseline, {}).baseline


def known_scenarios(ctx: Context) -> list[str]:
    """Scenarios with a baseline or a recorded run (for suggestions)."""
    return sorted(set(store.known_scenarios(ctx.state)) | baseline_runs.recorded_scenarios(ctx.data_dir))


def closest_scenarios(ctx: Context, scenario_id: str) -> list[str]:
    return closest(scenario_id, known_scenarios(ctx))


# ---- internals -------------------------------------------------------------------------------------------


def _days(ctx: Context, days: int | None) -> int:
    if days is None:
        return ctx.settings.baselines.default_days
    if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= MAX_DAYS:
        raise BadInput(f"--days {days!r} is not a whole number of days from 1 to {MAX_DAYS:,}; "
                       "e.g. --days 30")
    return days


def _raise_unknown(ctx: Context, scenario_id: str, has_runs: bool) -> NoReturn:
    if has_runs:
        raise UnknownScenario(
            f"scenario {scenario_id} has recorded runs but no baseline yet: calculate one with "
            f"`chatops baseline calculate --scenario {scenario_id}`, or set one with `chatops baseline set "
            f"--scenario {scenario_id} --credits N --reason … --as NAME`")
    close = closest_scenarios(ctx, scenario_id)
    hint = ("closest known: " + ", ".join(close)) if close else (
        "known scenarios: " + (", ".join(known_scenarios(ctx)[:10]) or "none yet"))
    raise UnknownScenario(f"unknown scenario {scenario_id!r}: no run of it is recorded and it has no baseline; "
                          f"{hint}")


def _no_runs_message(ctx: Context, runs: ScenarioRuns, since: datetime, until: datetime, days: int,
                     current: Baseline | None) -> str:
    counts = runs.exclusions(since, until)
    window = f"{ctx.local(since):%Y-%m-%d %H:%M} – {ctx.local(until):%Y-%m-%d %H:%M %Z}"
    if counts.recorded == 0:
        seen = (f"{counts.before_window} older run{'s' if counts.before_window != 1 else ''} exist: try a longer "
                "--days") if counts.before_window else "no run of it is recorded at all"
        missing = f"no run of {runs.scenario_id} is recorded in the last {days} days ({window}); {seen}"
    else:
        missing = (f"none of the {counts.recorded} runs of {runs.scenario_id} in the last {days} days ({window}) "
                   f"is healthy: {counts.severe} SEV0/SEV1, {counts.quarantined} quarantined, "
                   f"{counts.backfill} backfill, {counts.unassessed} unbaselined with risk flags never assessed")
    now_line = (f"; the current baseline stays {format_credits(current.median_credits)} ({current.source.value})"
                if current else "")
    return (f"{missing}{now_line}. If data is insufficient, set a manual baseline: `chatops baseline set "
            f"--scenario {runs.scenario_id} --credits N --reason … --as NAME`")


def _check_change(ctx: Context, actor: Actor, scenario_id: str, action: str) -> None:
    """The O3 check, and the scenario id's shape; a refusal is recorded in the credit ledger."""
    authorize(ctx, actor, Permission.BASELINE_CHANGE, action, scenario_subject(scenario_id))
    if not SCENARIO_ID.match(scenario_id):
        _refuse(ctx, actor, scenario_id, action, BadInput(
            f"scenario id {scenario_id!r} is not valid: letters, digits and _ . : - only, up to 128 "
            "characters, as in the run records' Scenario_ID"))


def _reason(ctx: Context, actor: Actor, scenario_id: str, reason: str, action: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        _refuse(ctx, actor, scenario_id, action, BadInput(
            f"{action} needs --reason: the rationale goes into the update note and the ledger "
            "(e.g. --reason \"Prompt optimization deployed on 2024-01-15; variance stable over 2 weeks\")"))
    return reason


def _refuse_if_already_applied(ctx: Context, actor: Actor, calc: Calculation) -> None:
    current = calc.current
    if current is not None and current.source is BaselineSource.CALCULATED \
            and current.data_digest == calc.data_digest and current.median_credits == calc.median_credits:
        _refuse(ctx, actor, calc.scenario_id, "baseline update", BaselineError(
            f"{calc.scenario_id} already has this baseline ({format_credits(current.median_credits)}, version "
            f"{current.version}, approval {current.approval_id}) from exactly these runs; nothing to update"))


def _self_approval_refusal(ctx: Context, actor: Actor, scenario_id: str) -> str:
    """Why `baseline update --approve` by `actor` alone is refused, saying which case it is: there is no
    pending proposal to approve, or the pending one is `actor`'s own."""
    proposal = pending(ctx, scenario_id)
    single = ("Single-operator installations may set [baselines] allow_self_approval = true in config.toml.")
    if proposal is None:
        return (f"there is no pending proposal for {scenario_id} to approve, and an update without one would be "
                f"approved by the person who asks for it ({actor.name}): propose it with `chatops baseline propose "
                f"--scenario {scenario_id} --reason … --as {actor.name}` (or in Slack), then another O3 approves "
                f"it with `chatops baseline approve <id>` or the button in "
                f"{ctx.settings.slack.channels.ops_review}. {single}")
    if proposal.requested_by != actor.name:
        return (f"{scenario_id} has a pending proposal by {proposal.requested_by}, {proposal.id}: approve that one "
                f"with `chatops baseline approve {proposal.id} --as {actor.name}`")
    return (f"the pending proposal {proposal.id} for {scenario_id} was made by {actor.name}; another O3 must "
            f"approve it (`chatops baseline approve {proposal.id} --as NAME`, or the button in "
            f"{ctx.settings.slack.channels.ops_review}). {single}")


def _refuse(ctx: Context, actor: Actor, scenario_id: str, action: str, error: BaselineError) -> NoReturn:
    """Record the refusal in the credit ledger, then raise it for the person."""
    refused(ctx, actor, action, scenario_id, error,
            **({"failures": error.failures} if isinstance(error, UpdateRefused) else {}))
    raise error
