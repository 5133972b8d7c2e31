"""What the sweep and the CEO summary say: Notices (plain text complete; Block Kit from their fields)."""
from __future__ import annotations

from datetime import date

from jobs.context import Context
from jobs.notices import Notice
from jobs.sweep.records import Finding, Level, Sweep

SUBJECT_PREFIX = "SWEEP-"


def finding_notice(finding: Finding) -> Notice:
    """A new finding, posted once where it belongs; a gap's buttons run `export run` for each gap day."""
    fields: dict[str, list[dict[str, str]]] = {}
    if finding.actions:
        fields["actions"] = [{"label": a.label, "command": a.command, "target": a.target} for a in finding.actions]
    return Notice(kind="sweep.finding", subject=f"{SUBJECT_PREFIX}{finding.key}", channel=finding.channel,
                  dm_to=finding.dm_to, text=f"Morning sweep: {finding.text}", fields=fields,
                  suppressible=finding.level is not Level.CRITICAL)


def report_lines(sweep: Sweep) -> list[str]:
    today = date.fromisoformat(sweep.date)
    if not sweep.findings:
        lines = [f"Morning sweep {sweep.date}: nothing found."]
    else:
        new = len(sweep.new)
        lines = [f"Morning sweep {sweep.date}: {len(sweep.findings)} finding(s), {new} new, "
                 f"{len(sweep.findings) - new} still open."]
        order = {Level.CRITICAL: 0, Level.ACTION: 1, Level.INFO: 2}
        for f in sorted(sweep.findings, key=lambda f: (order[f.level], f.key)):
            lines.append(f"- [{f.level.value}] {f.text} ({f.age_text(today)}; {f.key})")
    if sweep.cleared:
        lines.append("Cleared since the last sweep: " + ", ".join(sweep.cleared))
    return lines


def report_notice(ctx: Context, sweep: Sweep) -> Notice:
    """The whole sweep in the review channel: new findings say so, the others how long they have been open."""
    return Notice(kind="sweep.report", subject=f"{SUBJECT_PREFIX}{sweep.date}",
                  channel=ctx.settings.slack.channels.ops_review, text="\n".join(report_lines(sweep)))
