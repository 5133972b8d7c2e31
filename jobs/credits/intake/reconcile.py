"""Nothing lost on a crash: the cases and case alerts the credit ledger promised, put back at start.

Recording a batch (`recorder.Recorder`) commits the ledger first (`run.recorded`, `case.opened`,
`alert.queued`), then queues the alerts in the outbox, then writes the state. A recorder that dies
after the ledger commit leaves an SEV0 / SEV1 case nobody was told about, or a case that was alerted
but never reached `state.json`. So at start the daemon's credit service calls `queue_lost_alerts`:

1. under the intake lock, so no live recorder is between its ledger commit and its state write;
2. every case the ledger opened (`case.opened`) and the state lacks is restored from that entry (and
   an SEV0 run's quarantine from its `quarantine.moved` entry, so the dispatch gate blocks it again),
   recorded as `case.restored`;
3. every `alert.queued` entry of a case alert (`credits.alert`) is looked up in the outbox by its
   derived id (`messages.alert_id(case, run)`); present (sent, pending, local or held back by the kill
   switch) means nothing to do;
4. for each missing one, the alert is rebuilt from the ledger's run record and classification and the
   case as it stands, recorded as `alert.recovered`, and queued. The next start finds it in the
   outbox: once, never twice.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tinydb import TinyDB

from jobs.actors import DAEMON, Permission
from jobs.context import Context
from jobs.credits.cases import service as case_records
from jobs.credits import messages
from jobs.credits.audit import ledger, who
from jobs.credits.intake.recorder import case_alert
from jobs.credits.records import Case, CaseStatus, Classification, Likelihood, RunRecord, Severity
from jobs.credits.intake.schema import FIELDS, validate_run
from jobs.notices import Notice
from jobs.notion import service as notion_mirror
from jobs.settings import Settings
from store import cases as case_store
from store import quarantine as quarantine_store
from store.outbox import Outbox
from store.runs_index import intake_lock, ledger_entries

log = logging.getLogger("chatops.credits.reconcile")

_KINDS = frozenset({"alert.queued", "run.recorded", "case.opened", "quarantine.moved", "quarantine.released"})


@dataclass(frozen=True)
class Reconciled:
    alerts: tuple[str, ...] = ()       # notice ids queued now
    restored: tuple[str, ...] = ()     # case ids put back into the state


def queue_lost_alerts(ctx: Context) -> Reconciled:
    """Restore the cases the state lost, then queue the case alerts the outbox never received (steps 1–4)."""
    with intake_lock(ctx.data_dir):
        entries = ledger_entries(ctx.data_dir, _KINDS)
        opened = {e["data"]["case"]: e for e in entries if e["kind"] == "case.opened"}
        kept = case_store.numbers(ctx.state.snapshot())
        lost = [case_id for case_id in opened if case_records.parse_case_id(case_id) not in kept]
        queued = Outbox(ctx.data_dir).notice_ids()
        missing = [e for e in entries if e["kind"] == "alert.queued" and e["data"].get("notice") == messages.ALERT
                   and messages.alert_id(e["data"]["case"], e["Run_ID"]) not in queued]
        if not missing and not lost:
            return Reconciled()
        runs = {e["Run_ID"]: e for e in entries if e["kind"] == "run.recorded"}
        held = _held_in_quarantine(entries)
        notices: list[Notice] = []
        actor, role = who(DAEMON, Permission.RUN_RECORD)
        with ctx.state.transaction() as db, ledger(ctx).commit() as commit:
            restored = []
            for case_id in lost:
                run_id = opened[case_id]["Run_ID"]
                restored.append(_restore(db, opened[case_id], runs[run_id], held.get(run_id)))
                commit.append("case.restored", actor, role, {"Run_ID": run_id, "data": {
                    "case": case_id, "reason": "the state was not written after the ledger commit (crash); "
                                               "restored from case.opened",
                    "quarantine": held.get(run_id, {}).get("new_path")}})
            for entry in missing:
                case_id, run_id = entry["data"]["case"], entry["Run_ID"]
                case = case_records.load(db, case_id)
                record, classification = _run_from_ledger(runs[run_id], ctx.settings)
                notice = case_alert(ctx.settings, case, record, classification,
                                    opened[case_id]["data"].get("pattern") or "", notion_live=notion_mirror.live(ctx))
                notices.append(notice)
                commit.append("alert.recovered", actor, role, {"Run_ID": run_id, "data": {
                    "case": case_id, "channel": notice.channel, "notice": notice.kind,
                    "notice_id": notice.fields["notice_id"],
                    "reason": "alert.queued is in the ledger but the alert never reached the outbox (crash)"}})
            if restored:   # their mirror change may have found no case before the restore: queue it again
                notion_mirror.queue_changes(ctx, (), restored)
        for notice in notices:
            ctx.notifier.send(notice)
    for case_id in lost:
        log.warning("%s was in the credit ledger but not in the state (the recorder stopped before its state "
                    "write); restored it from case.opened", case_id)
    for notice in notices:
        log.warning("%s was never queued (the recorder stopped after its ledger commit); queued it now",
                    notice.fields["notice_id"])
    return Reconciled(tuple(n.fields["notice_id"] for n in notices), tuple(lost))


def _held_in_quarantine(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Run id → its latest quarantine move, for runs not released since."""
    held: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry["kind"] == "quarantine.moved":
            held[entry["Run_ID"]] = {**entry["data"], "moved_at": entry["ts"]}
        elif entry["kind"] == "quarantine.released":
            held.pop(entry["Run_ID"], None)
    return held


def _restore(db: TinyDB, opened: dict[str, Any], run: dict[str, Any], held: dict[str, Any] | None) -> Case:
    """The case as the batch opened it (Status Open, awaiting ACK), from the ledger alone."""
    data = opened["data"]
    due = data.get("ack_due_at")
    case = Case(number=case_records.parse_case_id(data["case"]), scenario_id=data["scenario"], run_id=run["Run_ID"],
                severity=Severity(data["severity"]), status=CaseStatus.OPEN,
                opened_at=datetime.fromisoformat(run["Recorded_At"]), ack_required=due is not None,
                rerun_gate=bool(data.get("rerun_gate")), ack_due_at=datetime.fromisoformat(due) if due else None,
                related_run_ids=(run["Run_ID"],), quarantined_run_ids=(run["Run_ID"],) if held else ())
    case_store.keep_number(db, case.number)
    case_store.insert(db, case_records.to_row(case))
    if held is not None and quarantine_store.get(db, run["Run_ID"]) is None:
        quarantine_store.put(db, {"run_id": run["Run_ID"], "case": data["case"], "path": held["new_path"],
                                  "original_path": held["old_path"], "sha256": held["sha256"],
                                  "moved_at": held["moved_at"], "released_at": None})
    return case


def _run_from_ledger(entry: dict[str, Any], settings: Settings) -> tuple[RunRecord, Classification]:
    """The run record and what policy made of it, as `run.recorded` keeps them.

    The signals that counted are not in the ledger (the score and likelihood are); the alert does
    not show them.
    """
    record = validate_run({name: entry[name] for name in FIELDS if name in entry}, source=f"ledger {entry['Run_ID']}")
    backfill = bool(entry.get("is_backfill"))
    policy = settings.credits
    classification = Classification(
        severity=Severity(entry["Severity"]), variance=entry.get("Variance"),
        baseline_credits=entry.get("Baseline_Credits"), baseline_source=entry.get("Baseline_Source"),
        likelihood=Likelihood(entry["Misconfig_Likelihood"]), misconfig_score=entry.get("Misconfig_Score", 0.0),
        signals=(), exposure=bool(entry.get("Exposure")), backfill=backfill,
        sev1_threshold=policy.backfill_sev1_multiplier if backfill else policy.sev1_multiplier)
    return record, classification
