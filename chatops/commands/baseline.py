"""`baseline …`: the runbook's Baseline Update Procedure from the shell and from Slack (`/ops baseline …`).

Thin: parse, call `jobs.credits.baselines.flows` / `baseline_proposals` (which check roles and record to the
credit ledger), print. A refusal or bad input is a `jobs.errors` exception, worded once by the surface.
"""
from __future__ import annotations

import argparse
import math

from chatops.registry import Arg, Command, Invocation, Reply
from jobs.actors import Permission
from jobs.errors import ExitCode


def positive_days(text: str) -> int:
    from jobs.credits.baselines.stats import MAX_DAYS   # the baseline statistics: only when parsing

    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 0 < value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(
            f"--days {text!r} is not a whole number of days from 1 to {MAX_DAYS:,} (e.g. --days 30)")
    return value


def positive_credits(text: str) -> float:
    from jobs.credits.intake.schema import MAX_CREDITS   # the run schema (records, orjson): only when parsing

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"--credits {text!r} is not a positive number of credits (e.g. --credits 1250.5)")
    if value >= MAX_CREDITS:
        raise argparse.ArgumentTypeError(
            f"--credits {text!r} is too large: a run's Credits_Total is below 2^53 = {MAX_CREDITS:,.0f}, "
            "so a baseline is too (e.g. --credits 1250.5)")
    return value


SCENARIO = Arg("--scenario", "scenario id, as in the run records' Scenario_ID", required=True, metavar="ID",
               subject="scenario")
SCENARIO_OPTIONAL = Arg("--scenario", "only this scenario", metavar="ID", subject="scenario")
DAYS = Arg("--days", "window in days (default: [baselines] default_days, 30)", type=positive_days, metavar="N")
REASON = Arg("--reason", "rationale: goes into the update note and the ledger (separate points with ';')",
             required=True, metavar="TEXT")
FORCE = Arg("--force-large-change", "apply a change over [baselines] large_change_pct (50%) after investigating",
            flag=True)


def _calculate(inv: Invocation) -> Reply:
    from jobs.credits.baselines.messages import calculation_text
    from jobs.credits.baselines.flows import compute

    calc = compute(inv.ctx, inv.args.scenario, inv.args.days)
    return Reply(calculation_text(inv.ctx, calc) + "\nNothing was changed. " + _how_to_apply(inv, calc.scenario_id))


def _how_to_apply(inv: Invocation, scenario_id: str) -> str:
    """The next step as it really works here: a proposal another O3 approves, unless self-approval is
    configured (then `update --approve` alone applies it); worded for the surface the person is on."""
    prog, who = ("chatops", " --as NAME") if inv.surface == "cli" else ("/ops", "")
    propose = f"`{prog} baseline propose --scenario {scenario_id} --reason …{who}`"
    if inv.ctx.settings.baselines.allow_self_approval:
        return (f"To apply: an O3 runs `{prog} baseline update --scenario {scenario_id} --approve --reason …{who}` "
                f"([baselines] allow_self_approval is set), or proposes it with {propose}.")
    return f"To apply: propose it with {propose}; another O3 approves it (`{prog} baseline approve <id>` or the button)."


def _update(inv: Invocation) -> Reply:
    from jobs.credits.baselines import flows as baselines, proposals as baseline_proposals
    from jobs.credits.baselines.messages import calculation_text

    args = inv.args

    ctx, actor = inv.ctx, inv.actor
    if not args.approve:
        calc = baselines.compute(ctx, args.scenario, args.days)
        failures = baselines.prerequisite_failures(ctx, calc, args.force_large_change)
        verdict = ("prerequisites met: add --approve to apply" if not failures else
                   "prerequisites NOT met:\n" + "\n".join(f"  - {f}" for f in failures))
        return Reply(calculation_text(ctx, calc) + "\n" + verdict + "\nNothing was changed.",
                     0 if not failures else int(ExitCode.REFUSED))
    proposal = baseline_proposals.pending(ctx, args.scenario)
    # a pending proposal is approved (and so closed), also the actor's own where self-approval is allowed
    if proposal is not None and (proposal.requested_by != actor.name
                                 or ctx.settings.baselines.allow_self_approval):
        applied = baseline_proposals.approve(ctx, actor, proposal.id, extra_reason=args.reason or "")
    else:
        applied = baselines.update(ctx, actor, args.scenario, args.reason or "", args.days,
                                   args.force_large_change)
    return Reply(_applied_text(inv, applied))


def _approve(inv: Invocation) -> Reply:
    from jobs.credits.baselines import proposals as baseline_proposals

    applied = baseline_proposals.approve(inv.ctx, inv.actor, inv.args.request, extra_reason=inv.args.reason or "")
    return Reply(_applied_text(inv, applied))


def _propose(inv: Invocation) -> Reply:
    from jobs.credits.baselines import proposals as baseline_proposals
    from jobs.credits.baselines.messages import calculation_text

    args = inv.args

    proposal = baseline_proposals.propose(inv.ctx, inv.actor, args.scenario, args.reason, args.days,
                                          args.force_large_change)
    return Reply(f"Proposed {proposal.request.id}: {args.scenario} → "
                 f"{proposal.calculation.median_credits:.2f} credits, posted to "
                 f"{inv.ctx.settings.slack.channels.ops_review} for another O3's approval\n"
                 + calculation_text(inv.ctx, proposal.calculation))


def _set(inv: Invocation) -> Reply:
    from jobs.credits.baselines.flows import closest_scenarios, set_baseline
    from jobs.credits.baselines.runs import scan_scenario

    args = inv.args

    baseline = set_baseline(inv.ctx, inv.actor, args.scenario, args.credits, args.reason)
    text = (f"Manual baseline for {baseline.scenario_id}: {baseline.median_credits:.2f} credits (version "
            f"{baseline.version}, {baseline.approval_id}); flagged manual until a calculated update "
            f"replaces it. Exported to config/credit-baselines.json.")
    if not scan_scenario(inv.ctx.data_dir, args.scenario).runs:
        close = [s for s in closest_scenarios(inv.ctx, args.scenario) if s != args.scenario]
        text += (f"\nnote: no run of {args.scenario} is recorded yet"
                 + (f"; did you mean {', '.join(close)}?" if close else "."))
    return Reply(text)


def _show(inv: Invocation) -> Reply:
    from jobs.credits.baselines.messages import baseline_line, history_line
    from jobs.credits.baselines.flows import show
    from store.runs_index import RunsIndex

    args = inv.args

    ctx = inv.ctx
    found, export = show(ctx, args.scenario, args.history)
    now = ctx.now()
    if not found:
        lines = ["no baselines yet: calculate one with `chatops baseline calculate --scenario ID`, "
                 "or set one with `chatops baseline set --scenario ID --credits N --reason … --as NAME`"]
    elif args.history:
        lines = []
        for scenario_id in dict.fromkeys(b.scenario_id for b in found):
            lines.append(f"{scenario_id}:")
            lines += [history_line(ctx, b) for b in found if b.scenario_id == scenario_id]
    else:
        recorded = RunsIndex.open(ctx.data_dir).runs_per_scenario()
        lines = [baseline_line(ctx, b, now, recorded[b.scenario_id]) for b in found]
        manual = [b.scenario_id for b in found if b.is_manual]
        if manual:
            lines.append(f"{len(manual)} manual baseline{'s' if len(manual) != 1 else ''} "
                         f"(replace with a calculated update when data allows): {', '.join(manual)}")
    warning = export.describe()
    if warning:
        lines.append("WARNING: " + warning)
    return Reply("\n".join(lines), 0)


def _export(inv: Invocation) -> Reply:
    from jobs.credits.baselines.apply import rewrite_export

    status = rewrite_export(inv.ctx, inv.actor)
    kept = " (the edited file was kept beside it as credit-baselines.json.edited-<time>)" \
        if status.state == "edited" else ""
    return Reply(f"config/credit-baselines.json rewritten from the store{kept}")


def _applied_text(inv: Invocation, applied) -> str:
    b = applied.baseline
    old = f"{b.previous_credits:.2f}" if b.previous_credits is not None else "none"
    lines = [f"Baseline for {b.scenario_id} updated: {old} → {b.median_credits:.2f} credits "
             f"(version {b.version}, approval {b.approval_id}, proposed by {b.proposer}, approved by {b.approver}"
             f"{', self-approved' if b.self_approved else ''})",
             f"Note: {applied.note_path.relative_to(inv.ctx.data_dir)}" if applied.note_path else "",
             "Exported to config/credit-baselines.json; recorded as baseline.updated in the credit ledger."]
    if applied.hand_edit is not None:
        lines.append("The export had been edited by hand; the edited copy was kept and the edit recorded:\n"
                     + applied.hand_edit.describe())
    return "\n".join(line for line in lines if line)


#: Refusals of these commands are recorded in the credit ledger, beside the runs they concern.
LEDGER = "credit"

COMMANDS = [
    Command(("baseline", "calculate"), "median credits of a scenario's healthy runs (changes nothing)",
            Permission.BASELINE_CALCULATE, _calculate, args=(SCENARIO, DAYS), shell_open=True,
            description="Step 1 of the runbook's Baseline Update Procedure: median credits of the scenario's "
                        "healthy runs (recorded, not SEV0/SEV1, not quarantined, not backfill) in the window, "
                        "with the coefficient of variation and the change from the current baseline."),
    Command(("baseline", "update"), "apply a calculated baseline (prerequisites, note, ledger, export)",
            Permission.BASELINE_CHANGE, _update,
            args=(SCENARIO, Arg("--approve", "apply it (without: only check the prerequisites)", flag=True),
                  Arg("--reason", "rationale for the update note (required with --approve; ';' separates points)",
                      metavar="TEXT"), DAYS, FORCE),
            description="Steps 2-4: checks no SEV0/SEV1 in the last 2 weeks, at least 30 days of healthy runs, "
                        "CV < 0.3, and a change over 50% needs --force-large-change; writes "
                        "runs/BASELINE_UPDATES/update_<date>.md, the store, the JSON export and the ledger "
                        "in one step. Approves another person's pending proposal for the scenario if there is "
                        "one; otherwise it is self-approval, allowed only with [baselines] allow_self_approval."),
    Command(("baseline", "propose"), "propose a calculated baseline for another O3 to approve (Slack button)",
            Permission.BASELINE_CALCULATE, _propose, args=(SCENARIO, REASON, DAYS, FORCE)),
    Command(("baseline", "approve"), "approve a baseline proposal (not your own)", Permission.BASELINE_CHANGE,
            _approve, args=(Arg("request", "proposal id, e.g. APR-1a2b3c4d5e", required=True, subject="proposal"),
                            Arg("--reason", "additional rationale for the note", metavar="TEXT"))),
    Command(("baseline", "set"), "set a manual baseline when data is insufficient",
            Permission.BASELINE_CHANGE, _set,
            args=(SCENARIO, Arg("--credits", "expected credits of one normal run", type=positive_credits,
                                required=True, metavar="N"), REASON),
            description="The runbook's manual baseline (\"Baseline not found for scenario\"): flagged manual "
                        "until a calculated update replaces it."),
    Command(("baseline", "show"), "current baselines with source, age and sample size",
            Permission.BASELINE_READ, _show, shell_open=True,
            args=(SCENARIO_OPTIONAL, Arg("--history", "every version, with who and why", flag=True))),
    Command(("baseline", "export"), "rewrite config/credit-baselines.json from the store (after a hand edit)",
            Permission.BASELINE_CHANGE, _export, subject_kind="export", subject_id="config/credit-baselines.json"),
]
