"""The credit ledger as credit monitoring uses it: who acted with which role, and the area's subjects.

docs/architecture.md §3: resolve the actor, pass the gate (`jobs.actors.authorize`), append to the ledger, then
change state and notify. Cases, runs and scenarios are subjects of this area: a refusal about one is
recorded by the gate in the credit ledger, beside the runs it concerns. `refuse` words a refusal by one
of the runbook's rules (e.g. `rerun approve` before ACK) and records it through the same gate.
"""
from __future__ import annotations

from jobs.actors import Actor, Entries, Permission, Subject
from jobs.actors import refuse as record_refusal
from jobs.audit import LedgerName
from jobs.context import Context
from jobs.errors import ChatopsError, Refused

CREDIT = LedgerName.CREDIT.value


class CreditsRefused(Refused):
    """A refusal by a runbook rule, worded for the person refused: what, why, and what to do first."""


def ledger(ctx: Context):
    """The signed credit ledger (`runs/CREDIT_MONITORING/audit/ledger.jsonl`); its `run.recorded` entries
    also make the runbook's run log, `runs/CREDIT_MONITORING/ledger.jsonl` (store.ledger.view)."""
    return ctx.ledgers.credit


def case_subject(case_id: str, run_id: str = "") -> Subject:
    return Subject("case", case_id, CREDIT, run_id)


def run_subject(run_id: str) -> Subject:
    return Subject("run", run_id, CREDIT, run_id)


def scenario_subject(scenario_id: str) -> Subject:
    return Subject("scenario", scenario_id, CREDIT)


def who(actor: Actor, permission: Permission) -> tuple[str, str | None]:
    """The ledger's `actor` and `role` for this action (`daemon` acts with no role)."""
    if actor.is_daemon:
        return actor.ledger_id, None
    return actor.ledger_id, actor.role_for(permission) or None


def refuse(ctx: Context, actor: Actor, permission: Permission, action: str, subject: Subject,
           reason: str | ChatopsError, entries: Entries | None = None) -> ChatopsError:
    """Record a runbook-rule refusal (in the caller's open commit when given) and return it to raise.

    `reason` is the rule's sentence (raised as a `CreditsRefused`, exit 3), or the error itself when what
    was refused is a bad value (`Invalid`, 2) or the subject's state (`Conflict`, 7): the person's exit
    code says which, and the ledger records the refusal either way."""
    error = reason if isinstance(reason, ChatopsError) else CreditsRefused(f"{action} refused: {reason}")
    record_refusal(ctx, actor, permission, action, subject, error, entries)
    return error
