"""What is said about baselines, as plain text: the same words in the shell, in Slack and in the outbox."""
from __future__ import annotations

from datetime import datetime

from jobs.context import Context
from jobs.credits.baselines.stats import format_change, format_credits
from store.baselines import Baseline


def calculation_text(ctx: Context, calc) -> str:
    """The runbook's Step 1 line, then CV, window and change from the current baseline."""
    rules = ctx.settings.baselines
    lines = [f"Calculated baseline for {calc.scenario_id}: {format_credits(calc.median_credits)} "
             f"(from {calc.sample_size} healthy run{'s' if calc.sample_size != 1 else ''})"]
    if calc.cv is None:
        lines.append(f"Coefficient of variation: not measurable from {calc.sample_size} run (needs 2 or more)")
    else:
        verdict = "stable" if calc.cv < rules.max_cv else "not stable"
        lines.append(f"Coefficient of variation: {calc.cv:.2f} ({verdict}; update needs < {rules.max_cv:g})")
    lines.append(f"Window: last {calc.days} days, {_local(ctx, calc.window_start)} – {_local(ctx, calc.window_end)}")
    if calc.current is None:
        lines.append("Change from current baseline: none yet (this would be the first)")
    else:
        lines.append(f"Change from current baseline: {format_change(calc.change_pct)} "
                     f"(current {format_credits(calc.current.median_credits)}, {calc.current.source.value}"
                     f"{', ' + calc.current.approval_id if calc.current.approval_id else ''})")
    return "\n".join(lines)


def baseline_line(ctx: Context, baseline: Baseline, now: datetime, runs_recorded: int) -> str:
    """One row of `baseline show`: value, source, age, sample size (or, for a manual baseline, how many runs
    of the scenario are recorded, none of which it was computed from), approval."""
    age = _age(now - baseline.last_updated)
    source = "MANUAL" if baseline.is_manual else "calculated"
    recorded = f"{runs_recorded:,} run{'s' if runs_recorded != 1 else ''} recorded" if runs_recorded else "no run recorded"
    sample = f"set by hand, not from runs ({recorded})" if baseline.is_manual else (
        f"{baseline.sample_size} runs / {baseline.window_days} days, CV "
        f"{baseline.cv:.2f}" if baseline.cv is not None else f"{baseline.sample_size} runs")
    approval = baseline.approval_id or "-"
    if baseline.self_approved:
        approval += " (self-approved)"
    return (f"{baseline.scenario_id:<28} {format_credits(baseline.median_credits):>12}  {source:<10}  "
            f"updated {age} ago ({_local(ctx, baseline.last_updated)})  {sample}  v{baseline.version}  {approval}")


def history_line(ctx: Context, baseline: Baseline) -> str:
    who = baseline.approver if baseline.proposer in ("", baseline.approver) else (
        f"{baseline.approver} (proposed by {baseline.proposer})")
    return (f"  v{baseline.version}  {_local(ctx, baseline.last_updated)}  "
            f"{format_credits(baseline.median_credits):>12}  {baseline.source.value:<10}  by {who}  "
            f"{baseline.approval_id}  — {baseline.reason}")


def _local(ctx: Context, moment: datetime) -> str:
    return f"{ctx.local(moment):%Y-%m-%d %H:%M %Z}"


def _age(delta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"
