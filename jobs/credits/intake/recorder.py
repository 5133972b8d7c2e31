"""Recording runs: the runbook's automatic actions, step by step, in one commit per batch (the fast lane aside).

For each accepted run (SEV0 / SEV1 / SEV2 "Immediate Actions (Auto-Applied)"):

1. plan it once (`plan.Planner`): classify it against its scenario's baseline (`policy.classify`) and
   decide, in the one decision tree (`plan.decide`), the case to open or link, quarantine, dispatch
   block or hold, and the alerts; then carry the plan out:
2. write `runs/CREDIT_MONITORING/<date>/run_<id>.json` and its `.sha256` sidecar (durable before the
   commit, or just after it in the daemon: `file_writers`);
3. SEV0: move both to `runs/QUARANTINE/<Run_ID>/`, block downstream dispatch, open a case with a
   15-minute ACK deadline, alert `#ops-critical` (the Notion page lock is the mirror's: it happens when
   the page is written, and only then does the case's thread say it is done; jobs/notion);
   SEV1: open a case with a 1-hour ACK deadline and a rerun gate, alert `#ops-alerts`;
   SEV2: flag for the weekly review; open a case when the scenario's SEV2s persist;
   no baseline: PII/regulatory exposure is SEV0 and a Medium+ misconfig likelihood SEV1, with downstream
   dispatch held until an O3 resolves the case (`policy.unbaselined_severity`); any other run is recorded
   as UNBASELINED and people are told once per scenario how to set a baseline;
   a rerun: link it to its original's case, and escalate that case if it spikes again;
4. queue the Notion mirror's changes of the batch's runs and cases (jobs/notion: before the ledger
   commit, so none can be lost; without Notion configured, each run file carries `Would write to
   Notion` with the exact payload instead);
   append every entry of the batch to the credit ledger in one commit (one fdatasync, one signed
   checkpoint), while the state transaction holding the new cases is still open;
5. queue the alerts, still under the intake lock and before the state transaction writes `state.json`.
   The next start repairs a crash at any point after the ledger commit (`jobs.credits.intake.reconcile`): it
   restores every case the ledger opened and the state lacks, and queues every case alert the ledger
   recorded and the outbox lacks.

The fast lane (`plan.fast_lane`, the one alert-first lane): each commit (`Recorder.record_next`) takes
the alerting runs among the runs waiting (up to two commits' worth ahead of the oldest), else the oldest
`[credits] group_commit_max`, chosen by the same decision tree (each chosen run's classification goes on
to its commit). An alert then waits for its own run's files and one small commit, not for a backlog's
(bench/credits_bench.py, README "Credit monitoring"). Outcomes come back in arrival order. The daemon's
`IntakeQueue` plans each run once when it arrives (`forecast`), puts the alerting ones in front of its
whole backlog, and hands each plan to `record_batch` with its run, whose commit reuses the
classification unless the baseline changed.

All or nothing per commit: if the ledger commit fails, the files written for it are removed and the
state transaction is abandoned, so no case, file or flag refers to a run the ledger does not have.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterable

import orjson
from tinydb import TinyDB

from jobs.actors import DAEMON, Actor, Permission, Role, Subject, authorize
from jobs.context import Context
from jobs.credits.cases import service as case_records
from jobs.credits import messages, policy
from jobs.credits.audit import CREDIT, ledger, run_subject, who
from jobs.credits.intake.file_writers import DurableFileWriter, FileWriter
from jobs.credits.intake.plan import Alert, CaseStep, Dispatch, Planner, RunPlan, fast_lane
from jobs.credits.records import Case, CaseNote, CaseStatus, Classification, RunRecord, Severity
from jobs.notices import Notice
from jobs.notion import service as notion_mirror
from jobs.notion.records import DRY_RUN_KEY
from jobs.settings import Settings
from store import artifacts
from store import cases as case_store
from store import quarantine as quarantine_store
from store import scenarios as scenario_store
from store.access import make_dirs
from store.runs_index import RunsIndex, intake_lock
from store.state import ReadOnlyState


#: The fast lane looks this many commits' worth of waiting runs ahead for alerting ones. Each look
#: classifies every run in the window again, so a wider window costs CPU per commit exactly when a
#: backlog has formed (16 commits' worth made the recorder fall further behind under load:
#: bench/credits_bench.py); the alerts of a longer backlog come as the window reaches them.
LOOKAHEAD_COMMITS = 2



@dataclass(frozen=True)
class Outcome:
    """What became of one submitted run, for the CLI, the inbox and the HTTP answer."""

    run_id: str
    recorded: bool
    severity: str = ""
    case_id: str = ""
    artifact: str = ""
    message: str = ""
    alerts: int = 0           # notices queued because of this run (alert, escalation, unbaselined)
    quarantined: bool = False         # the run file is in runs/QUARANTINE/<Run_ID>/ (`artifact` says where)
    dispatch_blocked: bool = False    # downstream dispatch blocked (quarantine) or held for an O3

    def to_json(self) -> dict[str, Any]:
        return {"Run_ID": self.run_id, "recorded": self.recorded, "Severity": self.severity or None,
                "Case_ID": self.case_id or None, "artifact": self.artifact or None, "message": self.message,
                "alerts": self.alerts, "quarantined": self.quarantined, "dispatch_blocked": self.dispatch_blocked}


@dataclass
class _Planned:
    """One run of a batch while it is being recorded: its plan, and what carrying it out made."""

    plan: RunPlan
    payload: dict[str, Any]
    artifact: str = ""
    sha256: str = ""
    case: Case | None = None
    entries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    @property
    def record(self) -> RunRecord:
        return self.plan.record

    @property
    def classification(self) -> Classification:
        return self.plan.classification


def o3_names(ctx: Context) -> tuple[str, ...]:
    return tuple(sorted(a.name for a in ctx.people.with_role(Role.O3)))


class Recorder:
    """Records runs for one data directory; keeps the runs index between batches (daemon, bench)."""

    def __init__(self, ctx: Context, writer: FileWriter | None = None) -> None:
        self.ctx = ctx
        self.index = RunsIndex.open(ctx.data_dir)
        # Kept between batches: starting 32 threads per batch costs more than a small batch's writes.
        # Idle threads end when the recorder is garbage-collected; the daemon closes its writer.
        self.writer = writer or DurableFileWriter()

    def record(self, records: Iterable[RunRecord], actor: Actor = DAEMON) -> list[Outcome]:
        """Record every run, one `record_next` commit after another; outcomes in the order given."""
        records = list(records)
        if not records:
            return []
        self.authorise(actor, records)
        outcomes: dict[int, Outcome] = {}
        backlog = deque(range(len(records)))
        window: list[int] = []
        while window or backlog:
            while backlog and len(window) < self.lookahead:
                window.append(backlog.popleft())
            done = self.record_next([records[i] for i in window], actor)
            outcomes.update((window[k], outcome) for k, outcome in done.items())
            window = [i for k, i in enumerate(window) if k not in done]
        return [outcomes[i] for i in range(len(records))]

    def authorise(self, actor: Actor, records: list[RunRecord]) -> None:
        """Recording is a permission like any other (the daemon has it; a CLI user needs it)."""
        subject = run_subject(records[0].run_id) if len(records) == 1 else \
            Subject("runs", f"{len(records)} runs", CREDIT)
        authorize(self.ctx, actor, Permission.RUN_RECORD, "runs record", subject)

    def forecast(self, records: list[RunRecord]) -> list[RunPlan | None]:
        """Each run's plan on the last committed state (None: kept out of the fast lane), for the daemon's
        intake queue: `fast_lane` of them says which go in front, and each plan goes to `record_batch`
        with its run, so the commit classifies it again only if its baseline changed meanwhile. An
        ordering only: the commit decides, on the state it commits."""
        self.index.refresh()
        return _Batch(self.ctx, self.ctx.state.snapshot(), self.index, DAEMON, self.writer).forecast(records)

    @property
    def lookahead(self) -> int:
        """How far ahead of the oldest waiting run the fast lane looks for alerting runs."""
        return self.ctx.settings.credits.group_commit_max * LOOKAHEAD_COMMITS

    def record_next(self, waiting: list[RunRecord], actor: Actor = DAEMON) -> dict[int, Outcome]:
        """One commit from the runs waiting, oldest first; returns the outcomes by position in `waiting`.

        The commit holds the alerting runs among `waiting` if there are any (the fast lane), else the
        oldest `group_commit_max` runs. An alert then waits for a few run files and one small commit,
        not for a backlog's worth (bench/credits_bench.py: p99 intake-to-alert-queued). The caller
        gives the rest again, with whatever arrived meanwhile. Each commit is all or nothing.
        Permission is the caller's to check (`authorise`), once per submission, not per commit.
        """
        size = self.ctx.settings.credits.group_commit_max

        def lane_of(batch: _Batch) -> list[tuple[int, RunPlan | None]]:
            plans = batch.forecast(waiting)
            chosen = fast_lane(plans)[:size] or list(range(min(size, len(waiting))))
            return [(k, plans[k]) for k in chosen]
        return self._commit(waiting, actor, lane_of)

    def record_batch(self, records: list[RunRecord], actor: Actor = DAEMON,
                     plans: list[RunPlan | None] | None = None) -> list[Outcome]:
        """One commit of exactly these runs, in this order, for a caller that has chosen them: the
        daemon's intake queue plans each run once, when it arrives (`forecast`), sends alerting runs
        first and gives their plans back here (re-forecasting a whole window on every commit cost a
        fifth of the recorder's time)."""
        priors = plans or [None] * len(records)
        done = self._commit(records, actor, lambda batch: list(enumerate(priors)))
        return [done[k] for k in range(len(records))]

    def _commit(self, waiting: list[RunRecord], actor: Actor,
                lane_of: Callable[["_Batch"], list[tuple[int, RunPlan | None]]]) -> dict[int, Outcome]:
        """Plan the runs `lane_of` picks, write their files, commit; then queue the batch's alerts.

        Most batches change nothing in the state (no case opened or touched): they are planned on the
        current snapshot, parsed once per version, and commit the ledger alone. A batch that would
        change the state finds the snapshot read-only (`ReadOnlyState`) before anything is written, and
        is planned again inside a state transaction, which then commits with the ledger. Parsing and
        re-encoding the whole state on every commit was a fifth of the recorder's time at 1,000 runs/s,
        and grows with the number of cases (bench/credits_bench.py). Both run under the intake lock,
        which every recorder holds, and only recorders open cases.
        """
        ctx = self.ctx
        with intake_lock(ctx.data_dir):
            self.index.refresh()
            try:
                batch, outcomes = self._planned(ctx.state.snapshot(), waiting, actor, lane_of)
            except ReadOnlyState:
                unqueued: Exception | None = None
                with ctx.state.transaction() as db:
                    batch, outcomes = self._planned(db, waiting, actor, lane_of)
                    # Queued before the state write: the ledger commit already holds the cases, so an
                    # alert waits for the ledger and the outbox, not for `state.json` as well.
                    try:
                        self._queue(batch)
                    except Exception as exc:    # the ledger has the cases: the state must get them too
                        unqueued = exc
                if unqueued is not None:
                    raise unqueued
            else:
                self._queue(batch)
            self.index.refresh()
        return outcomes

    def _queue(self, batch: "_Batch") -> None:
        """Queue the batch's alerts, under the intake lock: `reconcile.queue_lost_alerts` holds this lock,
        so it sees a batch either with its alerts in the outbox or from a recorder that died, and it
        restores from the ledger any case whose state write a crash prevented."""
        for notice in batch.notices():
            self.ctx.notifier.send(notice)

    def _planned(self, db: TinyDB, waiting: list[RunRecord], actor: Actor,
                 lane_of: Callable[["_Batch"], list[tuple[int, RunPlan | None]]]) -> tuple["_Batch", dict[int, Outcome]]:
        """Plan and commit one batch on `db`; all or nothing (a failure removes the files written)."""
        batch = _Batch(self.ctx, db, self.index, actor, self.writer)
        try:
            outcomes = {k: batch.plan(waiting[k], prior) for k, prior in lane_of(batch)}
            batch.commit()
        except BaseException:
            batch.abandon()
            raise
        return batch, outcomes


class _Batch:
    """The runs of one commit: planned one by one (`plan.Planner`), carried out, then committed together."""

    def __init__(self, ctx: Context, db: TinyDB, index: RunsIndex, actor: Actor, writer: FileWriter) -> None:
        self.ctx = ctx
        self.writer = writer
        self.db = db
        self.index = index
        self.actor = actor
        self.policy = ctx.settings.credits
        self.now = ctx.now()
        self.planner = Planner(ctx.state, db, index, self.policy)
        self.planned: list[_Planned] = []
        self.directories: set[Path] = set()            # date directories made by this batch (once each)
        self.files: list[tuple[Path, bytes]] = []       # every run file and sidecar of the batch
        self.seen: set[str] = set()
        self.names: dict[Path, str] = {}                 # run file -> the Run_ID of this batch writing it
        self.files_written = False
        self.mirror_live = notion_mirror.live(ctx)     # Notion configured: queue changes; else a dry run

    # ---- step 1: classify and decide (`plan`), then carry the decision out ------------------------

    def forecast(self, records: list[RunRecord]) -> list[RunPlan | None]:
        """Each run's plan as the fast lane sees it, on this batch's state; None for a run kept out of it.

        A forecast from the same decision tree `plan` applies, on a planner of its own (so the commit's
        own plans start afresh): a run forecast wrongly is still recorded correctly, only in the other
        commit. Kept out, so that order within the batch cannot change an outcome: a Run_ID given twice
        or already recorded, a rerun whose original is in the batch.
        """
        counts: dict[str, int] = {}
        for record in records:
            counts[record.run_id] = counts.get(record.run_id, 0) + 1
        planner = Planner(self.ctx.state, self.db, self.index, self.policy)
        return [None if counts[r.run_id] > 1 or self.index.get(r.run_id) is not None or r.rerun_of in counts
                else planner.plan(r) for r in records]

    def _save(self, case: Case) -> None:
        case_records.save(self.db, case)
        if case.is_open:
            newest = self.planner.open_case_of(case.scenario_id)
            if newest is None or newest.number <= case.number:
                self.planner.open_cases[case.scenario_id] = case

    def plan(self, record: RunRecord, prior: RunPlan | None = None) -> Outcome:
        """Plan `record` (reusing the classification of `prior`, its plan from arrival, if still valid),
        carry the plan out in this batch, and prepare its files."""
        if record.run_id in self.seen or self.index.get(record.run_id) is not None:
            known = self.index.get(record.run_id)
            where = f" (ledger seq {known.seq})" if known else " (earlier in this batch)"
            return Outcome(record.run_id, False, message=f"duplicate: {record.run_id} is already recorded{where}; "
                                                         "not recorded twice")
        path = self._run_file(record)
        owner = self._file_owner(record, path)
        if owner:
            return Outcome(record.run_id, False, message=(
                f"refused: {record.run_id} would be written to {path.relative_to(self.ctx.data_dir)}, the run "
                f"file of {owner} (Run_IDs that differ only by a run_ / RUN- prefix name the same file); send "
                "it again with a Run_ID of its own"))
        self.seen.add(record.run_id)
        self.names[path] = record.run_id
        decided = self.planner.plan(record, prior)
        classification = decided.classification
        payload = {**record.to_fields(), **classification.to_fields(), "is_backfill": classification.backfill,
                   "Recorded_At": self.now.isoformat()}
        planned = _Planned(decided, payload)
        if decided.weekly_review:
            payload["weekly_review"] = True
        if decided.case is CaseStep.LINK_RERUN:
            self._link_rerun(planned, case_records.case_for_run(self.db, record.rerun_of))
        elif decided.case is CaseStep.OPEN:
            self._open_case(planned, decided.pattern)
        elif decided.case is CaseStep.JOIN:
            self._join(planned)
        if Alert.UNBASELINED in decided.alerts:
            self._unbaselined(planned)
        if decided.dispatch is not Dispatch.FREE:
            payload["dispatch_blocked"] = True
        if decided.dispatch is Dispatch.HELD:
            planned.entries.insert(0, ("dispatch.blocked", {"Run_ID": record.run_id, "data": {
                "case": planned.case.case_id if planned.case else None,
                "reason": f"{decided.severity.value} with no baseline for {record.scenario_id}: downstream "
                          "dispatch held until an O3 resolves the case"}}))
        if planned.case is not None:
            payload["Case_ID"] = planned.case.case_id
        if not self.mirror_live:
            payload[DRY_RUN_KEY] = notion_mirror.dry_run_of(payload, quarantined=decided.quarantine)
        self.planned.append(planned)
        self._write(planned, path)
        return _outcome(planned)

    def _run_file(self, record: RunRecord) -> Path:
        """`runs/CREDIT_MONITORING/<local date of the run>/run_<id>.json` in the data directory."""
        date = self.ctx.local(record.started_at).date().isoformat()
        return self.ctx.data_dir / artifacts.MONITORING / date / artifacts.run_file_name(record.run_id)

    def _file_owner(self, record: RunRecord, path: Path) -> str:
        """Another recorded run whose file `path` is ("" when none): this run must not replace it.

        A file already there is either another run's (its Run_ID is recorded) or left by an attempt
        that crashed before its commit (nobody's: replaced)."""
        if path in self.names:
            return self.names[path]
        try:
            other = orjson.loads(path.read_bytes()).get("Run_ID")
        except (FileNotFoundError, orjson.JSONDecodeError, AttributeError):
            return ""
        return other if isinstance(other, str) and other != record.run_id and self.index.get(other) else ""

    def _open_case(self, planned: _Planned, pattern: str = "") -> None:
        record, classification = planned.record, planned.classification
        severity = classification.severity
        minutes = policy.ack_minutes(severity, self.policy)
        case = Case(number=case_store.next_number(self.db), scenario_id=record.scenario_id, run_id=record.run_id,
                    severity=severity, status=CaseStatus.OPEN, opened_at=self.now, ack_required=minutes is not None,
                    rerun_gate=policy.rerun_gate_required(classification, self.policy),
                    ack_due_at=self.now + timedelta(minutes=minutes) if minutes else None,
                    related_run_ids=(record.run_id,),
                    quarantined_run_ids=(record.run_id,) if planned.plan.quarantine else ())
        case_store.insert(self.db, case_records.to_row(case))
        self.planner.open_cases[case.scenario_id] = case
        planned.case = case
        planned.entries.append(("case.opened", {"Run_ID": record.run_id, "data": {
            "case": case.case_id, "scenario": record.scenario_id, "severity": severity.value,
            "ack_due_at": case.ack_due_at.isoformat() if case.ack_due_at else None, "rerun_gate": case.rerun_gate,
            "pattern": pattern or None}}))
        notice = case_alert(self.ctx.settings, case, record, classification, pattern, notion_live=self.mirror_live)
        planned.notices.append(notice)
        planned.entries.append(("alert.queued", {"Run_ID": record.run_id, "data": {
            "case": case.case_id, "channel": notice.channel, "notice": notice.kind, "severity": severity.value}}))

    def _join(self, planned: _Planned) -> None:
        """A SEV2 of a scenario with an open case: listed in that case's related runs."""
        existing = self.planner.open_case_of(planned.record.scenario_id)
        if existing is None:       # the planner decided JOIN on an open case this batch must know
            raise RuntimeError(f"{planned.record.scenario_id} has no open case to join; nothing was recorded")
        updated = replace(existing, related_run_ids=existing.related_run_ids + (planned.record.run_id,))
        self._save(updated)
        planned.case = updated

    def _unbaselined(self, planned: _Planned) -> None:
        scenario_id = planned.record.scenario_id
        row = {**(scenario_store.get(self.db, scenario_id) or {"scenario_id": scenario_id}),
               "unbaselined_notified": True}
        scenario_store.put(self.db, row)
        if self.planner.scenario_rows is not None:
            self.planner.scenario_rows[scenario_id] = row
        self.planner.scenarios.pop(scenario_id, None)
        notice = messages.unbaselined(self.ctx.settings, planned.record)
        planned.notices.append(notice)
        planned.entries.append(("alert.queued", {"Run_ID": planned.record.run_id, "data": {
            "channel": notice.channel, "notice": notice.kind, "scenario": scenario_id,
            "reason": "no baseline for this scenario"}}))

    def _link_rerun(self, planned: _Planned, original_case: Case) -> None:
        """Runbook "Monitor Rerun": a rerun belongs to its original's case; a spike escalates it.

        No second case is opened for a rerun: the original case carries it, takes the rerun's severity
        if worse, and asks for a new ACK when the rerun is itself SEV0 / SEV1. Why it escalates (if it
        does) is the plan's (`plan.rerun_escalations`).
        """
        record, classification = planned.record, planned.classification
        linked = replace(original_case, related_run_ids=original_case.related_run_ids + (record.run_id,))
        minutes = policy.ack_minutes(classification.severity, self.policy)
        if minutes is not None:
            linked = replace(linked, ack_required=True, acked_at=None, acked_by="", reminders_sent=0,
                             ack_due_at=self.now + timedelta(minutes=minutes),
                             severity=min(linked.severity, classification.severity, key=_rank))
        if planned.plan.quarantine:
            linked = replace(linked, quarantined_run_ids=linked.quarantined_run_ids + (record.run_id,))
        why = planned.plan.escalation
        if why:
            linked = linked.with_note(CaseNote(self.now, "daemon", why, "escalation"),
                                      status=CaseStatus.INVESTIGATING, escalations=linked.escalations + 1,
                                      rerun_decision=None, rerun_decision_text="", rerun_decided_by="",
                                      approval_id="", rerun_gate=True, resolved_at=None)
            planned.entries.append(("case.escalated", {"Run_ID": record.run_id, "data": {
                "case": linked.case_id, "rerun_of": record.rerun_of, "reason": why,
                "severity": classification.severity.value, "escalations": linked.escalations}}))
            notice = messages.escalated(self.ctx.settings, linked, record, classification, why, o3_names(self.ctx))
            planned.notices.append(notice)
            planned.entries.append(("alert.queued", {"Run_ID": record.run_id, "data": {
                "case": linked.case_id, "channel": notice.channel, "notice": notice.kind,
                "dm_to": list(notice.dm_to)}}))
        else:
            planned.entries.append(("case.noted", {"Run_ID": record.run_id, "data": {
                "case": linked.case_id, "note": f"rerun {record.run_id} of {record.rerun_of} linked "
                                                f"({classification.severity.value})"}}))
        self._save(linked)
        planned.case = linked

    # ---- step 2 and 3: files, quarantine ---------------------------------------------------------

    def _write(self, planned: _Planned, path: Path) -> None:
        """Prepare the run file at `path` (`_run_file`) and its sidecar; `_written` writes the batch's files."""
        if path.parent not in self.directories:    # once per batch and date: a mkdir waits on writers there
            make_dirs(path.parent)
            self.directories.add(path.parent)
        planned.artifact = path.relative_to(self.ctx.data_dir).as_posix()
        planned.written.append(planned.artifact)
        payload = artifacts.run_file_bytes(planned.payload)
        planned.sha256 = artifacts.sha256_hex(payload)
        self.files += [(path, payload), (artifacts.sidecar_of(path), artifacts.sidecar_line(path.name, planned.sha256))]

    def _written(self) -> None:
        """Write the batch's files (durably now or after the commit, by the writer: `file_writers`)."""
        self.files_written = True     # before: a write that fails half-way leaves files to remove
        self.writer.write(self.files)

    def _quarantine(self, planned: _Planned) -> None:
        record = planned.record
        moved = artifacts.move(self.ctx.data_dir, Path(planned.artifact), artifacts.quarantine_dir(record.run_id),
                               planned.sha256)
        planned.written.append(str(moved.new_path))
        case_id = planned.case.case_id if planned.case else None
        quarantine_store.put(self.db, {"run_id": record.run_id, "case": case_id, "path": str(moved.new_path),
                                       "original_path": str(moved.old_path), "sha256": moved.sha256,
                                       "moved_at": self.now.isoformat(), "released_at": None})
        planned.entries[:0] = [
            ("quarantine.moved", {"Run_ID": record.run_id, "data": {
                "old_path": str(moved.old_path), "new_path": str(moved.new_path), "sha256": moved.sha256,
                "case": case_id, "reason": "SEV0: PII/regulatory exposure with a credit spike"}}),
            ("dispatch.blocked", {"Run_ID": record.run_id, "data": {
                "case": case_id, "reason": "SEV0 quarantine: downstream dispatch blocked until release"}}),
        ]

    # ---- step 4: one commit ----------------------------------------------------------------------

    def commit(self) -> None:
        self._written()
        for planned in self.planned:
            if planned.classification.severity is Severity.SEV0:
                self._quarantine(planned)
        ledger_actor, role = who(self.actor, Permission.RUN_RECORD)
        runs = [planned.record.run_id for planned in self.planned]
        cases = [planned.case for planned in self.planned if planned.case is not None]
        if self.mirror_live:   # before the commit: a change committed is never without its mirror change
            notion_mirror.queue_changes(self.ctx, runs, cases, mirror_live=True)
        with ledger(self.ctx).commit() as c:
            for planned in self.planned:
                c.append("run.recorded", ledger_actor, role, {
                    **planned.payload, "artifact": planned.artifact, "artifact_sha256": planned.sha256})
                for kind, fields in planned.entries:
                    c.append(kind, ledger_actor, role, fields)
        if c.entries:
            self.writer.committed(c.entries[-1].seq, self._files_now(), c.entries[-1].ts)
        if not self.mirror_live and cases:   # a dry run logs only what was committed
            notion_mirror.queue_changes(self.ctx, (), cases, mirror_live=False)

    def _files_now(self) -> list[Path]:
        """Each run file and sidecar of the batch where it is now (an SEV0 run's in quarantine)."""
        paths = []
        for planned in self.planned:
            current = self.ctx.data_dir / planned.written[-1]
            paths += [current, artifacts.sidecar_of(current)]
        return paths

    def abandon(self) -> None:
        """The batch failed: remove every file it wrote, so nothing stays that no ledger entry names."""
        if not self.files_written:
            return
        for planned in self.planned:
            for path in planned.written:
                artifacts.remove_artifact(self.ctx.data_dir, Path(path))

    def notices(self) -> list[Notice]:
        return [n for planned in self.planned for n in planned.notices]


def case_alert(settings: Settings, case: Case, record: RunRecord, classification: Classification,
               pattern: str = "", notion_live: bool = False) -> Notice:
    """The alert that opens a case: what was done automatically and what is required of people.

    "Done automatically" lists only what is done when the alert is queued: the Notion page lock comes
    later (the mirror's worker), and the case's thread says so when it has happened.

    Also what `jobs.credits.intake.reconcile` queues when a crash lost the alert after the ledger commit.
    """
    held = policy.held_without_baseline(classification)
    done = []
    if case.severity is Severity.SEV0:
        done += [f"artifacts quarantined to runs/QUARANTINE/{record.run_id}/", "downstream dispatch blocked"]
    elif held:
        done.append(f"downstream dispatch of {record.run_id} held")
    done.append(f"{case.case_id} opened")
    return messages.alert(settings, case, record, classification, done,
                          _required(case, record, held, notion_live), pattern)


def _required(case: Case, record: RunRecord, held: bool, notion_live: bool) -> list[str]:
    """What people must do. Only what chatops did goes under "done": the Notion page lock is pending
    (the mirror locks it and says so in this thread) or, without Notion configured, asked of a person."""
    required = []
    if case.ack_required and case.ack_due_at is not None:
        minutes = int((case.ack_due_at - case.opened_at).total_seconds() // 60)
        required.append(f"ACK by an O2 or O3 within {minutes} min (`ACK` in the thread)")
    if case.severity is Severity.SEV0:
        required.append("O3 assesses the PII/regulatory exposure; escalate to #security-incidents if real")
        if notion_live:
            required.append(f"watch for the Notion lock: the RUNS_LEDGER page of {record.run_id} is locked when the "
                            "mirror writes it, and this thread says so then; if it does not within minutes, "
                            "see `chatops notion status` and lock the page by hand")
        else:
            required.append(f"lock the Notion RUNS_LEDGER page of {record.run_id} read-only by hand (Notion is "
                            "not configured here, so nothing has locked it)")
    if held:
        decides = ("an O3 decides on this run (`chatops case resolve "
                   f"{case.case_id}` releases its downstream dispatch)" if case.severity is Severity.SEV1
                   else "the severity assumes the worst")
        required.append(f"{record.scenario_id} has no baseline, so {decides}; set one with `chatops baseline set "
                        f"--scenario {record.scenario_id} --credits N --reason …` (O3)")
    if case.rerun_gate:
        required.append("no rerun until an O3 posts `APPROVED for rerun - <mitigation>`")
    if case.quarantined_run_ids:
        required.append("quarantine release only by an O3 once the case is resolved")
    return required


def _outcome(planned: _Planned) -> Outcome:
    """What the caller is told of a planned run, as it will be once the batch commits (all or nothing):
    a SEV0 run's file is then in quarantine, so that is the path given, never the one it left."""
    record = planned.record
    quarantined = planned.classification.severity is Severity.SEV0
    artifact = (artifacts.quarantine_dir(record.run_id) / Path(planned.artifact).name).as_posix() if quarantined \
        else planned.artifact
    return Outcome(record.run_id, True, planned.classification.severity.value,
                   planned.case.case_id if planned.case else "", artifact, _summary(planned), len(planned.notices),
                   quarantined=quarantined, dispatch_blocked=planned.payload.get("dispatch_blocked") is True)


def _summary(planned: _Planned) -> str:
    c = planned.classification
    variance = f"{c.variance:.2f}× baseline {c.baseline_credits:,.2f}" if c.variance is not None else "no baseline"
    case = f", {planned.case.case_id}" if planned.case else ""
    line = f"recorded {planned.record.run_id}: {c.severity.value} ({variance}, misconfig {c.likelihood.value}{case})"
    if c.severity is Severity.SEV0:
        return (line + f"; quarantined to {artifacts.quarantine_dir(planned.record.run_id).as_posix()}/, "
                "downstream dispatch blocked")
    if planned.payload.get("dispatch_blocked") is True:
        return line + "; downstream dispatch held until an O3 resolves the case"
    return line


def _rank(severity: Severity) -> int:
    """SEV0 is the worst: lower rank, more severe."""
    return list(Severity).index(severity)
