"""One decision tree at intake: what the runbook's automatic actions will do with a run, planned once.

Why: three places need the same answer (will this run open or join a case, be quarantined, hold its
downstream dispatch, raise an alert?): the daemon's intake queue when a run arrives (`forecast`: where
it waits), the fast lane (which waiting runs the next commit takes) and the commit itself (what is
written). They used to answer it twice, in two copies of the tree that could drift apart. Now
`decide` is the tree: a pure function of the run, its classification and the few facts the batch knows
(`Facts`), returning a frozen `RunPlan`. `Planner` gathers those facts for one batch, in arrival order,
keeps what earlier plans of the batch change (a case opened, a scenario told it has no baseline), and
classifies each run once: a plan made at arrival hands its classification to the commit, which
classifies again only if the baseline, the backfill window or the policy changed in between.

The plan says what will happen; `recorder._Batch` carries it out (case numbers, files, ledger entries
and alerts exist only inside the commit's state transaction).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Callable

from tinydb import TinyDB

from jobs.credits.cases import service as case_records
from jobs.credits import policy
from jobs.credits.records import Case, Classification, RunRecord, ScenarioSettings, Severity
from jobs.settings import CreditsSettings
from store import baselines as baseline_store
from store import cases as case_store
from store import scenarios as scenario_store
from store.baselines import Baseline
from store.runs_index import RunsIndex
from store.state import StateStore


class CaseStep(StrEnum):
    """What the run does to the case register."""

    NONE = "none"
    OPEN = "open"                 # SEV0 / SEV1, or the SEV2 that completes a scenario's pattern
    JOIN = "join"                 # a SEV2 of a scenario with an open case: listed in its related runs
    LINK_RERUN = "link_rerun"     # a rerun: its original's case carries it (runbook "Monitor Rerun")


class Dispatch(StrEnum):
    """Downstream dispatch of the run, as the dispatch gate will answer it."""

    FREE = "free"
    BLOCKED = "blocked"           # SEV0: quarantined until an O3 releases it
    HELD = "held"                 # SEV0 / SEV1 with no baseline: until an O3 resolves the case


class Alert(StrEnum):
    """The notices the run queues."""

    CASE = "case"                 # the alert that opens a case
    ESCALATION = "escalation"     # a rerun spiked again, or ran without an approval
    UNBASELINED = "unbaselined"   # once per scenario: set a baseline


@dataclass(frozen=True)
class Facts:
    """What the batch knows when it plans a run (in arrival order, with the batch's earlier plans)."""

    original: Case | None = None                # the case of the run this one is a rerun of
    open_case: bool = False                     # the scenario has an open case (looked up for a SEV2)
    sev2_times: tuple[datetime, ...] = ()       # the scenario's earlier SEV2 starts within the window
    told: bool = False                          # the scenario was told it has no baseline


@dataclass(frozen=True)
class RunPlan:
    """What recording one run will do: every lane reads this, the commit carries it out."""

    record: RunRecord
    classification: Classification
    case: CaseStep = CaseStep.NONE
    pattern: str = ""             # why a SEV2 opens a case ("Pattern: 3 SEV2 runs of …")
    escalation: str = ""          # why a rerun escalates its original's case ("" when it does not)
    dispatch: Dispatch = Dispatch.FREE
    alerts: tuple[Alert, ...] = ()
    policy: CreditsSettings | None = field(default=None, repr=False, compare=False)  # the thresholds it used

    @property
    def severity(self) -> Severity:
        return self.classification.severity

    @property
    def quarantine(self) -> bool:
        """SEV0: the run file goes to runs/QUARANTINE/<Run_ID>/."""
        return self.classification.severity is Severity.SEV0

    @property
    def weekly_review(self) -> bool:
        """SEV2: flagged for the weekly review."""
        return self.classification.severity is Severity.SEV2

    @property
    def alerting(self) -> bool:
        """Raises an alert: the fast lane's runs, and the ones the intake queue puts in front."""
        return bool(self.alerts)


def decide(record: RunRecord, classification: Classification, facts: Facts, settings: CreditsSettings) -> RunPlan:
    """The decision tree of the runbook's "Immediate Actions (Auto-Applied)" for one classified run."""
    severity = classification.severity
    case, pattern, escalation = CaseStep.NONE, "", ""
    alerts: list[Alert] = []
    if facts.original is not None:
        case = CaseStep.LINK_RERUN
        escalation = "; ".join(rerun_escalations(record, classification, facts.original))
        if escalation:
            alerts.append(Alert.ESCALATION)
    elif severity in (Severity.SEV0, Severity.SEV1):
        case = CaseStep.OPEN
        alerts.append(Alert.CASE)
    elif severity is Severity.SEV2:
        if facts.open_case:
            case = CaseStep.JOIN
        else:
            times = [*facts.sev2_times, record.started_at]
            if policy.sev2_persists(times, record.started_at, settings):
                window = timedelta(days=settings.sev2_window_days)
                recent = sum(1 for t in times if t >= record.started_at - window)
                case, pattern = CaseStep.OPEN, (f"Pattern: {recent} SEV2 runs of {record.scenario_id} within "
                                                f"{settings.sev2_window_days} days")
                alerts.append(Alert.CASE)
    if severity is Severity.UNBASELINED and not facts.told:
        alerts.append(Alert.UNBASELINED)
    dispatch = (Dispatch.BLOCKED if severity is Severity.SEV0 else
                Dispatch.HELD if policy.held_without_baseline(classification) else Dispatch.FREE)
    return RunPlan(record, classification, case, pattern, escalation, dispatch, tuple(alerts), settings)


def rerun_escalations(record: RunRecord, classification: Classification, original: Case) -> list[str]:
    """Why a rerun escalates its original's case: it spiked again, or it ran while the gate was shut."""
    reasons = []
    if policy.is_spike(classification):
        reasons.append(f"rerun {record.run_id} of {record.rerun_of} spiked again "
                       f"({classification.variance:.1f}× baseline)" if classification.variance is not None
                       else f"rerun {record.run_id} spiked again")
    if original.rerun_gate and original.rerun_decision is None and original.is_open:
        reasons.append(f"rerun {record.run_id} ran without an O3 `APPROVED for rerun`")
    return reasons


class Planner:
    """Plans the runs of one batch in arrival order, on `db` (the commit's state, or a snapshot).

    Reads what the decisions need once per batch (baselines, scenario settings, open cases) and keeps
    what the batch's own plans change, so the tenth run of a batch sees the first nine as committed.
    """

    def __init__(self, state: StateStore, db: TinyDB, index: RunsIndex, settings: CreditsSettings) -> None:
        self.state = state
        self.db = db
        self.index = index
        self.settings = settings
        self.baselines: dict[str, tuple[float | None, str | None]] = {}
        self.baseline_of: Callable[[str], Baseline | None] | None = None
        self.scenario_rows: dict[str, dict[str, Any]] | None = None       # read once per batch, when first asked
        self.scenarios: dict[str, ScenarioSettings] = {}
        self.open_rows: dict[str, dict[str, Any]] | None = None           # scenario -> its newest open case's row
        self.open_cases: dict[str, Case | None] = {}            # converted when first asked, then kept
        self.opened: set[str] = set()                            # scenarios with a case opened by a plan
        self.sev2: dict[str, list[datetime]] = {}
        self.told: set[str] = set()

    def plan(self, record: RunRecord, prior: RunPlan | None = None) -> RunPlan:
        """Plan `record` after the batch's earlier plans; `prior` is its plan from arrival, if any."""
        scenario_id = record.scenario_id
        classification = self.classify(record, prior)
        original = case_records.case_for_run(self.db, record.rerun_of) if record.rerun_of else None
        scenario = self.scenario(scenario_id)
        sev2 = classification.severity is Severity.SEV2 and original is None
        facts = Facts(original=original,
                      open_case=sev2 and (scenario_id in self.opened or self.open_case_of(scenario_id) is not None),
                      sev2_times=self._recent_sev2(record) if sev2 else (),
                      told=scenario.unbaselined_notified or scenario_id in self.told)
        planned = decide(record, classification, facts, self.settings)
        self._after(planned, facts)
        return planned

    def classify(self, record: RunRecord, prior: RunPlan | None) -> Classification:
        """Classify once: an arrival plan's classification stands while its inputs are unchanged."""
        scenario = self.scenario(record.scenario_id)
        baseline, source = self.baseline(record.scenario_id)
        if prior is not None and prior.policy is self.settings and _same_inputs(
                prior.classification, baseline, source, policy.in_backfill(record, scenario)):
            return prior.classification
        return policy.classify(record, baseline, source, scenario, self.settings)

    def _after(self, planned: RunPlan, facts: Facts) -> None:
        """What this plan changes for the batch's later plans."""
        scenario_id = planned.record.scenario_id
        if planned.case is CaseStep.OPEN:
            self.opened.add(scenario_id)
        elif planned.case is CaseStep.LINK_RERUN and facts.original is not None and (
                planned.escalation or facts.original.is_open):
            self.opened.add(facts.original.scenario_id)
        if planned.severity is Severity.SEV2 and planned.case is not CaseStep.LINK_RERUN:
            self._sev2_times(scenario_id).append(planned.record.started_at)
        if Alert.UNBASELINED in planned.alerts:
            self.told.add(scenario_id)

    def _sev2_times(self, scenario_id: str) -> list[datetime]:
        """Starts of the scenario's SEV2 runs: recorded (runs index), then planned in this batch."""
        if scenario_id not in self.sev2:
            self.sev2[scenario_id] = list(self.index.sev2_times.get(scenario_id, ()))
        return self.sev2[scenario_id]

    def _recent_sev2(self, record: RunRecord) -> tuple[datetime, ...]:
        """The scenario's earlier SEV2 starts within the pattern window of this run's start (the only
        ones `policy.sev2_persists` counts), so a long history is not copied into every plan."""
        since = record.started_at - timedelta(days=self.settings.sev2_window_days)
        return tuple(t for t in self._sev2_times(record.scenario_id) if t >= since)

    def baseline(self, scenario_id: str) -> tuple[float | None, str | None]:
        if scenario_id not in self.baselines:
            if self.baseline_of is None:
                self.baseline_of = baseline_store.current_lookup(self.state)
            found = self.baseline_of(scenario_id)
            self.baselines[scenario_id] = ((found.median_credits, str(found.source.value))
                                           if found is not None else (None, None))
        return self.baselines[scenario_id]

    def scenario(self, scenario_id: str) -> ScenarioSettings:
        if scenario_id not in self.scenarios:
            if self.scenario_rows is None:
                self.scenario_rows = dict(self.state.derived(self.db, scenario_store.TABLE, scenario_store.by_id))
            self.scenarios[scenario_id] = case_records.scenario_from_row(self.scenario_rows.get(scenario_id),
                                                                         scenario_id)
        return self.scenarios[scenario_id]

    def open_case_of(self, scenario_id: str) -> Case | None:
        """The scenario's newest open case, as this batch has left it (read once per batch)."""
        if scenario_id not in self.open_cases:
            if self.open_rows is None:
                self.open_rows = self.state.derived(self.db, case_store.TABLE, case_store.newest_open_by_scenario)
            row = self.open_rows.get(scenario_id)
            # Only the scenarios the batch asks about: a daemon may hold hundreds of open cases.
            self.open_cases[scenario_id] = case_records.from_row(row) if row is not None else None
        return self.open_cases[scenario_id]


def _same_inputs(prior: Classification, baseline: float | None, source: str | None, backfill: bool) -> bool:
    """The baseline and backfill mode `prior` was classified with are still the ones that apply."""
    if baseline is None or baseline <= 0:
        baseline, source = None, None
    return (prior.baseline_credits, prior.baseline_source, prior.backfill) == (baseline, source, backfill)


def fast_lane(plans: list[RunPlan | None]) -> list[int]:
    """The one alert-first lane: positions of the planned runs that raise an alert, in order.

    A SEV2 run that completes a scenario's pattern takes the scenario's earlier SEV2 runs of the batch
    along, so the pattern is counted as in arrival order. Runs planned None (kept out) stay where they
    are.
    """
    sev2: dict[str, list[int]] = {}
    chosen: set[int] = set()
    for k, planned in enumerate(plans):
        if planned is None:
            continue
        if planned.severity is Severity.SEV2 and planned.case in (CaseStep.NONE, CaseStep.OPEN):
            sev2.setdefault(planned.record.scenario_id, []).append(k)
        if planned.alerting:
            chosen.add(k)
        if planned.pattern:
            chosen.update(sev2[planned.record.scenario_id])
    return sorted(chosen)
