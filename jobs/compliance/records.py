"""Compliance incidents as records (seed 002): triggers, severities, steps, the decision tree's leaves.

An incident is never stored as a record: its timeline is (`service.py`), appended to and never edited
(§4 "do not alter the timeline after the fact"), and an `Incident` is what the timeline adds up to
(`service.fold`). So every field below is derived, and `show` can always say which entry set it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Mapping


class Kind(StrEnum):
    """Operational incidents are workflow failures (seed 000 §5); compliance ones may carry liability (§1)."""

    OPERATIONAL = "operational"
    COMPLIANCE = "compliance"


class Sev(StrEnum):
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"

    @property
    def rank(self) -> int:
        return int(self.value[-1])

    def one_up(self) -> "Sev":
        return Sev.SEV1 if self == Sev.SEV2 else Sev.SEV2


class Trigger(StrEnum):
    """§2's six compliance triggers, and the operational one (seed 000 §5) for workflow failures."""

    DATA_EXPOSURE = "data-exposure"
    BREACH_NOTIFICATION = "breach-notification"
    REGULATORY_INQUIRY = "regulatory-inquiry"
    CONTRACT_MISSED = "contract-missed"
    VENDOR_FAILURE = "vendor-failure"
    POLICY_VIOLATION = "policy-violation"
    WORKFLOW_FAILURE = "workflow-failure"


#: §3: the severity each trigger suggests; the filer confirms it (or states another) when filing.
#: Exposure, breach, an inquiry and a contractual breach are SEV1's list; a vendor breach and a policy
#: violation are SEV2's; a workflow failure is a process gap (SEV3) until someone says otherwise.
SUGGESTED: Mapping[Trigger, Sev] = {
    Trigger.DATA_EXPOSURE: Sev.SEV1,
    Trigger.BREACH_NOTIFICATION: Sev.SEV1,
    Trigger.REGULATORY_INQUIRY: Sev.SEV1,
    Trigger.CONTRACT_MISSED: Sev.SEV1,
    Trigger.VENDOR_FAILURE: Sev.SEV2,
    Trigger.POLICY_VIOLATION: Sev.SEV2,
    Trigger.WORKFLOW_FAILURE: Sev.SEV3,
}


class Step(StrEnum):
    """A checklist step confirmed by a person; each SEV path needs its own (§4)."""

    CONTAIN = "contain"                    # SEV1: before anything else is marked done
    LEGAL = "legal-engaged"                # SEV1: legal.exec engaged
    DECISION = "decision"                  # SEV1: the §5 tree walked (`incident decide`)
    COUNSEL = "counsel-contacted"          # SEV1 breach: outside counsel contacted (COO initiates)
    RESPONSE = "response"                  # SEV2: the risk assessment, within 4 hours (`incident assess`)
    REMEDIATION = "remediation-plan"       # SEV2: within 24 hours
    SOP_DELTA = "sop-delta"                # SEV2: for any SOP that contributed or failed to prevent
    PREVENTION = "prevention"              # SEV3: the prevention owner's action, by the next sweep


#: Steps a person confirms with `incident step`; the others have their own command.
CONFIRMABLE = (Step.CONTAIN, Step.LEGAL, Step.COUNSEL, Step.REMEDIATION, Step.SOP_DELTA, Step.PREVENTION)


class Leaf(StrEnum):
    """The ends of §5's tree."""

    INTERNAL = "internal"      # no customer data exposed: internal incident, no external notification
    NEAR_MISS = "near-miss"    # exposed, not to an unauthorised party: SEV2, no notification
    BREACH = "breach"          # exposed to an unauthorised party: the notification obligations apply


class Action(StrEnum):
    """What a timeline entry records."""

    FILED = "filed"
    ESCALATED = "escalated"            # operational -> compliance, or one severity up
    STEP = "step"
    ASSESSED = "assessed"
    DECIDED = "decided"
    DRAFTED = "notice.drafted"
    APPROVALS_VOIDED = "notice.approvals_voided"
    APPROVED = "notice.approved"
    COUNSEL_REVIEWED = "notice.counsel_reviewed"
    SENT = "notice.sent"
    NOTIFIED = "notified"              # who was told, by which way (no content)
    REMINDED = "reminded"
    OVERDUE = "overdue"
    COUNCIL_DRAFT = "council.drafted"
    CLOSED = "closed"
    POSTMORTEM = "postmortem.due"


#: The roles whose approvals a notification needs (§4, §5); outside counsel's review is recorded beside.
APPROVER_ROLES = ("ceo", "coo", "legal.exec")


@dataclass(frozen=True)
class Entry:
    """One timeline entry. `data` is the sealed part (content); the rest is what the ledger may hold."""

    seq: int
    at: datetime
    action: Action
    actor: str
    data: Mapping[str, Any]
    hash: str


@dataclass(frozen=True)
class Done:
    at: datetime
    by: str
    text: str = ""


@dataclass(frozen=True)
class Approval:
    person: str
    role: str
    draft_hash: str
    at: datetime


@dataclass(frozen=True)
class Obligation:
    """A notification the tree requires (`gdpr-dpa`, `gdpr-individuals`, `ccpa`, `contract:<customer>`)."""

    name: str
    due: datetime
    sent_at: datetime | None = None


@dataclass(frozen=True)
class Clock:
    """A due step: when, whether done, and whether it was reminded and escalated."""

    name: str
    due: datetime
    done_at: datetime | None
    reminded: bool
    overdue: bool


@dataclass(frozen=True)
class Incident:
    id: str
    kind: Kind
    trigger: Trigger
    sev: Sev
    suggested: Sev
    filed_at: datetime
    filed_by: str
    owner: str
    what: str
    contained: str
    at_risk: str
    links: tuple[str, ...] = ()
    sev_since: datetime | None = None        # when the current severity (its clocks) began
    compliance_since: datetime | None = None
    steps: Mapping[str, Done] = field(default_factory=dict)
    sev1_risk: bool | None = None
    leaf: Leaf | None = None
    decided_at: datetime | None = None
    high_risk: bool = False
    customers: tuple[str, ...] = ()
    obligations: tuple[Obligation, ...] = ()
    draft: str = ""
    draft_hash: str = ""
    drafted_by: str = ""
    approvals: tuple[Approval, ...] = ()
    counsel_review: tuple[str, str] | None = None   # (reviewer, draft hash)
    reminded: frozenset[str] = frozenset()
    overdue: frozenset[str] = frozenset()
    notified: tuple[str, ...] = ()
    council: Mapping[str, str] = field(default_factory=dict)
    closed_at: datetime | None = None
    postmortem_due: str = ""
    postmortem_path: str = ""
    entries: int = 0
    last_hash: str = ""

    @property
    def open(self) -> bool:
        return self.closed_at is None

    @property
    def customer_exposed(self) -> bool:
        return self.leaf == Leaf.BREACH

    def approvals_for_current(self) -> tuple[Approval, ...]:
        return tuple(a for a in self.approvals if a.draft_hash == self.draft_hash)

    def involved(self) -> frozenset[str]:
        """Names of the people this incident names (filer, owner, drafter, approvers); roles come on top."""
        names = {self.filed_by, self.owner, self.drafted_by, *(a.person for a in self.approvals),
                 *(d.by for d in self.steps.values())}
        return frozenset(n for n in names if n)
