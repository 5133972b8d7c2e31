"""Who may do what: people, roles, the one permission table and the one gate (docs/architecture.md §3, §4).

Every entry point (the CLI, a Slack command, a thread reply, a button, the scheduler) resolves an
`Actor` and passes `authorize()` here before anything changes, so the role matrix is decided in one
place whatever the way in, and every refusal is recorded once, by `refuse()`, naming who, what, on
which subject and why. The Slack layer may hide a button; this module decides.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Protocol

from jobs.errors import Invalid, Refused

if TYPE_CHECKING:
    from jobs.settings import PersonSettings
    from jobs.context import Context

log = logging.getLogger("chatops.actors")

#: The ledger entry kind of every refusal, whichever ledger holds it.
COMMAND_REFUSED = "command.refused"


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
    SCRUB_GAP_FILE = "scrub.gap.file"      # file or list a format the rules miss (seed 000 §5)
    SCRUB_GAP_CLOSE = "scrub.gap.close"    # close a gap once the ruleset covers it
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
    OUTBOX_READ = "outbox.read"            # what waits to leave the machine, what is parked and why
    OUTBOX_MANAGE = "outbox.manage"        # send parked items back to the queue, or park one
    # compliance calendar (seed 002 §7)
    CALENDAR_READ = "calendar.read"        # list the calendar and what falls due
    CALENDAR_WRITE = "calendar.write"      # add items, mark them done (security.ops maintains it)
    # ---- compliance incidents (seed 002) ----
    INCIDENT_FILE = "incident.file"          # file an incident (any agent who notices one)
    INCIDENT_READ = "incident.read"          # list and timeline: ids, severities, deadlines, no content
    INCIDENT_SHOW = "incident.show"          # the decrypted record, for the people the incident involves
    INCIDENT_MANAGE = "incident.manage"      # confirm steps, assess, escalate, close
    INCIDENT_DECIDE = "incident.decide"      # walk the notification decision tree (§5)
    NOTICE_DRAFT = "incident.notice.draft"   # legal.exec drafts the breach notification
    NOTICE_APPROVE = "incident.notice.approve"  # CEO, COO, legal review, outside counsel recorded
    NOTICE_SEND = "incident.notice.sent"     # record a notification as sent
    INCIDENT_KEYS = "incident.keys"          # rotate the incident encryption key
    # ---- notion (issue 25): the Notion mirror of RUNS_LEDGER and CASES ----
    NOTION_READ = "notion.read"            # the mirror's queue, lag, last error, parked; the check of Notion
    NOTION_SYNC = "notion.sync"            # deliver the mirror's pending changes now
    # weekly review and audit reports (seed 001 "Weekly Review Procedure", "Audit and Compliance")
    REVIEW_WEEKLY = "review.weekly"        # generate the weekly report, add notes, decide SEV2s without a case
    REVIEW_PROPOSE = "review.propose"      # start a baseline proposal for a weekly candidate
    REVIEW_AUDIT = "review.audit"          # the monthly and quarterly audit reports
    # -- session export (seed 000) --
    EXPORT_READ = "export.read"            # the runs, their grades and PRs
    EXPORT_RUN = "export.run"              # a manual or gap-day run (seed 000 §5)
    EXPORT_MERGE = "export.merge"          # merge a day's PR (the grade decides who, jobs/export/policy.py)
    EXPORT_HOLD = "export.hold"            # hold a day's PR with a reason
    EXPORT_RESCRUB = "export.rescrub"      # re-scrub a held PR with the current (patched) rules
    EXPORT_CREDENTIAL = "export.credential"  # say whether a credential in clean output is active (rotation)
    # ---- running it for real (issue 26): doctor, backup and restore, upgrades, service units ----
    OPS_DOCTOR = "ops.doctor"              # run the health checks (reads only)
    OPS_BACKUP = "ops.backup"              # snapshot the data directory (with --include-keys: the signing key)
    OPS_RESTORE = "ops.restore"            # replace the data directory with a verified snapshot
    OPS_UPGRADE = "ops.upgrade"            # migrate the state and ledgers to this version's schema
    OPS_SERVICE = "ops.service"            # install, uninstall the daemon's service unit
    # -- morning sweep and CEO summary (issue 27)
    SWEEP_READ = "sweep.read"              # the last sweep's findings and how long each has been open
    SWEEP_RUN = "sweep.run"                # run the 08:30 enforcement sweep by hand
    SUMMARY_READ = "summary.read"          # the CEO daily summary as it stands now
    SUMMARY_SEND = "summary.send"          # send the CEO daily summary DM now


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
    Permission.SCRUB_GAP_FILE: frozenset(Role),      # anyone configured ("any agent who notices a gap")
    Permission.SCRUB_GAP_CLOSE: frozenset({Role.CODE_PLATFORM}),
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
    Permission.OUTBOX_READ: at_least(Role.O1),
    Permission.OUTBOX_MANAGE: at_least(Role.O3),
    # compliance calendar (seed 002 §7): security.ops keeps it; those who act on what falls due read it
    Permission.CALENDAR_READ: frozenset({Role.CEO, Role.COO, Role.CHIEF_STAFF, Role.SECURITY_OPS, Role.LEGAL_EXEC}),
    Permission.CALENDAR_WRITE: frozenset({Role.SECURITY_OPS}),
    # ---- compliance incidents (seed 002) ----
    Permission.INCIDENT_FILE: frozenset(Role),
    Permission.INCIDENT_READ: at_least(Role.O1) | {Role.CEO, Role.COO, Role.SECURITY_OPS, Role.LEGAL_EXEC,
                                                   Role.CHIEF_STAFF},
    Permission.INCIDENT_SHOW: frozenset(Role),   # then only the people the incident involves (jobs.compliance)
    Permission.INCIDENT_MANAGE: frozenset({Role.SECURITY_OPS, Role.COO, Role.LEGAL_EXEC}),
    Permission.INCIDENT_DECIDE: frozenset({Role.LEGAL_EXEC, Role.COO}),
    Permission.NOTICE_DRAFT: frozenset({Role.LEGAL_EXEC}),
    Permission.NOTICE_APPROVE: frozenset({Role.CEO, Role.COO, Role.LEGAL_EXEC}),
    Permission.NOTICE_SEND: frozenset({Role.LEGAL_EXEC, Role.COO}),
    Permission.INCIDENT_KEYS: frozenset({Role.SECURITY_OPS}),
    # ---- notion (issue 25) ----
    Permission.NOTION_READ: at_least(Role.O1),
    Permission.NOTION_SYNC: at_least(Role.O2),
    # weekly review and audit reports
    Permission.REVIEW_WEEKLY: at_least(Role.O2),
    Permission.REVIEW_PROPOSE: at_least(Role.O3),
    Permission.REVIEW_AUDIT: at_least(Role.O3),
    # -- session export (seed 000 §2, §3): chief.staff owns the pipeline, code.platform the ruleset, the COO
    # approves MEDIUM merges on request; the grade's rules are in jobs/export/policy.py
    Permission.EXPORT_READ: at_least(Role.O1) | {Role.CEO, Role.COO, Role.CHIEF_STAFF, Role.CODE_PLATFORM,
                                                 Role.SECURITY_OPS},
    Permission.EXPORT_RUN: frozenset({Role.CHIEF_STAFF, Role.CODE_PLATFORM}),
    Permission.EXPORT_MERGE: frozenset({Role.CHIEF_STAFF, Role.COO}),
    Permission.EXPORT_HOLD: frozenset({Role.CHIEF_STAFF, Role.COO}),
    Permission.EXPORT_RESCRUB: frozenset({Role.CHIEF_STAFF, Role.CODE_PLATFORM}),
    Permission.EXPORT_CREDENTIAL: frozenset({Role.SECURITY_OPS, Role.CODE_PLATFORM}),
    # ---- running it for real (issue 26): the doctor reads what an O1 may read; everything that copies
    # keys or replaces, migrates or installs the installation is an approver's (O3)
    Permission.OPS_DOCTOR: at_least(Role.O1),
    Permission.OPS_BACKUP: at_least(Role.O3),
    Permission.OPS_RESTORE: at_least(Role.O3),
    Permission.OPS_UPGRADE: at_least(Role.O3),
    Permission.OPS_SERVICE: at_least(Role.O3),
    # -- morning sweep and CEO summary (issue 27): chief.staff runs the sweep (seed 000 §5), O2 the runbook's
    # daily checks; the summary is the CEO's, prepared by chief.staff
    Permission.SWEEP_READ: at_least(Role.O1) | {Role.CEO, Role.COO, Role.CHIEF_STAFF},
    Permission.SWEEP_RUN: at_least(Role.O2) | {Role.CHIEF_STAFF},
    Permission.SUMMARY_READ: frozenset({Role.CEO, Role.COO, Role.CHIEF_STAFF}),
    Permission.SUMMARY_SEND: frozenset({Role.CEO, Role.CHIEF_STAFF}),
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


@dataclass(frozen=True)
class Subject:
    """What an action is on: a kind (`case`, `run`, `scenario`, `proposal`, `ledger`, …) and its id.

    `ledger` is where refusals about it are recorded: an area's subjects go to the area's own ledger
    (the credit ledger for cases, runs and scenarios), everything else to the operations ledger.
    `run_id` is the run a refusal concerns, when there is one, so it sits beside that run's entries.
    """

    kind: str
    id: str
    ledger: str = "operations"
    run_id: str = ""

    def __str__(self) -> str:
        return self.id


class PermissionDenied(Refused):
    """Refusal for want of a role, worded for the person refused: what they asked, the role needed and theirs."""

    def __init__(self, actor: Actor, permission: Permission, action: str | None = None) -> None:
        self.actor = actor
        self.permission = permission
        have = ", ".join(sorted(r.value for r in actor.roles)) or "no role"
        super().__init__(f"{action or permission.value} needs {needs_roles(PERMISSIONS[permission])}; "
                         f"you have {have}")


class UnknownPerson(Invalid):
    """A name that is not in config.toml [people] (`--as`): an input error, not a person to refuse."""


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


def needs_roles(roles: Iterable[Role]) -> str:
    """`role O2`, `role code.platform or security.ops`, or `any role`: what follows "needs" in a sentence."""
    described = describe_roles(roles)
    return described if described == "any role" else f"role {described}"


#: Open to anyone, even an unknown Slack user with no role.
OPEN_TO_ALL = frozenset({Permission.HELP})


def allowed(actor: Actor, permission: Permission) -> bool:
    if actor.is_daemon or permission in OPEN_TO_ALL:
        return True
    return bool(actor.roles & PERMISSIONS[permission])


class Entries(Protocol):
    """An open commit of a ledger (`store.ledger.ledger.Commit`) or the ledger itself."""

    def append(self, kind: str, actor: str, role: str | None, fields: Mapping[str, Any]) -> Any: ...


def authorize(ctx: "Context", actor: Actor, permission: Permission, action: str, subject: Subject) -> None:
    """The one gate: pass when `actor` holds a role granting `permission`; otherwise record and raise.

    `action` is what was asked, in the words of the command (`case ack`); `subject` what it was asked
    on. The refusal (`PermissionDenied`, a `Refused`) is recorded once, here, in the subject's ledger.
    """
    if allowed(actor, permission):
        return
    raise refuse(ctx, actor, permission, action, subject, PermissionDenied(actor, permission, action))


def refuse(ctx: "Context", actor: Actor, permission: Permission, action: str, subject: Subject,
           refusal: Exception | str, entries: Entries | None = None,
           detail: Mapping[str, Any] | None = None) -> Exception:
    """Record a refusal (who, what, when, on what, why) and return it for the caller to raise.

    For a refusal by a rule of the domain (not acknowledged yet, already decided) as well as by the
    role table. `refusal` is the exception to raise or the reason as a sentence; `entries` an open
    commit of the subject's ledger when the refusal belongs in the caller's commit; `detail` more of
    what was refused (e.g. the decision and its digest), kept beside the reason. Recording never
    hides the refusal: should the ledger be unwritable, the refusal is logged and still raised.
    """
    error = refusal if isinstance(refusal, Exception) else Refused(f"{action} refused: {refusal}")
    role = None if actor.is_daemon else (actor.role_for(permission) or refused_role(actor) or None)
    data = {"command": _command_of(action, subject), "permission": permission.value, "person": actor.name,
            "roles": sorted(r.value for r in actor.roles), "subject": subject.id, "subject_kind": subject.kind,
            **(detail or {}), "reason": str(error)}
    fields: dict[str, Any] = {"data": data, **({"Run_ID": subject.run_id} if subject.run_id else {})}
    try:
        (entries or ctx.ledgers.get(subject.ledger)).append(COMMAND_REFUSED, actor.ledger_id, role, fields)
    except Exception as exc:   # noqa: BLE001 - any failure to record must still let the refusal through
        if entries is not None:
            raise
        log.error("could not record the refusal of %s on %s %s for %s in the %s ledger: %s", action, subject.kind,
                  subject.id, actor.name, subject.ledger, exc)
    return error


def _command_of(action: str, subject: Subject) -> str:
    """The command of `action` without its subject (`quarantine release run_7f3a` -> `quarantine release`), so
    that every refusal of one command carries the same `data.command` (the subject is in `data.subject`)."""
    words = action.split()
    return " ".join(words[:words.index(subject.id)]) if subject.id in words[1:] else action


def refused_role(actor: Actor) -> str:
    """The `role` of a refusal entry: the refused person's highest operator tier, or "" without one.

    A person refused for want of a role holds no role the permission accepts, so "the role used" (as in
    other entries) does not exist; their tier is what an auditor asks about next.
    """
    tiers = [tier for tier in TIERS if tier in actor.roles]
    return tiers[-1].value if tiers else ""


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
            import difflib   # only for an unknown name

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
