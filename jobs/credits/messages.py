"""What credit monitoring says to people: `Notice` records, with a complete plain-text version.

No policy is decided here; a builder takes records and returns a notice. The renderer in
`chatops/render/` reads `fields` (severity, run, case, credits vs baseline, variance, risk flags,
misconfig likelihood, actions done automatically, what is required, buttons wanted) under the keys
`chatops/render/blocks.py` documents (`run`, `case`, `done`, `required`, `actions`): a key it does not know
is not shown, so an alert without them reached Slack without its run, case, actions or buttons.
"""
from __future__ import annotations

from datetime import datetime

from jobs.credits.records import Case, Classification, RunRecord, Severity
from jobs.notices import Notice
from jobs.settings import Settings

ALERT = "credits.alert"
ACK_OVERDUE = "credits.ack_overdue"
UNBASELINED = "credits.unbaselined"
ESCALATED = "credits.escalated"
CASE_UPDATE = "credits.case_update"


#: The kind of subject a case's notices bind their thread to: its replies are read as case replies.
CASE = "case"

def alert_id(case_id: str, run_id: str) -> str:
    """The id of the alert that opened `case_id` for `run_id`, kept in the outbox line (`fields.notice_id`).

    Derived, not random, so the start-up reconciliation can tell whether that alert was ever queued.
    """
    return f"{ALERT}/{case_id}/{run_id}"


def buttons(case: Case) -> list[dict[str, str]]:
    """What a person can still do on the case from the message: each button runs `<command> <case>`.

    ACK while awaiting it; the rerun decision while the gate waits for one (a modal asks for the
    mitigation or the reason). Quarantine release has no button: it needs a finding and a reason
    (`chatops quarantine release RUN_ID --finding … --reason …`).
    """
    actions = []
    if case.awaiting_ack:
        actions.append({"label": "ACK", "command": "case ack", "target": case.case_id, "style": "primary"})
    if case.is_open and case.rerun_gate and case.rerun_decision is None:
        actions += [{"label": "Approve rerun", "command": "rerun approve", "target": case.case_id,
                     "needs": "mitigation", "style": "primary"},
                    {"label": "Deny rerun", "command": "rerun deny", "target": case.case_id, "needs": "reason",
                     "style": "danger"}]
    return actions


def _channel(settings: Settings, severity: Severity) -> str:
    channels = settings.slack.channels
    return channels.ops_critical if severity is Severity.SEV0 else channels.ops_alerts


def _credits_line(record: RunRecord, classification: Classification) -> str:
    if classification.baseline_credits is None or classification.variance is None:
        return f"{record.credits_total:,.2f} credits (no baseline)"
    return (f"{record.credits_total:,.2f} credits vs baseline {classification.baseline_credits:,.2f} "
            f"({classification.variance:.1f}×)")


def alert(settings: Settings, case: Case, record: RunRecord, classification: Classification,
          actions_done: list[str], required: list[str], pattern: str = "") -> Notice:
    """The alert that opens a case's thread (runbook: SEV0 → #ops-critical, SEV1 → #ops-alerts)."""
    flags = ", ".join(record.risk_flags) or "none"
    lines = [
        f"{case.severity.value} {case.case_id}: run {record.run_id} of {record.scenario_id} ({record.job_type})",
        f"Credits: {_credits_line(record, classification)}",
        f"Risk flags: {flags}; misconfig likelihood {classification.likelihood.value}"
        + ("; PII/regulatory data involved" if classification.exposure else "")
        + ("; backfill mode" if classification.backfill else ""),
    ]
    if pattern:
        lines.append(pattern)
    if actions_done:
        lines.append("Done automatically: " + "; ".join(actions_done))
    if required:
        lines.append("Required: " + "; ".join(required))
    return Notice(kind=ALERT, subject=case.case_id, subject_kind=CASE, text="\n".join(lines),
                  channel=_channel(settings, case.severity),
                  fields={"notice_id": alert_id(case.case_id, record.run_id), "severity": case.severity.value,
                          "run": record.run_id, "case": case.case_id, "scenario_id": record.scenario_id,
                          "job_type": record.job_type,
                          "credits": record.credits_total, "baseline": classification.baseline_credits,
                          "variance": _rounded(classification.variance), "risk_flags": list(record.risk_flags),
                          "misconfig_likelihood": classification.likelihood.value,
                          "exposure": classification.exposure, "done": actions_done,
                          "required": required, "actions": buttons(case),
                          "ack_due_at": case.ack_due_at.isoformat() if case.ack_due_at else None})


def ack_overdue(settings: Settings, case: Case, now: datetime, o3_names: tuple[str, ...]) -> Notice:
    """Re-notification in the case's thread, and a DM to every O3 (runbook: O3 notified immediately)."""
    late = int((now - case.ack_due_at).total_seconds() // 60) if case.ack_due_at else 0
    text = (f"{case.case_id} ({case.severity.value}, run {case.run_id}) is still not acknowledged: ACK was due "
            f"{late} min ago. Reply `ACK` in the thread or run `chatops case ack {case.case_id} --as NAME` (O2+).")
    return Notice(kind=ACK_OVERDUE, subject=case.case_id, subject_kind=CASE, text=text,
                  channel=_channel(settings, case.severity),
                  dm_to=o3_names, update_original=True,
                  fields={"severity": case.severity.value, "case": case.case_id, "run": case.run_id,
                          "minutes_late": late, "reminder": case.reminders_sent, "actions": buttons(case)})


def unbaselined(settings: Settings, record: RunRecord) -> Notice:
    """Once per scenario: clean runs are recorded without a variance until a baseline exists."""
    text = (f"No baseline for scenario {record.scenario_id}: run {record.run_id} ({record.credits_total:,.2f} "
            f"credits) was recorded as UNBASELINED: no credit spike can be measured for this scenario until a "
            f"baseline exists (its runs with PII/regulatory exposure or misconfig signals are still raised as "
            f"SEV0 / SEV1 and held). Set one: `chatops baseline set --scenario {record.scenario_id} "
            f"--credits N --reason … --as NAME` (O3), or calculate it once there are healthy runs: "
            f"`chatops baseline calculate --scenario {record.scenario_id}`.")
    return Notice(kind=UNBASELINED, subject=f"BASELINE-{record.scenario_id}", text=text,
                  channel=settings.slack.channels.ops_alerts,
                  fields={"scenario_id": record.scenario_id, "run_id": record.run_id,
                          "credits": record.credits_total})


def escalated(settings: Settings, case: Case, record: RunRecord, classification: Classification, why: str,
              o3_names: tuple[str, ...]) -> Notice:
    """A rerun spiked again (or ran without approval): the case is escalated and says so."""
    text = (f"{case.case_id} escalated: {why}. Rerun {record.run_id}: {_credits_line(record, classification)}, "
            f"{classification.severity.value}. Deeper investigation needed; a new rerun needs a new "
            f"`APPROVED for rerun - <mitigation>` from an O3.")
    return Notice(kind=ESCALATED, subject=case.case_id, subject_kind=CASE, text=text,
                  channel=_channel(settings, case.severity),
                  dm_to=o3_names, update_original=True,
                  fields={"severity": case.severity.value, "case": case.case_id, "run": record.run_id,
                          "rerun_of": record.rerun_of, "variance": _rounded(classification.variance),
                          "escalations": case.escalations, "actions": buttons(case)})


def case_update(settings: Settings, case: Case, text: str) -> Notice:
    """An operator's action, said in the case's thread (never held back by the kill switch)."""
    return Notice(kind=CASE_UPDATE, subject=case.case_id, subject_kind=CASE, text=text,
                  channel=_channel(settings, case.severity),
                  update_original=True, suppressible=False,
                  fields={"severity": case.severity.value, "case": case.case_id, "status": case.status.value,
                          "run": case.run_id, "actions": buttons(case)})


def _rounded(variance: float | None) -> float | None:
    """The variance as a person reads it (12.0×, 5.6×), not 5.6000000000000005×."""
    return round(variance, 2) if variance is not None else None
