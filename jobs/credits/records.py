"""What credit monitoring talks about: run records, their classification, cases, scenario settings.

Field names are the runbook's (`Run_ID`, `Scenario_ID`, `Credits_Total`, `Risk_Flags`, `Root_Cause`,
`Slack_Thread_URL`, `Related_Run_IDs`, `Resolved_At`, …) wherever a record is written to a file or the
ledger, so the runbook's `jq` queries run as written. The Python attributes are snake case; each record
says how it maps.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """Run severity. NORMAL: below SEV2. UNBASELINED: the scenario has no baseline, so no variance."""

    SEV0 = "SEV0"
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    NORMAL = "NORMAL"
    UNBASELINED = "UNBASELINED"


class Likelihood(StrEnum):
    """Misconfig likelihood shown in the alert (runbook SEV1 step 1)."""

    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"

    @property
    def rank(self) -> int:
        return {Likelihood.LOW: 0, Likelihood.MEDIUM: 1, Likelihood.HIGH: 2}[self]


class CaseStatus(StrEnum):
    OPEN = "Open"
    INVESTIGATING = "Investigating"
    RESOLVED = "Resolved"


class RootCause(StrEnum):
    MISCONFIG = "Misconfig"
    LEGIT_LOAD = "Legit Load"
    EXTERNAL_DEPENDENCY = "External Dependency"
    UNKNOWN = "Unknown"


class RerunDecision(StrEnum):
    APPROVED = "APPROVED"
    DENIED = "DENIED"


class ReleaseFinding(StrEnum):
    """Why quarantined artifacts may leave quarantine (runbook: release criteria)."""

    FALSE_POSITIVE = "false-positive"   # PII/regulatory exposure confirmed as a false positive
    MITIGATED = "mitigated"             # mitigation applied, e.g. data redacted


@dataclass(frozen=True)
class RunRecord:
    """One agent run as an orchestrator reports it (validated by `schema.validate_run`)."""

    run_id: str
    scenario_id: str
    job_type: str
    credits_total: float
    retry_count: int
    has_max_items_config: bool
    risk_flags: tuple[str, ...]
    started_at: datetime
    ended_at: datetime | None = None
    pii_data_source: bool = False
    regulatory_data_source: bool = False
    is_backfill: bool = False
    rerun_of: str | None = None

    def to_fields(self) -> dict[str, Any]:
        """The record with the runbook's field names, as written to the run file and the ledger."""
        return {
            "Run_ID": self.run_id,
            "Scenario_ID": self.scenario_id,
            "Job_Type": self.job_type,
            "Credits_Total": self.credits_total,
            "retry_count": self.retry_count,
            "has_max_items_config": self.has_max_items_config,
            "Risk_Flags": list(self.risk_flags),
            "pii_data_source": self.pii_data_source,
            "regulatory_data_source": self.regulatory_data_source,
            "is_backfill": self.is_backfill,
            "rerun_of": self.rerun_of,
            "Started_At": self.started_at.isoformat(),
            "Ended_At": self.ended_at.isoformat() if self.ended_at else None,
        }


@dataclass(frozen=True)
class Classification:
    """What policy made of a run; every number that led to the severity is kept for the alert."""

    severity: Severity
    variance: float | None              # credits / baseline; None when unbaselined
    baseline_credits: float | None
    baseline_source: str | None
    likelihood: Likelihood
    misconfig_score: float
    signals: tuple[str, ...]            # the misconfig and legit signals that counted
    exposure: bool                      # PII / regulatory data involved
    backfill: bool                      # backfill mode applied (record flag or scenario window)
    sev1_threshold: float               # the SEV1 multiplier that applied (relaxed in backfill)

    def to_fields(self) -> dict[str, Any]:
        return {
            "Severity": self.severity.value,
            "Variance": round(self.variance, 4) if self.variance is not None else None,
            "Baseline_Credits": self.baseline_credits,
            "Baseline_Source": self.baseline_source,
            "Misconfig_Likelihood": self.likelihood.value,
            "Misconfig_Score": round(self.misconfig_score, 4),
            "Exposure": self.exposure,
        }


@dataclass(frozen=True)
class BackfillWindow:
    """A scenario's backfill window, set by an O3: runs started from `start` to `end` are judged in backfill mode."""

    start: datetime
    end: datetime
    reason: str
    set_by: str

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end


@dataclass(frozen=True)
class ScenarioSettings:
    """Per-scenario settings an O3 changes at run time (runbook: max_items, backfill flag)."""

    scenario_id: str
    max_items: int | None = None
    backfill: BackfillWindow | None = None
    unbaselined_notified: bool = False


@dataclass(frozen=True)
class CaseNote:
    """One line of a case's history: who wrote what, when, and of which kind."""

    at: datetime
    by: str
    text: str
    kind: str = "note"        # note, proposed_root_cause, escalation, resolution, release, ack


@dataclass(frozen=True)
class Case:
    """A case in the runbook's CASES shape. `number` n is shown as `CASE-n`."""

    number: int
    scenario_id: str
    run_id: str
    severity: Severity
    status: CaseStatus
    opened_at: datetime
    ack_required: bool
    rerun_gate: bool                                 # a rerun needs an O3 decision
    ack_due_at: datetime | None = None
    acked_at: datetime | None = None
    acked_by: str = ""
    reminders_sent: int = 0
    root_cause: RootCause | None = None
    proposed_root_cause: RootCause | None = None
    slack_thread_url: str = ""
    related_run_ids: tuple[str, ...] = ()
    rerun_decision: RerunDecision | None = None
    rerun_decision_text: str = ""
    rerun_decided_by: str = ""
    approval_id: str = ""
    escalations: int = 0
    resolved_at: datetime | None = None
    notes: tuple[CaseNote, ...] = ()
    quarantined_run_ids: tuple[str, ...] = ()
    archived_at: datetime | None = None              # Monday sweep: resolved > 30 days ago, out of active lists

    @property
    def case_id(self) -> str:
        return f"CASE-{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status is not CaseStatus.RESOLVED

    @property
    def awaiting_ack(self) -> bool:
        return self.ack_required and self.acked_at is None and self.is_open

    def with_note(self, note: CaseNote, **changes: Any) -> "Case":
        return replace(self, notes=self.notes + (note,), **changes)


@dataclass(frozen=True)
class GateDecision:
    """The dispatch gate's answer, for orchestrators and operators alike."""

    allowed: bool
    subject: str                       # the run id or scenario id asked about
    reasons: tuple[str, ...] = field(default_factory=tuple)
    known: bool = True                 # False: neither a recorded run nor a known scenario (always blocked)

    def to_json(self) -> dict[str, Any]:
        return {"subject": self.subject, "allowed": self.allowed, "known": self.known,
                "reasons": list(self.reasons)}

    def describe(self) -> str:
        if self.allowed:
            return f"allowed: {self.subject}" + (f" ({'; '.join(self.reasons)})" if self.reasons else "")
        return f"blocked: {self.subject}: " + "; ".join(self.reasons)
