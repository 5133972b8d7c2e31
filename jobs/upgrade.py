"""Forward migrations of the data directory, from a registry, run by `chatops upgrade` or at the daemon's start.

Each migration takes one part (the state, or one ledger) from one schema version to the next, and is
recorded in the operations ledger (`schema.upgraded`) when done. Migrations only go forward; a part
at a version newer than this code knows is refused (it was written by a newer chatops: running this
one on it could lose what it does not understand), and so is a part with no path to the current
version. The registry lists every step since versions existed; a data directory of any age is taken
through them in order.

Ledgers are never rewritten: a ledger migration appends a signed `ledger.upgraded` entry (and whatever
the new schema needs) after the entries it leaves as they are; none is needed yet (entry schema 1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from jobs import audit
from jobs.actors import DAEMON, Actor, Permission, Subject, authorize
from jobs.context import Context
from jobs.errors import Conflict
from store import schema
from store.ledger.entry import SCHEMA_VERSION as LEDGER_SCHEMA

STATE = "state"
#: What this code writes: the version each part must be at.
CURRENT = {STATE: schema.STATE_VERSION, **{spec.name.value: LEDGER_SCHEMA for spec in audit.SPECS}}
SUBJECT = Subject("schema", "data directory")


class NewerSchema(Conflict):
    """A part of the data directory is at a schema this code does not know."""


@dataclass(frozen=True)
class Migration:
    part: str                     # "state", or a ledger's name
    from_version: int
    to_version: int
    what: str                     # one line, for the log and `chatops upgrade`
    apply: Callable[[Context], None]

    def describe(self) -> str:
        return f"{self.part} {self.from_version} → {self.to_version}: {self.what}"


def _state_1_to_2(ctx: Context) -> None:
    schema.set_state_version(ctx.state, 2)


#: Every migration since versions existed, in order.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(STATE, 1, 2, "record the state's schema version (states written before issue 26 have none)",
              _state_1_to_2),
)


def versions(ctx: Context) -> dict[str, int]:
    """Each part's version now; a ledger with no entry yet is at the current version (it will be made so)."""
    found = {STATE: schema.state_version(ctx.state)}
    for spec in audit.SPECS:
        version = schema.ledger_version(ctx.ledgers.files(spec).jsonl)
        found[spec.name.value] = CURRENT[spec.name.value] if version is None else version
    return found


def plan(ctx: Context, registry: tuple[Migration, ...] = MIGRATIONS,
         current: dict[str, int] | None = None) -> list[Migration]:
    """The migrations still to run, in order; `NewerSchema` when a part is ahead of this code or has no path."""
    target = CURRENT if current is None else current
    steps = []
    for part, version in versions(ctx).items():
        if version > target[part]:
            raise NewerSchema(f"the {part} is at schema {version}, newer than this chatops knows ({target[part]}); "
                              f"it was written by a newer chatops: install that version (or newer) again")
        while version < target[part]:
            step = next((m for m in registry if m.part == part and m.from_version == version), None)
            if step is None:
                raise NewerSchema(f"the {part} is at schema {version} and no migration leads from it to "
                                  f"{target[part]}; restore a backup made by this version")
            steps.append(step)
            version = step.to_version
    return steps


def upgrade(ctx: Context, actor: Actor, registry: tuple[Migration, ...] = MIGRATIONS,
            current: dict[str, int] | None = None) -> list[Migration]:
    """Run every pending migration, each recorded once done. The daemon runs it at start as itself."""
    if actor is not DAEMON:
        authorize(ctx, actor, Permission.OPS_UPGRADE, "upgrade", SUBJECT)
    steps = plan(ctx, registry, current)
    for step in steps:
        step.apply(ctx)
        ctx.ledgers.operations.append("schema.upgraded", actor.ledger_id,
                                      None if actor is DAEMON else actor.role_for(Permission.OPS_UPGRADE) or None,
                                      {"data": {"part": step.part, "from": step.from_version, "to": step.to_version,
                                                "what": step.what}})
    return steps
