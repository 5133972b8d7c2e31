"""The CEO daily summary: one message a CEO reads in 30 seconds, after the sweep.

What it carries, in order: the export yesterday and today (grade, PR, merge state); open incidents by
SEV with their next deadline; open SEV0/SEV1 cases; what waits on the CEO (approvals, notification drafts
to approve); compliance calendar items due within 30 days; the week's patterns (the Monday review's JSON
and the Monday sweep's scrub findings); the ledgers' current signed checkpoints (size and root prefix),
so the summary itself witnesses them. A quiet day is one line.

Seed 002 §1 keeps compliance content on this machine: an incident appears by id, severity, step and
deadline only — never what happened, what is at risk, a draft or a customer. Calendar items are named
(§7 asks for them in this summary).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from jobs.actors import Actor, Permission, Role, Subject, authorize
from jobs.context import Context
from jobs.notices import Notice
from jobs.sweep import service
from jobs.sweep.records import Check

SUBJECT = Subject("summary", "ceo")
#: How many items a section lists before "+N more" (30 seconds of reading).
MAX_LINES = 5
_SEV_ORDER = ("SEV1", "SEV2", "SEV3")


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    date: str
    export: tuple[str, ...]
    sections: tuple[Section, ...]        # only those with something in them
    ledgers: str
    quiet: bool

    def text(self) -> str:
        if self.quiet:
            return f"CEO summary {self.date}: quiet day. {' '.join(self.export)} {self.ledgers}"
        lines = [f"CEO summary {self.date}", *self.export]
        for section in self.sections:
            lines.append(f"{section.title}:")
            lines += [f"• {line}" for line in section.lines]
        lines.append(self.ledgers)
        return "\n".join(lines)


def build(ctx: Context, now: datetime | None = None) -> Summary:
    """The summary as things stand at `now` (default: the clock)."""
    now = now or ctx.now()
    today = ctx.local(now).date()
    export, export_ok = _export(ctx, today)
    sections = tuple(s for s in (
        Section("Open incidents", _incidents(ctx, now)),
        Section("SEV0/SEV1 cases", _cases(ctx)),
        Section("Waiting on you", _waiting(ctx)),
        Section("Compliance calendar (30 days)", _calendar(ctx, today)),
        Section("This week's patterns", _patterns(ctx)),
    ) if s.lines)
    return Summary(today.isoformat(), export, sections, _ledgers(ctx), export_ok and not sections)


def send(ctx: Context, actor: Actor, now: datetime | None = None) -> Summary:
    """DM the summary to every person with the ceo role and record it (with the checkpoints it witnesses)."""
    from jobs.errors import Invalid

    authorize(ctx, actor, Permission.SUMMARY_SEND, "summary send", SUBJECT)
    ceos = tuple(sorted(a.name for a in ctx.people.with_role(Role.CEO)))
    if not ceos:
        raise Invalid("nobody holds the ceo role, so the CEO daily summary has no one to go to: give a person "
                      "roles = [\"ceo\"] under [people.<name>] in config.toml")
    summary = build(ctx, now)
    ctx.notifier.send(notice(summary, ceos))
    ctx.ledgers.operations.append("summary.sent", actor.ledger_id, None, {"data": {
        "date": summary.date, "to": list(ceos), "quiet": summary.quiet, "ledgers": summary.ledgers,
        "sections": [s.title for s in summary.sections]}})
    return summary


def notice(summary: Summary, to: tuple[str, ...]) -> Notice:
    """Block Kit through the renderer: the text is the fallback, each section a block of its own."""
    if summary.quiet:
        return Notice(kind="summary.ceo", subject=f"SUMMARY-{summary.date}", dm_to=to, text=summary.text())
    headline = "\n".join((f"*CEO summary {summary.date}*", *summary.export))
    sections = [f"*{s.title}*\n" + "\n".join(f"• {line}" for line in s.lines) for s in summary.sections]
    return Notice(kind="summary.ceo", subject=f"SUMMARY-{summary.date}", dm_to=to, text=summary.text(),
                  fields={"headline": headline, "sections": [*sections, summary.ledgers]})


# ---- the parts ---------------------------------------------------------------------------------------


def _export(ctx: Context, today: date) -> tuple[tuple[str, ...], bool]:
    from jobs.export import service as export_service
    from jobs.export.records import Disposition, Step

    lines, ok = [], True
    for label, day in (("yesterday", today - timedelta(days=1)), ("today", today)):
        record = export_service.load_day(ctx, day.isoformat())
        if record is None or record.step is not Step.FINISHED:
            lines.append(f"Export {label} ({day.isoformat()}): no PR" + (
                f" ({record.incident})" if record and record.incident else "") + ".")
            ok = False
            continue
        if record.disposition is Disposition.EMPTY:
            lines.append(f"Export {label} ({day.isoformat()}): nothing to export.")
            continue
        state = {Disposition.AUTO: "merged (auto)", Disposition.MANUAL: f"merged by {record.decided_by}",
                 Disposition.REVIEW: "awaiting chief.staff review", Disposition.HELD: "held",
                 Disposition.PENDING: "pending"}[record.disposition]
        lines.append(f"Export {label} ({day.isoformat()}): {record.grading.grade}, PR #{record.pr} {state}.")
        ok = ok and record.disposition in (Disposition.AUTO, Disposition.MANUAL)
    return tuple(lines), ok


def _incidents(ctx: Context, now: datetime) -> tuple[str, ...]:
    from jobs.compliance import service as incidents
    from jobs.compliance.clocks import clocks

    lines = []
    open_ones = [i for i in incidents.all_incidents(ctx) if i.open]
    for sev in _SEV_ORDER:
        for incident in sorted((i for i in open_ones if i.sev.value == sev), key=lambda i: i.id):
            pending = [c for c in clocks(incident, ctx.settings) if c.done_at is None]
            if pending:
                c = pending[0]
                late = ", missed" if c.due <= now else ""
                lines.append(f"{sev} {incident.id}: {c.name} due {ctx.local(c.due):%m-%d %H:%M %Z}{late}")
            else:
                lines.append(f"{sev} {incident.id}: no clock running")
    return _capped(lines)


def _cases(ctx: Context) -> tuple[str, ...]:
    from jobs.credits.cases.service import open_cases
    from jobs.credits.records import Severity

    cases = sorted((c for c in open_cases(ctx.state.snapshot()) if c.severity in (Severity.SEV0, Severity.SEV1)),
                   key=lambda c: (c.severity.value, c.number))
    return _capped([f"{c.case_id} {c.severity.value} {c.scenario_id}: {c.status.value}"
                    + (", awaiting ACK" if c.awaiting_ack else "") for c in cases])


def _waiting(ctx: Context) -> tuple[str, ...]:
    from jobs import approvals
    from jobs.compliance import service as incidents

    lines: dict[str, str] = {}
    for ceo in ctx.people.with_role(Role.CEO):
        for request in approvals.pending_for(ctx, ceo):
            lines.setdefault(request.id, f"approval {request.id}: {request.kind} on {request.subject} "
                                         f"(requested by {request.requested_by})")
    for incident in incidents.all_incidents(ctx):
        if incident.open and incident.draft_hash and not any(
                a.role == Role.CEO.value and a.draft_hash == incident.draft_hash for a in incident.approvals):
            lines.setdefault(incident.id, f"{incident.id}: notification draft awaits your approval "
                                          f"(`chatops incident show {incident.id}` on the local machine)")
    return _capped(list(lines.values()))


def _calendar(ctx: Context, today: date) -> tuple[str, ...]:
    from jobs.compliance.calendar import items_due_within

    return _capped([f"{i.item_id} {i.item}: due {i.due.isoformat()}"
                    + (" (overdue)" if i.due < today else f" (in {(i.due - today).days} days)") + f", {i.owner}"
                    for i in items_due_within(ctx)])


def _patterns(ctx: Context) -> tuple[str, ...]:
    """The last weekly review's patterns (transient spikes left out) and the Monday sweep's scrub findings."""
    from jobs.credits.review.service import reviews_dir

    lines = []
    reports = sorted(reviews_dir(ctx).glob("weekly_*.json")) if reviews_dir(ctx).is_dir() else []
    if reports:
        report = json.loads(reports[-1].read_text(encoding="utf-8"))
        for p in report.get("patterns", ()):
            if p["pattern"] == "baseline_drift":
                lines.append(f"baseline drift in {p['scenario_id']} ({p['spikes']} spikes, week {report['week']})")
            elif p["pattern"] == "systemic":
                lines.append(f"systemic spikes on {p['date']} ({len(p['scenario_ids'])} scenarios)")
    last = service.last_sweep(ctx)
    if last is not None:
        lines += [f.text for f in last.findings if f.check in (Check.SCRUB_MEDIUM, Check.SCRUB_GAP)]
    return _capped(lines)


def _ledgers(ctx: Context) -> str:
    from jobs.audit import SPECS
    from store.ledger.note import NoteError, parse_checkpoint_text, parse_note

    parts = []
    for spec in SPECS:
        path = ctx.ledgers.files(spec).checkpoint
        try:
            checkpoint = parse_checkpoint_text(parse_note(path.read_text(encoding="utf-8")).text)
        except FileNotFoundError:
            parts.append(f"{spec.name} none yet")
            continue
        except (NoteError, UnicodeDecodeError) as exc:
            parts.append(f"{spec.name} UNREADABLE ({exc}; run `chatops ledger verify`)")
            continue
        parts.append(f"{spec.name} {checkpoint.size} entries, root {checkpoint.root_b64[:12]}…")
    return "Ledgers: " + "; ".join(parts) + "."


def _capped(lines: list[str]) -> tuple[str, ...]:
    if len(lines) <= MAX_LINES:
        return tuple(lines)
    return (*lines[:MAX_LINES], f"+{len(lines) - MAX_LINES} more")
