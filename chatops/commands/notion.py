"""`notion status [--json]` / `notion sync` / `notion check`: the Notion mirror of RUNS_LEDGER and CASES.

The runbook's "Notion sync failing" as commands: `status` shows what waits (the sync lag), the last
error and what Notion refused; `check` says whether the token and both databases are right, naming each
missing or mistyped property with its fix; `sync` delivers now, after a fix. `status` and `check` only
read (shell-open); `sync` sends with the daemon's token (O2, O3). The logic is jobs/notion/flows.py.
"""
from __future__ import annotations

import json

from chatops.registry import Arg, Command, Invocation, Reply
from jobs.actors import Permission
from store.errors import ExitCode


def _status(inv: Invocation) -> Reply:
    from jobs.notion import flows

    report = flows.status(inv.ctx)
    if inv.args.json:
        queue = report.queue
        return Reply(json.dumps({
            "live": report.live, "pending": queue.pending, "oldest_pending_at": queue.oldest_pending_at or None,
            "sync_lag_seconds": queue.oldest_pending_seconds, "last_error": queue.last_error or None,
            "last_error_at": queue.last_error_at or None, "failing_since": queue.failing_since or None,
            "parked": [{"id": p.id, "subject": p.subject, "parked_at": p.parked_at, "message": p.message}
                       for p in queue.parked]}, indent=2, ensure_ascii=False))
    return Reply("\n".join(report.describe()))


def _sync(inv: Invocation) -> Reply:
    from jobs.notion import flows

    settled, report = flows.sync(inv.ctx, flows.require_env())
    remaining = report.queue.pending
    lines = [f"{settled} change(s) written to Notion or settled; {remaining} still pending", *report.describe()]
    return Reply("\n".join(lines), 0 if not remaining else int(ExitCode.CHECK_FAILED))


def _check(inv: Invocation) -> Reply:
    from jobs.notion import flows

    lines = flows.check(inv.ctx, flows.require_env())
    text = "\n".join(("ok   " if line.ok else "FAIL ") + line.text for line in lines)
    return Reply(text, 0 if all(line.ok for line in lines) else int(ExitCode.CHECK_FAILED))


COMMANDS = [
    Command(("notion", "status"), "the Notion mirror: pending changes, sync lag, last error, parked changes",
            Permission.NOTION_READ, _status, shell_open=True,
            args=(Arg("--json", "print the status as JSON", flag=True),), subject_kind="notion", subject_id="notion",
            example='notion status --json'),
    Command(("notion", "sync"), "write the Notion mirror's pending changes now (O2, O3)",
            Permission.NOTION_SYNC, _sync, slack=False, subject_kind="notion", subject_id="notion",
            description="Deliver the pending run and case changes to Notion now, in this process, within the "
                        "rate limit; stops at the first wait (a 429, an outage) and says what remains (exit 1 "
                        "while changes remain). Needs NOTION_TOKEN, NOTION_RUNS_LEDGER_DB_ID, NOTION_CASES_DB_ID.",
            example='notion sync --as ben'),
    Command(("notion", "check"), "is the Notion token valid, are both databases reachable with every property?",
            Permission.NOTION_READ, _check, shell_open=True, slack=False, subject_kind="notion", subject_id="notion",
            description="Checks NOTION_TOKEN, then RUNS_LEDGER and CASES: reachable, and every property the "
                        "mirror writes present with its type; each problem is named with its fix (exit 1).",
            example='notion check'),
]
