"""Apply a baseline change in one all-or-nothing step: store, JSON export, update note, ledger entry.

Order, under the state store's lock (so two changes cannot interleave):

1. when the change applies an approved proposal, take the approval decision (`jobs.approvals`): its
   request is updated in the transaction's memory copy and its ledger entry joins this change's
   ledger commit; if it is refused (someone else decided first), the refusal is recorded and nothing
   else happens;
2. append the new version to the store (in the transaction's memory copy, not yet on disk);
3. write the update note and the export (each atomically: temp file, fsync, rename), keeping their
   previous bytes in memory;
4. write the ledger commit — the decision and the change in one write: the commit point, durable and
   signed;
5. leave the transaction, which writes `state.json` atomically.

If step 3 or 4 fails, the previous note and export are put back and the transaction raises, so the
store is unchanged and the approval still pending: nothing happened, not even the decision. A crash
between 4 and 5 leaves a ledger entry that carries every field of the new version (and the decision),
and the export's digest (kept in the store) no longer matches, which `baseline show` reports. A
hand-edited export is never overwritten silently: it is kept beside the new one as
`credit-baselines.json.edited-<UTC>` and its differences go into the same ledger entry.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jobs import approvals
from jobs.actors import Actor, Permission, Subject, authorize, refuse
from jobs.approvals import Decision
from jobs.context import Context
from jobs.credits.audit import CREDIT, scenario_subject
from jobs.errors import Refused
from store import baselines as store
from store.baselines import Baseline
from store.access import file_mode_in, make_dirs
from store.files import write_file_atomically
from store.ledger.ledger import Commit

#: The subject of `baseline export`: the JSON file other tools read.
EXPORT_SUBJECT = Subject("export", "config/credit-baselines.json", CREDIT)


@dataclass(frozen=True)
class NoteWrite:
    path: Path
    text: str                 # the whole new file content


@dataclass(frozen=True)
class ProposalApproval:
    """The approval of a proposal that a change applies; decided in the change's own commit (step 1).

    The request must be recorded in the credit ledger, where the change is.
    """

    request_id: str
    what: dict[str, Any]      # what the approver saw; its hash must still be the request's
    note: str = ""
    allow_self: bool = False


@dataclass(frozen=True)
class Applied:
    baseline: Baseline
    note_path: Path | None
    export_path: Path
    hand_edit: store.ExportStatus | None      # the hand edit that was found and set aside, if any
    kept_edit: Path | None


def commit(ctx: Context, actor: Actor, kind: str, baseline: Baseline, ledger_data: dict[str, Any],
           note: NoteWrite | None = None, approval: ProposalApproval | None = None) -> Applied:
    """Append `baseline` as the scenario's next version and record it; see the module docstring.

    With `approval` the decision is taken at `baseline.last_updated`, the change's own time, so the
    approval id already written into the baseline and its note is the decision's.
    """
    now = ctx.now()
    with ctx.state.transaction() as db:
        status = store.check_export(ctx.state, ctx.data_dir)
        previous: dict[Path, bytes | None] = {}
        try:
            with ctx.ledgers.credit.commit() as entries:
                refusal = _decide(ctx, actor, approval, baseline.last_updated, entries)
                if refusal is None:
                    baseline = dataclasses.replace(baseline, version=store.next_version(db, baseline.scenario_id))
                    store.append(db, baseline)
                    export_path, payload = store.prepare_export(ctx.data_dir, db)
                    kept = _keep_hand_edit(export_path, status, now)
                    previous[export_path] = _read(export_path)
                    if note is not None:
                        previous[note.path] = _read(note.path)
                        make_dirs(note.path.parent)
                        write_file_atomically(note.path, note.text.encode("utf-8"))
                    store.write_export(db, export_path, payload, now)
                    entries.append(kind, actor.ledger_id, actor.role_for(Permission.BASELINE_CHANGE) or None, {
                        "data": {"scenario_id": baseline.scenario_id, **ledger_data, **_version_fields(baseline),
                                 **_note_fields(ctx, note), **_edit_fields(ctx, status, kept)}})
        except BaseException:
            _restore(previous)
            raise
    if refusal is not None:
        raise refusal
    return Applied(baseline=baseline, note_path=note.path if note else None, export_path=export_path,
                   hand_edit=None if status.ok else status, kept_edit=kept)


def _decide(ctx: Context, actor: Actor, approval: ProposalApproval | None, at: datetime, entries: Commit
            ) -> Refused | None:
    """Step 1: the approval decision in this commit; a refusal is returned, recorded, to be raised after it."""
    if approval is None:
        return None
    try:
        approvals.decide(ctx, approval.request_id, actor, Decision.APPROVED, approval.what, note=approval.note,
                         allow_self=approval.allow_self, at=at, entries=entries)
    except Refused as exc:
        return exc
    return None


def refused(ctx: Context, actor: Actor, action: str, scenario_id: str, refusal: Exception,
            permission: Permission = Permission.BASELINE_CHANGE, **detail: Any) -> None:
    """A refusal about a scenario's baseline, recorded by the gate (`jobs.actors.refuse`) in the credit ledger."""
    refuse(ctx, actor, permission, action, scenario_subject(scenario_id), refusal, detail=detail)


def record(ctx: Context, kind: str, actor: Actor, fields: dict[str, Any],
           permission: Permission = Permission.BASELINE_CHANGE) -> None:
    """One entry in the credit ledger, with the role the actor used for baseline changes.

    Details go under `data` (docs/ledger.md §2: only `run.recorded` keeps runbook fields flat).
    """
    ctx.ledgers.credit.append(kind, actor.ledger_id, actor.role_for(permission) or None, fields)


def _version_fields(baseline: Baseline) -> dict[str, Any]:
    return {
        "version": baseline.version,
        "source": baseline.source.value,
        "median_credits": baseline.median_credits,
        "previous_credits": baseline.previous_credits,
        "sample_size": baseline.sample_size,
        "coefficient_of_variation": baseline.cv,
        "window_days": baseline.window_days,
        "window_start": baseline.window_start.isoformat() if baseline.window_start else None,
        "window_end": baseline.window_end.isoformat() if baseline.window_end else None,
        "approval_id": baseline.approval_id or None,
        "proposer": baseline.proposer or None,
        "approver": baseline.approver or None,
        "self_approved": baseline.self_approved,
        "reason": baseline.reason,
        "data_digest": baseline.data_digest or None,
    }


def _note_fields(ctx: Context, note: NoteWrite | None) -> dict[str, Any]:
    if note is None:
        return {}
    return {"note": str(note.path.relative_to(ctx.data_dir))}


def _edit_fields(ctx: Context, status: store.ExportStatus, kept: Path | None) -> dict[str, Any]:
    if status.ok:
        return {}
    return {"export_hand_edit": {
        "state": status.state,
        "found_sha256": status.found_sha256 or None,
        "expected_sha256": status.expected_sha256 or None,
        "kept_as": str(kept.relative_to(ctx.data_dir)) if kept else None,
        "differences": [[d.scenario_id, d.field, d.in_file, d.in_store] for d in status.differences],
    }}


def _keep_hand_edit(path: Path, status: store.ExportStatus, now: datetime) -> Path | None:
    """Copy a hand-edited export aside before it is replaced: it is evidence, not data."""
    if status.state != "edited" or not path.exists():
        return None
    kept = path.with_name(f"{path.name}.edited-{now.strftime('%Y%m%dT%H%M%SZ')}")
    shutil.copy2(path, kept)
    os.chmod(kept, file_mode_in(kept.parent))     # copy2 copies the mode, which may predate the data dir's rule
    return kept


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _restore(previous: dict[Path, bytes | None]) -> None:
    for path, content in previous.items():
        if content is None:
            path.unlink(missing_ok=True)
        else:
            write_file_atomically(path, content)


def rewrite_export(ctx: Context, actor: Actor) -> store.ExportStatus:
    """Write the export again from the store (after a hand edit or a deletion); the edit is kept aside."""
    authorize(ctx, actor, Permission.BASELINE_CHANGE, "baseline export", EXPORT_SUBJECT)
    now = ctx.now()
    with ctx.state.transaction() as db:
        status = store.check_export(ctx.state, ctx.data_dir)
        export_path, payload = store.prepare_export(ctx.data_dir, db)
        kept = _keep_hand_edit(export_path, status, now)
        previous = {export_path: _read(export_path)}
        try:
            store.write_export(db, export_path, payload, now)
            record(ctx, "baseline.exported", actor, {"data": {
                "path": str(store.EXPORT_PATH), "scenarios": len(store.current_in(db)),
                **_edit_fields(ctx, status, kept)}})
        except BaseException:
            _restore(previous)
            raise
    return status
