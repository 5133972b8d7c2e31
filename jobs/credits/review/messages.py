"""What the weekly review says: the `#ops-review` summary (Block Kit via `Notice.fields`) and the CLI lines.

The summary leads with the week in numbers, then the policy violations (they need someone now), then
the SEV2s without a case (each with "Open a case" and "Isolated: note it"), the top scenarios and the
baseline candidates (each with a button that starts the baseline proposal, for an O3). The chart is
attached in the message's thread (`fields["files"]`, uploaded by the Slack destination). The notice is
bound to its week (`subject_kind="weekly_review"`), so replies in its thread are read as notes and
decisions (`chatops/commands/review_replies.py`); the report of a week written again edits that message
(its buttons then show what is still undecided) and adds the new summary and chart to its thread.
"""
from __future__ import annotations

from typing import Any

from jobs.context import Context
from jobs.credits.review.records import WrittenReport
from jobs.notices import Notice

KIND = "review.weekly"
SUBJECT_KIND = "weekly_review"
MAX_LISTED = 10
MAX_CANDIDATE_BUTTONS = 5
MAX_SEV2_BUTTONS = 10      # two buttons each: 5 + 2 × 10 stays within Slack's 25 per actions block


def subject(label: str) -> str:
    return f"WEEKLY-{label}"


def summary_lines(written: WrittenReport) -> list[str]:
    """The week in numbers, violations first: the notice text and what the CLI prints."""
    report = written.report or {}
    s = report["summary"]
    sev = " · ".join(f"{k} {v}" for k, v in s["by_severity"].items()) or "none"
    lines = [f"Weekly credit review {report['week']} ({report['period']['first_day']} – "
             f"{report['period']['last_day']}){'' if report['complete'] else ' (week not over yet)'}",
             f"{s['runs']} runs (previous week {s['previous_week_runs']}), {s['credits_total']:.2f} credits, "
             f"{s['scenarios']} scenarios; {sev}"]
    if report.get("no_data"):
        lines.append(f"No data: {report['no_data']['reason']}")
    violations = report["policy_violations"]
    lines.append(f"Policy violations: {len(violations)}")
    lines += [f"  • [{v['rule']}] {v['detail']}" for v in violations[:MAX_LISTED]]
    lines += [f"  … and {len(violations) - MAX_LISTED} more (jq '.policy_violations')"] if len(violations) > MAX_LISTED else []
    sev2 = report["sev2_review"]
    undecided = [r for r in sev2 if r["decision"] is None]
    lines.append(f"SEV2 without a case: {len(sev2)} ({len(undecided)} not yet decided)")
    lines += [f"  • {r['Run_ID']} {r['Scenario_ID']} {_times(r['Variance'])} ({r['pattern']})"
              + (f": {r['decision']['decision']} by {r['decision']['by']}" if r["decision"] else "")
              for r in sev2[:MAX_LISTED]]
    lines.append("Top scenarios by total:")
    lines += [f"  • {t['scenario_id']}: {t['total_credits']:.2f} credits, {_count(t['run_count'], 'run')} "
              f"({t['run_count_change']:+d}), {_times(t['variance_from_baseline'])} baseline"
              + (" NOTABLE" if t["notable"] else "") for t in report["top_scenarios_by_total"]] or ["  (none)"]
    candidates = report["baseline_candidates"]
    lines.append(f"Baseline candidates: {len(candidates)}")
    lines += [f"  • {c['scenario_id']}: {c['run_count']} runs, median {c['median_credits']:.2f} vs "
              f"{c['baseline_credits']:.2f} ({_times(c['variance_from_baseline'])}), CV {c['coefficient_of_variation']:.2f}"
              + (f", proposal {c['pending_proposal']} pending" if c["pending_proposal"] else "")
              for c in candidates[:MAX_LISTED]]
    drift = [p for p in report["patterns"] if p["pattern"] != "transient"]
    if drift:
        lines.append("Patterns: " + "; ".join(
            f"baseline drift in {p['scenario_id']} ({p['spikes']} spikes)" if p["pattern"] == "baseline_drift"
            else f"systemic on {p['date']} ({len(p['scenario_ids'])} scenarios)" for p in drift))
    lines.append(f"Report: {written.path} (sha256 {written.sha256[:12]}…); chart {written.chart}")
    return lines


def summary_notice(ctx: Context, written: WrittenReport) -> Notice:
    report = written.report or {}
    label = report["week"]
    actions: list[dict[str, Any]] = []
    for row in [r for r in report["sev2_review"] if r["decision"] is None][:MAX_SEV2_BUTTONS]:
        actions.append({"label": f"Open a case: {row['Run_ID']}", "command": "report weekly open-case",
                        "target": row["Run_ID"]})
        actions.append({"label": f"Isolated: note it ({row['Run_ID']})", "command": "report weekly isolated",
                        "target": row["Run_ID"], "needs": "note"})
    for row in [c for c in report["baseline_candidates"] if not c["pending_proposal"]][:MAX_CANDIDATE_BUTTONS]:
        actions.insert(0, {"label": f"Propose baseline: {row['scenario_id']}", "command": "report weekly propose",
                           "target": row["scenario_id"], "style": "primary"})
    required = []
    if report["policy_violations"]:
        required.append(f"resolve the {len(report['policy_violations'])} policy violation(s) listed first")
    if any(r["decision"] is None for r in report["sev2_review"]):
        required.append("decide each SEV2 without a case: open a case, or note it as isolated")
    if report["baseline_candidates"]:
        required.append("an O3 proposes the candidates' baselines; another O3 approves")
    return Notice(kind=KIND, subject=subject(label), subject_kind=SUBJECT_KIND,
                  channel=ctx.settings.slack.channels.ops_review, text="\n".join(summary_lines(written)),
                  fields={"required": required, "actions": actions,
                          "files": [{"path": str(ctx.data_dir / written.chart),
                                     "title": f"Weekly credit review {label}"}]},
                  update_original=True, suppressible=False)


def audit_lines(written: WrittenReport) -> list[str]:
    report = written.report or {}
    lines = [f"{report['report'].capitalize()} audit report {report['period']['label']}: {written.path} "
             f"(sha256 {written.sha256[:12]}…)"]
    if report["report"] == "monthly":
        fp = report["pii_false_positives"]
        rate = f"{fp['rate']:.1%}" if fp["rate"] is not None else "no rate (no SEV0 quarantine)"
        lines += [f"Approvals: {len(report['approval_trail'])}; baseline changes: {len(report['baseline_changes'])}; "
                  f"policy changes: {len(report['policy_configuration_changes']['changes'])}",
                  f"PII false positives: {fp['released_as_false_positive']} of {fp['sev0_quarantines']} SEV0 "
                  f"quarantines: {rate}",
                  f"Findings: {len(report['findings'])}"]
        lines += [f"  • [{f['rule']}] {f['detail']}" for f in report["findings"][:MAX_LISTED]]
    else:
        legit = report["sev1_closed_as_legit_load"]
        lines += ["Variance by severity: " + ("; ".join(
            f"{s} n={d['count']} median {d['median']}× p90 {d['p90']}×"
            for s, d in report["variance_by_severity"].items()) or "no runs"),
            f"SEV1 resolved: {legit['sev1_resolved']}, as Legit Load: {legit['legit_load']}",
            f"Resolved cases in the likelihood/root-cause table: {report['misconfig_likelihood_vs_root_cause']['cases']}"]
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _times(value: float | None) -> str:
    return f"{value:.2f}×" if value is not None else "no baseline"
