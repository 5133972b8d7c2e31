"""Who may do what: people, roles and the one permission table (docs/architecture.md §3, §4).

Every entry point (Slack, the CLI, the scheduler) resolves an `Actor` and calls `check()` here before
it changes anything, so the role matrix is decided in one place whatever the way in. The Slack layer
may hide a button; this module decides.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum
from typing import Iterable, Mapping

from jobs.settings import PersonSettings


class Role(StrEnum):
    O1 = "O1"  # viewer
    O2 = "O2"  # read operator
    O3 = "O3"  # approver
    CEO = "ceo"
    COO = "coo"
    CHIEF_STAFF = "chief.staff"
    CODE_PLATFORM = "code.platform"
    SECURITY_OPS = "security.ops"
    LEGAL_EXEC = "legal.exec"


TIERS = (Role.O1, Role.O2, Role.O3)


def at_least(tier: Role) -> frozenset[Role]:
    """Operator tiers are cumulative: an O3 may do what an O2 may, an O2 what an O1 may."""
    return frozenset(TIERS[TIERS.index(tier):])


class Permission(StrEnum):
    """Everything a person can ask chatops to do. Values are the names used in messages and logs."""

    HELP = "help"
    CONFIG_READ = "config.read"
    JOBS_READ = "jobs.read"
    LEDGER_VERIFY = "ledger.verify"
    LEDGER_WITNESS = "ledger.witness"
    LEDGER_ADMIN = "ledger.admin"          # init, repair, rotate-key, reseal
    SCRUB_CHECK = "scrub.check"
    SCRUB_LEARN = "scrub.learn"
    SCRUB_WRITE = "scrub.write"            # clean copies and in-place scrubs
    RUN_RECORD = "runs.record"
    RUN_READ = "runs.read"
    CASE_ACK = "case.ack"
    CASE_NOTE = "case.note"
    CASE_ROOT_CAUSE_APPROVE = "case.root_cause.approve"
    CASE_RESOLVE = "case.resolve"
    RERUN_DECIDE = "rerun.decide"          # APPROVED for rerun / DENIED
    QUARANTINE_RELEASE = "quarantine.release"
    BACKFILL_SET = "backfill.set"
    SCENARIO_SET = "scenario.set"
    KILLSWITCH_SET = "killswitch.set"
    KILLSWITCH_READ = "killswitch.read"
    BASELINE_READ = "baseline.read"
    BASELINE_CALCULATE = "baseline.calculate"
    BASELINE_CHANGE = "baseline.change"    # update (approve) and set


#: The one permission table: a permission is granted to anyone holding any of these roles.
PERMISSIONS: Mapping[Permission, frozenset[Role]] = {
    Permission.HELP: frozenset(Role),
    Permission.CONFIG_READ: at_least(Role.O1) | {Role.CEO, Role.COO, Role.CHIEF_STAFF, Role.CODE_PLATFORM},
    Permission.JOBS_READ: at_least(Role.O1) | {Role.CEO, Role.COO, Role.CHIEF_STAFF, Role.CODE_PLATFORM},
    Permission.LEDGER_VERIFY: at_least(Role.O1),
    Permission.LEDGER_WITNESS: at_least(Role.O2),
    Permission.LEDGER_ADMIN: at_least(Role.O3),
    Permission.SCRUB_CHECK: at_least(Role.O2) | {Role.CHIEF_STAFF, Role.CODE_PLATFORM, Role.SECURITY_OPS},
    Permission.SCRUB_LEARN: frozenset({Role.CODE_PLATFORM, Role.SECURITY_OPS}),
    Permission.SCRUB_WRITE: at_least(Role.O3) | {Role.CHIEF_STAFF, Role.CODE_PLATFORM, Role.SECURITY_OPS},
    Permission.RUN_RECORD: at_least(Role.O3),
    Permission.RUN_READ: at_least(Role.O1),
    Permission.CASE_ACK: at_least(Role.O2),
    Permission.CASE_NOTE: at_least(Role.O2),
    Permission.CASE_ROOT_CAUSE_APPROVE: at_least(Role.O3),
    Permission.CASE_RESOLVE: at_least(Role.O3),
    Permission.RERUN_DECIDE: at_least(Role.O3),
    Permission.QUARANTINE_RELEASE: at_least(Role.O3),
    Permission.BACKFILL_SET: at_least(Role.O3),
    Permission.SCENARIO_SET: at_least(Role.O3),
    Permission.KILLSWITCH_SET: at_least(Role.O3),
    Permission.KILLSWITCH_READ: frozenset(Role),
    Permission.BASELINE_READ: at_least(Role.O1),
    Permission.BASELINE_CALCULATE: at_least(Role.O2),
    Permission.BASELINE_CHANGE: at_least(Role.O3),
}


@dataclass(frozen=True)
class Actor:
    """A configured person, or the daemon itself (which acts only on its own schedule)."""

    name: str
    roles: frozenset[Role]
    slack_id: str = ""

    @property
    def is_daemon(self) -> bool:
        return self.name == DAEMON_NAME

    @property
    def ledger_id(self) -> str:
        """What the ledger's `actor` field holds: the Slack user id when known (docs/ledger.md §2)."""
        return self.slack_id or self.name

    def role_for(self, permission: Permission) -> str:
        """The role this actor used for `permission` (highest operator tier first), for the ledger."""
        granted = [role for role in self.roles if role in PERMISSIONS[permission]]
        tiers = [role for role in TIERS if role in granted]
        if tiers:
            return tiers[-1].value
        return sorted(granted)[0].value if granted else ""


DAEMON_NAME = "daemon"
DAEMON = Actor(name=DAEMON_NAME, roles=frozenset())


class PermissionDenied(Exception):
    """Refusal worded for the person refused: names what they asked, the role needed and theirs."""

    def __init__(self, actor: Actor, permission: Permission, action: str | None = None) -> None:
        self.actor = actor
        self.permission = permission
        needed = describe_roles(PERMISSIONS[permission])
        have = ", ".join(sorted(r.value for r in actor.roles)) or "no role"
        super().__init__(f"{action or permission.value} needs role {needed}; you have {have}")


class UnknownPerson(Exception):
    """A name or Slack id that is not in config.toml [people]."""


def describe_roles(roles: Iterable[Role]) -> str:
    """`O2` for the tier set {O2, O3}; otherwise the roles joined with `or`."""
    roles = frozenset(roles)
    if roles == frozenset(Role):
        return "any role"
    tier_part = [t for t in TIERS if t in roles]
    lowest = [tier_part[0].value] if tier_part and frozenset(tier_part) == at_least(tier_part[0]) else [
        t.value for t in tier_part]
    others = sorted(r.value for r in roles if r not in TIERS)
    return " or ".join(lowest + others)


#: Open to anyone, even an unknown Slack user with no role.
OPEN_TO_ALL = frozenset({Permission.HELP})


def allowed(actor: Actor, permission: Permission) -> bool:
    if actor.is_daemon or permission in OPEN_TO_ALL:
        return True
    return bool(actor.roles & PERMISSIONS[permission])


def check(actor: Actor, permission: Permission, action: str | None = None) -> None:
    """Raise `PermissionDenied` unless `actor` holds a role that grants `permission`."""
    if not allowed(actor, permission):
        raise PermissionDenied(actor, permission, action)


class People:
    """The configured people, looked up by name (CLI `--as`) or Slack user id (Slack)."""

    def __init__(self, people: Mapping[str, PersonSettings]) -> None:
        self._by_name = {
            name: Actor(name=name, roles=frozenset(Role(r) for r in person.roles), slack_id=person.slack_id)
            for name, person in people.items()
        }
        self._by_slack_id = {a.slack_id: a for a in self._by_name.values() if a.slack_id}

    def __iter__(self):
        return iter(self._by_name.values())

    def by_name(self, name: str) -> Actor:
        actor = self._by_name.get(name)
        if actor is None:
            close = difflib.get_close_matches(name, list(self._by_name), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            known = ", ".join(sorted(self._by_name)) or "nobody is configured yet"
            raise UnknownPerson(
                f"unknown person {name!r}: {hint}add them to config.toml [people.{name}] "
                f"(configured: {known})")
        return actor

    def by_slack_id(self, slack_id: str) -> Actor:
        """An unknown Slack user gets an actor with no roles: they may read help and nothing else."""
        return self._by_slack_id.get(slack_id) or Actor(name=f"unknown:{slack_id}", roles=frozenset(),
                                                        slack_id=slack_id)

    def with_role(self, role: Role) -> list[Actor]:
        return [a for a in self._by_name.values() if role in a.roles]
