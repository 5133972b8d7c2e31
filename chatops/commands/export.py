"""`export run|status|merge|hold|rescrub` — the 05:00 session export by hand (seed 000, issue 22).

`run` is what the daemon does at 05:00, for today or a missed day (`--date`, seed 000 §5's gap days);
`merge`, `hold` and `rescrub` act on a day's PR under §3's policy, decided in jobs/export/policy.py.
The PR's Slack thread takes `MERGE` and `HOLD - <reason>` replies, and its message has Merge and Hold
buttons; both reach the same commands through the same gate.
"""
from __future__ import annotations

import json
import re

from chatops.registry import Arg, Command, Invocation, MalformedReply, Reply, ReplyCommand
from jobs.actors import Permission

SUBJECT_KIND = "export_pr"      # jobs.export.messages.SUBJECT_KIND, spelt here so help loads no export code
_PR = re.compile(r"^(?:#|pr-?|export-pr-)?(\d+)$", re.I)
_MERGE = re.compile(r"^merge\b\s*$", re.I)
_HOLD = re.compile(r"^hold\b(?P<rest>.*)$", re.I | re.S)
_HOLD_FULL = re.compile(r"^\s*[-\u2010-\u2015:]+\s*(?P<text>\S.*)$", re.S)
HOLD_FORM = "HOLD - <reason>"


def pr_number(text: str) -> int:
    match = _PR.match(str(text).strip())
    if not match:
        raise ValueError("expected a PR number such as 7 or #7 (chatops export status lists them)")
    return int(match[1])


def _bar(inv: Invocation):
    def show(event) -> None:
        if event.step.endswith(".scanned"):
            return
        if event.total:
            filled = int(30 * event.done / event.total)
            inv.progress(f"export {event.step} [{'#' * filled}{'.' * (30 - filled)}] {event.done}/{event.total} "
                         "sessions")
        else:
            inv.progress(f"export: {event.step}")
    return show


def _run(inv: Invocation) -> Reply:
    from jobs.export import flows

    date = flows.parse_date(inv.ctx, inv.args.date)
    if inv.args.dry_run:
        dry = flows.dry_run(inv.ctx, inv.actor, date, _bar(inv))
        if not dry.files:
            return Reply(f"dry run {date}: no session to export ({len(dry.deferred)} still live, deferred); "
                         "nothing changed")
        g = dry.grading
        return Reply(f"dry run {date}: {len(dry.files)} session file(s) would be exported, {len(dry.deferred)} "
                     f"deferred; their clean copies would grade {g.grade} ({g.flags} flag(s), rules "
                     f"{g.rules_version}); nothing changed")
    day = flows.run_export(inv.ctx, inv.actor, date, _bar(inv))
    return Reply(_summary(day))


def _summary(day) -> str:
    from jobs.export import messages

    if not day.pr:
        return f"export {day.date}: no session exported ({len(day.deferred)} still live, deferred); no PR opened"
    lines = [f"export {day.date}: Scrub confidence {day.grading.grade} · {day.grading.sessions} session file(s) "
             f"({len(day.files)} this run, {len(day.deferred)} deferred) · {day.grading.flags} flag(s) · "
             f"PR #{day.pr} {day.disposition.value}"]
    lines += [f"  {item}" for item in messages.required(day)]
    return "\n".join(lines)


#: `export status` in words a reader needs no table for (the JSON keeps the disposition's value).
_STATE_WORDS = {"pending": "not decided yet", "auto": "merged (HIGH, automatically)", "review":
                "waiting for chief.staff to merge", "held": "held", "manual": "merged by {who}",
                "empty": "nothing to export"}


def _status(inv: Invocation) -> Reply:
    from jobs.export import service

    days = service.all_days(inv.ctx)
    if inv.args.json:
        return Reply(json.dumps([{"date": d.date, "step": d.step.value, "runs": d.runs, "grade": d.grading.grade,
                                  "sessions": d.grading.sessions, "flags": d.grading.flags, "pr": d.pr,
                                  "disposition": d.disposition.value, "hold_reason": d.hold_reason,
                                  "incident": d.incident,
                                  "deferred": len(d.deferred)} for d in days], indent=2))
    if not days:
        return Reply("no export has run yet; the daemon runs it daily at 05:00, or `chatops export run --as NAME`")
    lines = []
    for d in days:
        state = _STATE_WORDS.get(d.disposition.value, d.disposition.value).format(who=d.decided_by or "a person")
        if d.step.value != "finished":
            state = f"interrupted after {d.step.value}"
        pr = f"PR #{d.pr}" if d.pr else "no PR"
        lines.append(f"{d.date}  {d.grading.grade or '-':<6} {d.grading.sessions:>4} session file(s)  "
                     f"{d.grading.flags:>3} flag(s)  {pr:<7} {state}"
                     + (f"  {d.incident}" if d.incident else "") + (f"  held: {d.hold_reason}" if d.hold_reason else ""))
    return Reply("\n".join(lines))


def _credential(inv: Invocation) -> Reply:
    from jobs.export import flows

    active = inv.args.active == "yes"
    day = flows.assess_credential(inv.ctx, inv.actor, inv.args.pr, active, " ".join(inv.args.note))
    if active:
        return Reply(f"PR #{day.pr} ({day.date}): credential confirmed active; emergency rotation flagged, "
                     "code.platform, security.ops and the CEO told")
    return Reply(f"PR #{day.pr} ({day.date}): credential recorded as not active; the ruleset patch and "
                 f"`chatops export rescrub {day.pr}` still follow")


def _merge(inv: Invocation) -> Reply:
    from jobs.export import flows

    day = flows.merge_pr(inv.ctx, inv.actor, inv.args.pr)
    return Reply(f"PR #{day.pr} ({day.date}, {day.grading.grade}) merged into main by {inv.actor.name}")


def _hold(inv: Invocation) -> Reply:
    from jobs.export import flows

    day = flows.hold_pr(inv.ctx, inv.actor, inv.args.pr, " ".join(inv.args.reason))
    return Reply(f"PR #{day.pr} ({day.date}) held: {day.hold_reason}")


def _rescrub(inv: Invocation) -> Reply:
    from jobs.export import flows

    day = flows.rescrub_pr(inv.ctx, inv.actor, inv.args.pr, _bar(inv))
    return Reply(_summary(day))


def read(subject: str, message: str) -> ReplyCommand | None:
    """A reply in a PR's thread: `MERGE`, or `HOLD - <reason>`; anything else is conversation."""
    text = message.strip().strip("*_~`> \t\n")
    pr = str(pr_number(subject))
    if _MERGE.match(text):
        return ReplyCommand(("export", "merge"), {"pr": pr}, "MERGE")
    if match := _HOLD.match(text):
        full = _HOLD_FULL.match(match["rest"])
        if not full:
            raise MalformedReply(f"a hold needs the reason: reply `{HOLD_FORM}`")
        return ReplyCommand(("export", "hold"), {"pr": pr, "reason": [" ".join(full["text"].split())]}, "HOLD")
    return None


REPLIES = {SUBJECT_KIND: read}

_PR_ARG = Arg("pr", "the day's PR number (chatops export status)", type=pr_number, required=True, metavar="PR",
              subject=SUBJECT_KIND)

COMMANDS = [
    Command(("export", "run"), "run the session export now: collect, scrub, commit, PR, policy (seed 000)",
            Permission.EXPORT_RUN, _run, subject_kind="export_day", args=(
                Arg("--date", "the export date YYYY-MM-DD (default today; a missed day for a gap-day run)",
                    metavar="D", subject="export_day"),
                Arg("--dry-run", "show what would be exported and how it would grade; change nothing", flag=True)),
            description="The daemon's 05:00 job by hand: collect new or grown transcripts, scrub them in place, "
                        "commit clean copies on export/<date>, open or update the day's PR and apply the tiered "
                        "merge policy. An interrupted run of the date is finished first.",
            example='export run --dry-run --as ben'),
    Command(("export", "status"), "each export day: grade, sessions, flags, PR and its state",
            Permission.EXPORT_READ, _status, shell_open=True, subject_kind="export_day", subject_id="all",
            args=(Arg("--json", "print as JSON", flag=True),),
            example='export status --json'),
    Command(("export", "merge"), "merge a day's export PR into main (chief.staff; the COO for MEDIUM)",
            Permission.EXPORT_MERGE, _merge, args=(_PR_ARG,),
            description="Merge rights follow the grade (seed 000 §3): chief.staff merges HIGH and MEDIUM; the "
                        "COO approves MEDIUM; LOW and FAIL only after `export rescrub` grades them HIGH or MEDIUM.",
            example='export merge 7 --as ben'),
    Command(("export", "hold"), "hold a day's export PR with a reason (chief.staff or COO)",
            Permission.EXPORT_HOLD, _hold, args=(
                _PR_ARG, Arg("--reason", "why it must wait", required=True, nargs="+", metavar="TEXT")),
            example='export hold 7 --reason "secret in session 3, rules patched next" --as ben'),
    Command(("export", "rescrub"), "scrub a held PR's sessions again with the current rules and regrade it",
            Permission.EXPORT_RESCRUB, _rescrub, args=(_PR_ARG,),
            description="After code.platform patches the ruleset: the originals and the clean copies are scrubbed "
                        "again, regraded and the PR updated; HIGH or MEDIUM makes it mergeable by chief.staff.",
            example='export rescrub 7 --as lee'),
    Command(("export", "credential"), "say whether a credential found in a PR's clean output is active "
                                      "(security.ops or code.platform)",
            Permission.EXPORT_CREDENTIAL, _credential, args=(
                _PR_ARG,
                Arg("--active", "is the credential live?", choices=("yes", "no"), required=True),
                Arg("--note", "how it was established", required=True, nargs="+", metavar="TEXT")),
            description="Seed 000 §5: active means emergency rotation (code.platform and security.ops told now) "
                        "and the CEO told it is confirmed active; either way it is recorded in the operations "
                        "ledger. Only for a PR whose clean output holds a potential credential.",
            example='export credential 7 --active yes --note "key seen in use in the provider audit log" --as lee'),
]
