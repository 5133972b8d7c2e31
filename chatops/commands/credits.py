"""Credit monitoring commands (seed 001), for the shell and `/ops`: runs, cases, reruns, quarantine, gate.

Thread replies on an alert reach the same commands: `ACK` → `case ack CASE-<id>`, `APPROVED for rerun -
<m>` → `rerun approve CASE-<id> --mitigation "<m>"`, `DENIED - <r>` → `rerun deny CASE-<id> --reason "<r>"`.
Handlers stay thin: parse, call `jobs.credits`, word the answer. Refusals, bad input and unknown cases are
`jobs.errors` exceptions that the surface maps once (the CLI to exit codes 3, 2 and 6); the domain has
already recorded refusals in the credit ledger. The domain is imported by each handler, not here: every
command (even `chatops help`) loads this module for its declarations, and only the one run pays for its code.
"""
from __future__ import annotations

import re
import sys
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chatops.commands import case_home
from chatops.registry import Arg, Command, Invocation, Reply, ReplyCommand
from jobs.actors import Permission
from jobs.errors import ExitCode
from jobs.credits.records import Case, GateDecision, ReleaseFinding, RerunDecision, RootCause, Severity
from jobs.errors import Invalid, NotFound

if TYPE_CHECKING:
    from jobs.credits.intake.recorder import Outcome

_DURATION = re.compile(r"^\+?([1-9][0-9]*)([hd])$")


def _runs_record(inv: Invocation) -> Reply:
    from jobs.credits.intake.recorder import Recorder
    from jobs.credits.intake.sources import parse_records, read_source

    stdin = sys.stdin.buffer.read() if inv.args.file == "-" else None
    source, data = read_source(inv.args.file, stdin)
    outcomes = Recorder(inv.ctx).record(parse_records(data, source), inv.actor)
    if inv.args.json:
        import orjson   # only for --json: `chatops help` loads this module too
        return Reply(orjson.dumps([o.to_json() for o in outcomes], option=orjson.OPT_INDENT_2).decode())
    return Reply(record_report(outcomes, inv.args.verbose), 0 if all(o.recorded for o in outcomes) else 1)


def _outcome_lines(o: Outcome) -> list[str]:
    if not o.recorded:
        return [f"not recorded: {o.message}"]
    return [o.message, f"  file: {o.artifact}" + (f"  case: {o.case_id}" if o.case_id else "")]


def _needs_a_person(o: Outcome) -> bool:
    """Listed even in a summary: a rejected run, and a SEV0/SEV1 run (an alert someone must answer)."""
    return not o.recorded or o.severity in (Severity.SEV0, Severity.SEV1)


def record_report(outcomes: list[Outcome], verbose: bool = False) -> str:
    """One run: its lines. A batch: the runs that need a person (all with --verbose), then one summary.

    A batch of 5,000 runs printed 10,000 lines and no total; the summary is what a person reads, and
    the details of ordinary runs stay one flag (or `--json`) away.
    """
    if len(outcomes) <= 1:
        return "\n".join(line for o in outcomes for line in _outcome_lines(o)) or "no runs in the input"
    shown = [o for o in outcomes if verbose or _needs_a_person(o)]
    lines = [line for o in shown for line in _outcome_lines(o)]
    recorded = [o for o in outcomes if o.recorded]
    by_severity = Counter(o.severity for o in recorded)
    counts = ", ".join(f"{level.value} {by_severity[level.value]:,}" for level in Severity if by_severity[level.value])
    cases = list(dict.fromkeys(o.case_id for o in recorded if o.case_id))
    rejected = len(outcomes) - len(recorded)
    summary = [f"recorded {len(recorded):,} of {len(outcomes):,} runs" + (f": {counts}" if counts else "")]
    if cases:
        listed = ", ".join(cases[:10]) + (f" and {len(cases) - 10:,} more" if len(cases) > 10 else "")
        summary.append(f"in cases: {listed}")
    if rejected:
        summary.append(f"not recorded: {rejected:,} (listed above)")
    hidden = len(outcomes) - len(shown)
    if hidden:
        summary.append(f"details of the other {hidden:,} runs: add --verbose (or --json)")
    return "\n".join(lines + ["; ".join(summary)])


def _runs_restore_files(inv: Invocation) -> Reply:
    from jobs.credits.intake.restore_files import restore_run_files

    done = restore_run_files(inv.ctx, inv.actor)
    lines = [f"checked the files of {done.checked} run(s) recorded after the durable mark; "
             f"{len(done.rewritten)} rewritten from the credit ledger, {len(done.unrecoverable)} not rebuildable; "
             f"mark now at ledger seq {done.through_seq}"]
    lines += [f"  rewritten: {run_id}" for run_id in done.rewritten]
    lines += [f"  not rebuildable (see chatops ledger verify --artifacts 7): {run_id}" for run_id in done.unrecoverable]
    return Reply("\n".join(lines), 1 if done.unrecoverable else 0)


def _describe(case: Case, ctx) -> str:
    def when(moment):
        return ctx.local(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else "-"
    decision = (f"{case.rerun_decision.value} by {case.rerun_decided_by}: {case.rerun_decision_text}"
                if case.rerun_decision else ("required, not given" if case.rerun_gate else "not required"))
    lines = [
        f"{case.case_id}  {case.severity.value}  Status: {case.status.value}",
        f"  Scenario_ID      {case.scenario_id}",
        f"  Run_ID           {case.run_id}",
        f"  Related_Run_IDs  {', '.join(case.related_run_ids)}",
        f"  Opened           {when(case.opened_at)}",
        "  ACK              " + (f"by {case.acked_by} at {when(case.acked_at)}" if case.acked_at else
                                  (f"due {when(case.ack_due_at)} ({case.reminders_sent} reminders sent)"
                                   if case.ack_required else "not required")),
        f"  Root_Cause       {case.root_cause.value if case.root_cause else '-'}"
        + (f" (proposed: {case.proposed_root_cause.value})" if case.proposed_root_cause else ""),
        f"  Rerun            {decision}",
        f"  Quarantined      {', '.join(case.quarantined_run_ids) or '-'}",
        f"  Escalations      {case.escalations}",
        f"  Slack_Thread_URL {case.slack_thread_url or '-'}",
        f"  Resolved_At      {when(case.resolved_at)}",
    ]
    if case.notes:
        lines.append("  Notes:")
        lines += [f"    {when(n.at)} {n.by}: {n.text}" for n in case.notes]
    return "\n".join(lines)


def _case_show(inv: Invocation) -> Reply:
    from jobs.credits.cases.service import load

    return Reply(_describe(load(inv.ctx.state.snapshot(), inv.args.case), inv.ctx))


def _case_ack(inv: Invocation) -> Reply:
    from jobs.credits.cases import flows

    case = flows.ack(inv.ctx, inv.actor, inv.args.case)
    return Reply(f"ACK recorded: {inv.actor.name} investigating {case.case_id} (Status: {case.status.value})")


def _case_note(inv: Invocation) -> Reply:
    from jobs.credits.cases import flows

    case = flows.note(inv.ctx, inv.actor, inv.args.case, inv.args.text, inv.args.slack_thread_url or "")
    return Reply(f"note added to {case.case_id} ({len(case.notes)} notes)")


def parse_root_cause(text: str) -> RootCause:
    wanted = re.sub(r"[\s_-]+", " ", text.strip()).lower()
    for cause in RootCause:
        if cause.value.lower() == wanted:
            return cause
    raise Invalid(f"root cause {text!r}: expected one of " + ", ".join(f'"{c.value}"' for c in RootCause))


def _case_root_cause(inv: Invocation) -> Reply:
    from jobs.credits.cases import flows

    case = flows.root_cause(inv.ctx, inv.actor, inv.args.case, parse_root_cause(inv.args.cause),
                              inv.args.note or "")
    if case.root_cause is not None and case.notes[-1].kind == "root_cause":
        return Reply(f"{case.case_id}: Root_Cause = {case.root_cause.value} (Status: {case.status.value})")
    return Reply(f"{case.case_id}: root cause {case.proposed_root_cause.value if case.proposed_root_cause else ''} "
                 f"proposed; an O3 confirms it with `chatops case root-cause {case.case_id} \"<cause>\"`")


def _case_resolve(inv: Invocation) -> Reply:
    from jobs.credits.cases import flows

    case = flows.resolve(inv.ctx, inv.actor, inv.args.case, inv.args.summary)
    return Reply(f"{case.case_id} resolved at {inv.ctx.local(case.resolved_at):%Y-%m-%d %H:%M %Z}")


def _rerun_approve(inv: Invocation) -> Reply:
    from jobs.credits.cases import flows

    case = flows.decide_rerun(inv.ctx, inv.actor, inv.args.case, RerunDecision.APPROVED, inv.args.mitigation)
    return Reply(f"APPROVED for rerun - {case.rerun_decision_text} ({case.case_id}, {case.approval_id})")


def _rerun_deny(inv: Invocation) -> Reply:
    from jobs.credits.cases import flows

    case = flows.decide_rerun(inv.ctx, inv.actor, inv.args.case, RerunDecision.DENIED, inv.args.reason)
    return Reply(f"DENIED - {case.rerun_decision_text} ({case.case_id}, {case.approval_id})")


def _quarantine_release(inv: Invocation) -> Reply:
    from jobs.credits.cases import flows

    path = flows.release_quarantine(inv.ctx, inv.actor, inv.args.run_id, ReleaseFinding(inv.args.finding),
                                      inv.args.reason)
    return Reply(f"released {inv.args.run_id} from quarantine to {path}; downstream dispatch unblocked")


def parse_when(text: str, now: datetime, zone) -> datetime:
    """`6h`, `2d` (from now), or an ISO time; a time without offset is read in the configured zone."""
    match = _DURATION.match(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        try:
            return now + (timedelta(hours=amount) if unit == "h" else timedelta(days=amount))
        except OverflowError:
            raise Invalid(f"time {text!r} is beyond the last date a clock can show; "
                          "give a shorter span (e.g. 6h or 2d) or an ISO time") from None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"time {text!r}: expected 6h, 2d, or an ISO time such as 2026-11-23T18:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _new_scenario_note(inv: Invocation, scenario_id: str) -> str:
    """Said (not refused) when a setting names a scenario nothing else knows: a typo would otherwise leave
    the intended scenario unchanged without a word. Settings ahead of a first run are allowed."""
    from jobs.credits import gates
    from store.runs_index import RunsIndex

    index = RunsIndex.open(inv.ctx.data_dir)
    known = gates.known_scenarios(inv.ctx, index)
    if scenario_id in known:
        return ""
    close = gates.closest(scenario_id, known)
    return (f"\nnote: {scenario_id} has no recorded run, baseline or case yet"
            + (f" (closest known: {', '.join(close)}); if you meant that one, undo this and set it there" if close
               else ""))


def _backfill_on(inv: Invocation) -> Reply:
    from jobs.credits.cases import flows

    ctx = inv.ctx
    note = _new_scenario_note(inv, inv.args.scenario)
    now = ctx.now()
    start = parse_when(inv.args.start, now, ctx.settings.timezone) if inv.args.start else None
    end = parse_when(inv.args.until, now, ctx.settings.timezone)
    settings = flows.set_backfill(ctx, inv.actor, inv.args.scenario, True, start, end, inv.args.reason)
    window = settings.backfill
    span = (f"from {ctx.local(window.start):%Y-%m-%d %H:%M %Z} until {ctx.local(window.end):%Y-%m-%d %H:%M %Z}"
            if window else "")
    return Reply(f"backfill mode on for {inv.args.scenario} {span}: SEV1 at "
                 f"{ctx.settings.credits.backfill_sev1_multiplier:g}× instead of "
                 f"{ctx.settings.credits.sev1_multiplier:g}×, legit bonus {ctx.settings.credits.backfill_legit_bonus:g}"
                 + note)


def _backfill_off(inv: Invocation) -> Reply:
    from jobs.credits.cases import flows

    flows.set_backfill(inv.ctx, inv.actor, inv.args.scenario, False, reason=inv.args.reason or "")
    return Reply(f"backfill mode off for {inv.args.scenario}")


def _scenario_set(inv: Invocation) -> Reply:
    from jobs.credits.cases import flows

    note = _new_scenario_note(inv, inv.args.scenario)
    settings = flows.set_scenario(inv.ctx, inv.actor, inv.args.scenario, inv.args.key, inv.args.value)
    return Reply(f"{settings.scenario_id}: max_items = {settings.max_items} "
                 f"(config/scenarios/{settings.scenario_id}.json)" + note)


def _gate_reply(inv: Invocation, decision: GateDecision) -> Reply:
    """Exit 0 allowed, 1 blocked, 6 (not found) when the id is neither a recorded run nor a known scenario."""
    code = 0 if decision.allowed else (ExitCode.CHECK_FAILED if decision.known else ExitCode.NOT_FOUND)
    if inv.args.json:
        import orjson   # only for --json: `chatops help` loads this module too
        return Reply(orjson.dumps(decision.to_json()).decode(), int(code))
    return Reply(decision.describe(), int(code))


def _gate_dispatch(inv: Invocation) -> Reply:
    from jobs.credits import gates
    from store.run_lookup import open_runs   # the index on disk: one run found without reading the ledger

    return _gate_reply(inv, gates.run_gate(inv.ctx, inv.args.run_id, open_runs(inv.ctx.data_dir)))


def _gate_rerun(inv: Invocation) -> Reply:
    from jobs.credits import gates
    from store.run_lookup import open_runs

    return _gate_reply(inv, gates.rerun_gate(inv.ctx, inv.args.scenario, open_runs(inv.ctx.data_dir)))


def _runs_show(inv: Invocation) -> Reply:
    from jobs.credits import gates
    from jobs.credits.cases.service import case_for_run
    from store.run_lookup import open_runs

    index = open_runs(inv.ctx.data_dir)
    info = index.get(inv.args.run_id)
    if info is None:
        raise NotFound(gates.no_such_run(inv.args.run_id, inv.ctx, index))
    path, sha = index.artifact_of(inv.args.run_id) or ("", "")
    case = case_for_run(inv.ctx.state.snapshot(), inv.args.run_id)
    return Reply(f"{inv.args.run_id}  {info.severity}  scenario {info.scenario_id}  ledger seq {info.seq}\n"
                 f"  file   {path}\n  sha256 {sha}" + (f"\n  case   {case.case_id}" if case else ""))


_CASE = Arg("case", "case id, e.g. CASE-12", required=True, subject="case")

#: Refusals of these commands are recorded in the credit ledger, beside the runs they concern.
LEDGER = "credit"

def _read_case_reply(case: str, message: str) -> ReplyCommand | None:
    """`case_replies.read`, loaded by the first thread reply: its forms are Slack's alone."""
    from chatops.commands import case_replies

    return case_replies.read(case, message)


#: The replies a case's thread accepts (`ACK`, `APPROVED for rerun - …`, `DENIED - …`).
REPLIES = {"case": _read_case_reply}

#: What the App Home shows a person about open cases that wait for them.
HOME = (case_home.open_cases_section,)

COMMANDS = [
    Command(("runs", "record"), "record agent runs from a JSON file (one object or an array) or - for stdin",
            Permission.RUN_RECORD, _runs_record, slack=False,
            args=(Arg("file", "path to the run record JSON, or - to read standard input", required=True,
                      subject="file"),
                  Arg("--json", "print the outcome as JSON", flag=True),
                  Arg("--verbose", "list every run of a batch (without it: only rejected and SEV0/SEV1 runs, "
                      "then a summary)", flag=True))),
    Command(("runs", "restore-files"), "rewrite from the credit ledger the run files a power loss took after the "
            "last sync (the daemon does this at start)", Permission.RUN_RECORD, _runs_restore_files,
            slack=False, subject_kind="runs", subject_id="run files recorded after the durable mark"),
    Command(("runs", "show"), "where a recorded run's file is, its hash, severity and case", Permission.RUN_READ,
            _runs_show, args=(Arg("run_id", "the Run_ID", required=True, subject="run"),), shell_open=True),
    Command(("case", "show"), "a case with the runbook's fields and its notes", Permission.RUN_READ,
            _case_show, args=(_CASE,), shell_open=True),
    Command(("case", "ack"), "acknowledge a SEV0/SEV1 alert (stops re-notification)", Permission.CASE_ACK,
            _case_ack, args=(_CASE,)),
    Command(("case", "note"), "add a case note (assessment, mitigation, evidence); set the Slack thread URL",
            Permission.CASE_NOTE, _case_note,
            args=(_CASE, Arg("text", "the note", required=True),
                  Arg("--slack-thread-url", "the alert thread's URL (Slack_Thread_URL)"))),
    Command(("case", "root-cause"), "set Root_Cause (O3) or propose it (O2): Misconfig, \"Legit Load\", "
                                    "\"External Dependency\", Unknown", Permission.CASE_NOTE,
            _case_root_cause,
            args=(_CASE, Arg("cause", "Misconfig | \"Legit Load\" | \"External Dependency\" | Unknown", required=True),
                  Arg("--note", "why"))),
    Command(("case", "resolve"), "resolve a case: Status Resolved, Resolved_At set (needs Root_Cause)",
            Permission.CASE_RESOLVE, _case_resolve,
            args=(_CASE, Arg("--summary", "what was mitigated", required=True))),
    Command(("rerun", "approve"), "APPROVED for rerun - <mitigation> (O3)", Permission.RERUN_DECIDE,
            _rerun_approve,
            args=(_CASE, Arg("--mitigation", "what was fixed, e.g. \"max_items limit added\"", required=True))),
    Command(("rerun", "deny"), "DENIED - <reason> (O3)", Permission.RERUN_DECIDE, _rerun_deny,
            args=(_CASE, Arg("--reason", "why not, e.g. \"root cause not yet identified\"", required=True))),
    Command(("quarantine", "release"), "move a run's artifacts out of quarantine once the criteria are met (O3)",
            Permission.QUARANTINE_RELEASE, _quarantine_release,
            args=(Arg("run_id", "the quarantined Run_ID", required=True, subject="run"),
                  Arg("--finding", "false-positive (no real exposure) or mitigated (e.g. data redacted)",
                      required=True, choices=[f.value for f in ReleaseFinding]),
                  Arg("--reason", "evidence and what was done", required=True))),
    Command(("backfill", "on"), "backfill mode for a scenario until a time (relaxed SEV1, legit bonus) (O3)",
            Permission.BACKFILL_SET, _backfill_on,
            args=(Arg("scenario", "Scenario_ID", required=True, subject="scenario"),
                  Arg("--until", "end: 6h, 2d or an ISO time", required=True),
                  Arg("--start", "start (default now): an ISO time"),
                  Arg("--reason", "what is reprocessed and why", required=True))),
    Command(("backfill", "off"), "end backfill mode for a scenario now (O3)", Permission.BACKFILL_SET,
            _backfill_off,
            args=(Arg("scenario", "Scenario_ID", required=True, subject="scenario"), Arg("--reason", "why it ends"))),
    Command(("scenario", "set"), "change a scenario setting, e.g. max_items 1000 (O3)", Permission.SCENARIO_SET,
            _scenario_set,
            args=(Arg("scenario", "Scenario_ID", required=True, subject="scenario"),
                  Arg("key", "max_items", required=True),
                  Arg("value", "the new value", required=True))),
    Command(("gate", "dispatch"), "may downstream work of this run be dispatched? (exit 0 allowed, 1 blocked, "
            "6 unknown run)", Permission.RUN_READ, _gate_dispatch,
            args=(Arg("run_id", "the Run_ID", required=True, subject="run"),
                  Arg("--json", "answer as JSON", flag=True)), shell_open=True),
    Command(("gate", "rerun"), "may this scenario be (re)run? (exit 0 allowed, 1 blocked, 6 unknown scenario)",
            Permission.RUN_READ, _gate_rerun,
            args=(Arg("scenario", "the Scenario_ID", required=True, subject="scenario"),
                  Arg("--json", "answer as JSON", flag=True)), shell_open=True),
]
