"""The credit ledger as credit monitoring uses it: who acted, with which role, and refusals.

docs/architecture.md §3: resolve the actor, check the permission, append to the ledger — refusals too — then
change state and notify. `checked` does the first three for an operator action; `refuse` records a
domain refusal (e.g. `rerun approve` before ACK) and raises it for the caller to show.
"""
from __future__ import annotations

from typing import Any

from jobs.actors import Actor, Permission, PermissionDenied, allowed
from jobs.audit import COMMAND_REFUSED, refused_role
from jobs.context import Context
from store.ledger.ledger import Commit
from jobs.errors import Refused


class CreditsRefused(Refused):
    """A domain refusal, worded for the person refused: what, why, and what to do first."""


def ledger(ctx: Context):
    """The credit ledger (`runs/CREDIT_MONITORING/ledger.jsonl`)."""
    return ctx.ledgers.credit


def who(actor: Actor, permission: Permission) -> tuple[str, str | None]:
    """The ledger's `actor` and `role` for this action (`daemon` acts with no role)."""
    if actor.is_daemon:
        return actor.ledger_id, None
    return actor.ledger_id, actor.role_for(permission) or None


def _refusal_fields(action: str, subject: str, reason: str, run_id: str | None, actor: Actor,
                    permission: Permission) -> dict[str, Any]:
    """The same data as `jobs.audit.record_refusal`, plus what the refused action was about."""
    fields: dict[str, Any] = {"data": {"command": action, "permission": permission.value, "person": actor.name,
                                       "roles": sorted(r.value for r in actor.roles), "subject": subject,
                                       "reason": reason}}
    if run_id:
        fields["Run_ID"] = run_id
    return fields


def checked(ctx: Context, actor: Actor, permission: Permission, action: str, subject: str,
            run_id: str | None = None) -> None:
    """Raise `PermissionDenied` (recorded in the ledger first) unless `actor` may do `action`."""
    if allowed(actor, permission):
        return
    refusal = PermissionDenied(actor, permission, action)
    ledger(ctx).append(COMMAND_REFUSED, actor.ledger_id, refused_role(actor) or None,
                       _refusal_fields(action, subject, str(refusal), run_id, actor, permission))
    raise refusal


def refuse_in(entries: Commit, actor: Actor, permission: Permission, action: str, subject: str, reason: str,
              run_id: str | None = None) -> CreditsRefused:
    """`refuse`, with the entry joining the caller's open commit of the credit ledger."""
    ledger_actor, role = who(actor, permission)
    entries.append(COMMAND_REFUSED, ledger_actor, role,
                   _refusal_fields(action, subject, reason, run_id, actor, permission))
    return CreditsRefused(f"{action} refused: {reason}")


def refuse(ctx: Context, actor: Actor, permission: Permission, action: str, subject: str, reason: str,
           run_id: str | None = None) -> CreditsRefused:
    """Record a domain refusal and return the exception for the caller to raise."""
    ledger_actor, role = who(actor, permission)
    ledger(ctx).append(COMMAND_REFUSED, ledger_actor, role,
                       _refusal_fields(action, subject, reason, run_id, actor, permission))
    return CreditsRefused(f"{action} refused: {reason}")
