"""`case list` and `runs list`: read-only queries with filters and `--json`, for people and for scripts.

Runs are listed from the runs index (`store.runs_index`), which keeps per run only its scenario,
severity, Started_At and where its ledger line is, so a listing never parses the whole ledger into
entries. Cases come from the state store. Both are shell-open: file access is the authority.
"""
from __future__ import annotations

import argparse
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from chatops.commands.credits import parse_when
from chatops.registry import Arg, Command, Invocation, Reply
from jobs.actors import Permission
from jobs.credits.records import Case, CaseStatus, Severity
from jobs.errors import Invalid

DEFAULT_LIMIT = 100
_AGO = re.compile(r"^([1-9][0-9]*)([hd])$")


def case_status(text: str) -> CaseStatus:
    """`open`, `Investigating`, `resolved`: the runbook's Status, in any letter case."""
    for status in CaseStatus:
        if status.value.lower() == text.strip().lower():
            return status
    raise argparse.ArgumentTypeError(f"status {text!r}: expected one of {', '.join(s.value for s in CaseStatus)}")


def severity(text: str) -> Severity:
    for level in Severity:
        if level.value.lower() == text.strip().lower():
            return level
    raise argparse.ArgumentTypeError(f"severity {text!r}: expected one of {', '.join(s.value for s in Severity)}")


def calendar_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"date {text!r}: expected YYYY-MM-DD, e.g. 2026-11-22") from None


def limit(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"--limit {text!r}: expected a whole number >= 0 (0 lists all)")
    return int(text)


def case_json(case: Case) -> dict[str, Any]:
    """A case with the runbook's field names (CASES), times in RFC 3339 with offset."""
    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None
    return {"Case_ID": case.case_id, "Severity": case.severity.value, "Status": case.status.value,
            "Scenario_ID": case.scenario_id, "Run_ID": case.run_id, "Related_Run_IDs": list(case.related_run_ids),
            "Opened_At": when(case.opened_at), "ACK_Required": case.ack_required, "ACK_Due_At": when(case.ack_due_at),
            "ACKed_By": case.acked_by or None, "ACKed_At": when(case.acked_at),
            "Root_Cause": case.root_cause.value if case.root_cause else None,
            "Rerun_Decision": case.rerun_decision.value if case.rerun_decision else None,
            "Quarantined_Run_IDs": list(case.quarantined_run_ids), "Slack_Thread_URL": case.slack_thread_url or None,
            "Resolved_At": when(case.resolved_at)}


def _case_list(inv: Invocation) -> Reply:
    from jobs.credits.cases.service import all_cases

    args = inv.args
    everything = args.all or args.status is not None
    cases = [c for c in all_cases(inv.ctx)
             if (everything or c.is_open) and (args.archived or c.archived_at is None)
             and (args.status is None or c.status is args.status)
             and (args.severity is None or c.severity is args.severity)
             and (args.scenario is None or c.scenario_id == args.scenario)]
    if args.json:
        import orjson   # only for --json: `chatops help` loads this module too
        return Reply(orjson.dumps([case_json(c) for c in cases], option=orjson.OPT_INDENT_2).decode())
    if not cases:
        filtered = args.status or args.severity or args.scenario
        return Reply("no cases match" if filtered else ("no cases" if everything else "no open cases"))
    lines = [f"{'case':<9} {'sev':<5} {'status':<14} {'scenario':<24} {'run':<28} ack / rerun"]
    for c in cases:
        ack = "ACKed" if c.acked_at else ("awaiting ACK" if c.awaiting_ack else "-")
        rerun = c.rerun_decision.value if c.rerun_decision else ("gate" if c.rerun_gate else "-")
        lines.append(f"{c.case_id:<9} {c.severity.value:<5} {c.status.value:<14} {c.scenario_id:<24} "
                     f"{c.run_id:<28} {ack} / {rerun}")
    return Reply("\n".join(lines))


def _runs_list(inv: Invocation) -> Reply:
    from store.runs_index import RunsIndex

    args, ctx = inv.args, inv.ctx
    if args.date is not None and args.since is not None:
        raise Invalid("runs list: give --date DAY or --since WHEN, not both")
    since = _since(args.since, ctx.now(), ctx.settings.timezone) if args.since else None
    index = RunsIndex.open(ctx.data_dir)
    matched = []
    for run_id in index.run_ids():
        info = index.get(run_id)
        if info is None or (args.scenario is not None and info.scenario_id != args.scenario) \
                or (args.severity is not None and info.severity != args.severity.value):
            continue
        if args.date is not None or since is not None:
            started = _started(info.started_at)
            if started is None or (since is not None and started < since) \
                    or (args.date is not None and ctx.local(started).date() != args.date):
                continue
        matched.append((run_id, info))
    matched.sort(key=lambda found: (_started(found[1].started_at) or _NEVER, found[1].seq), reverse=True)
    shown = matched if args.limit == 0 else matched[:args.limit]
    if args.json:
        import orjson   # only for --json: `chatops help` loads this module too
        return Reply(orjson.dumps([{"Run_ID": run_id, "Scenario_ID": info.scenario_id, "Severity": info.severity,
                                    "Started_At": info.started_at or None, "ledger_seq": info.seq}
                                   for run_id, info in shown], option=orjson.OPT_INDENT_2).decode())
    if not matched:
        return Reply("no runs match" if (args.scenario or args.severity or args.date or since) else
                     "no runs recorded")
    lines = [f"{'run':<32} {'sev':<11} {'scenario':<28} started ({ctx.settings.timezone})"]
    for run_id, info in shown:
        started = _started(info.started_at)
        when = ctx.local(started).strftime("%Y-%m-%d %H:%M %z") if started else "-"
        lines.append(f"{run_id:<32} {info.severity:<11} {info.scenario_id:<28} {when}")
    if len(shown) < len(matched):
        lines.append(f"… {len(matched) - len(shown)} more match (newest Started_At first; --limit 0 lists all)")
    return Reply("\n".join(lines))


_NEVER = datetime.min.replace(tzinfo=timezone.utc)


def _since(text: str, now: datetime, zone) -> datetime:
    """`6h` / `2d` ago, or an ISO time (read in the configured zone when it has no offset)."""
    match = _AGO.match(text.strip())
    if match:
        amount = int(match.group(1))
        try:
            return now - (timedelta(hours=amount) if match.group(2) == "h" else timedelta(days=amount))
        except OverflowError:
            raise Invalid(f"--since {text!r} reaches back before any date a run can have; "
                          "give a shorter span (e.g. 30d) or a date (e.g. 2026-11-01)") from None
    return parse_when(text, now, zone)


def _started(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


#: Refusals of these commands (Slack users without a role) are recorded in the credit ledger, beside the runs.
LEDGER = "credit"

SCENARIO = Arg("--scenario", "only this Scenario_ID", metavar="ID")
JSON = Arg("--json", "print JSON (an array of objects with the runbook's field names)", flag=True)

COMMANDS = [
    Command(("case", "list"), "open cases (all with --all); filters --severity, --status, --scenario; --json",
            Permission.RUN_READ, _case_list, shell_open=True,
            args=(Arg("--all", "include resolved cases", flag=True),
                  Arg("--archived", "include resolved cases the Monday sweep archived (resolved over 30 days ago)",
                      flag=True),
                  Arg("--severity", "only this severity: SEV0, SEV1, SEV2", type=severity, metavar="SEV"),
                  Arg("--status", "only this Status: Open, Investigating, Resolved (implies --all)",
                      type=case_status, metavar="STATUS"),
                  SCENARIO, JSON)),
    Command(("runs", "list"), "recorded runs, newest Started_At first; filters --date/--since, --scenario, --severity; --json",
            Permission.RUN_READ, _runs_list, shell_open=True,
            args=(Arg("--date", "only runs started on this day (YYYY-MM-DD, in the configured timezone)",
                      type=calendar_day, metavar="DAY"),
                  Arg("--since", "only runs started since: 6h, 2d (ago) or an ISO time", metavar="WHEN"),
                  SCENARIO,
                  Arg("--severity", "only this severity: SEV0, SEV1, SEV2, NORMAL, UNBASELINED", type=severity,
                      metavar="SEV"),
                  Arg("--limit", f"at most this many (default {DEFAULT_LIMIT}; 0 lists all)", type=limit,
                      default=DEFAULT_LIMIT, metavar="N"),
                  JSON)),
]
