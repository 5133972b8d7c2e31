"""The update note `runs/BASELINE_UPDATES/update_<date>.md`, in the runbook's format (Step 3).

The text is exactly the runbook's template, so an auditor holding the runbook sees the same fields
in the same order. Two lines are added only when they apply, because an auditor must see them: a
self-approved change (allowed by `[baselines] allow_self_approval`) and a change larger than the
configured limit applied with `--force-large-change`.

Several updates on one day go into the same file (the runbook names one file per date), separated
by a horizontal rule.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jobs.credits.baselines.stats import format_change, format_credits

NOTES_DIR = Path("runs") / "BASELINE_UPDATES"
SEPARATOR = "\n---\n\n"


@dataclass(frozen=True)
class UpdateNote:
    scenario_id: str
    day: date                        # local date of the approval
    approver: str
    approval_id: str
    old_credits: float | None
    old_is_manual: bool
    new_credits: float
    change_pct: float | None
    rationale: tuple[str, ...]
    sample_size: int
    days: int
    cv: float
    self_approved: bool = False
    forced_large_change_pct: float | None = None   # the limit that was overridden, when it was


def rationale_lines(reason: str) -> tuple[str, ...]:
    """`--reason "a; b"` or a multi-line reason becomes one bullet per part."""
    parts = [p.strip().lstrip("-").strip() for chunk in reason.splitlines() for p in chunk.split(";")]
    return tuple(p for p in parts if p)


def render(note: UpdateNote) -> str:
    if note.old_credits is None:
        old = "none (first baseline of this scenario)"
        change = "n/a (no previous baseline)"
    else:
        old = f"{format_credits(note.old_credits)} credits" + (" (manual)" if note.old_is_manual else "")
        change = format_change(note.change_pct if note.change_pct is not None else 0.0)
    lines = [
        f"# Baseline Update: {note.scenario_id}",
        "",
        f"**Date:** {note.day.isoformat()}",
        f"**Operator:** O3 {note.approver}",
        f"**Approval:** {note.approval_id}",
    ]
    if note.self_approved:
        lines.append(f"**Self-approved:** proposed and approved by {note.approver} "
                     "(allowed by [baselines] allow_self_approval = true)")
    lines += [
        "",
        f"**Old Baseline:** {old}",
        f"**New Baseline:** {format_credits(note.new_credits)} credits",
        f"**Change:** {change}",
    ]
    if note.forced_large_change_pct is not None:
        lines.append(f"**Large change:** over {note.forced_large_change_pct:g}%, applied with "
                     "--force-large-change after investigation")
    lines += ["", "**Rationale:**"]
    lines += [f"- {line}" for line in note.rationale]
    lines += [
        "",
        f"**Sample Size:** {note.sample_size} healthy runs over {note.days} days",
        f"**Coefficient of Variation:** {note.cv:.2f} (stable)",
    ]
    return "\n".join(lines) + "\n"


def note_path(data_dir: Path, day: date) -> Path:
    return Path(data_dir) / NOTES_DIR / f"update_{day.isoformat()}.md"


def with_note(existing: str | None, note_text: str) -> str:
    """The file's new content: the note alone, or appended after the day's earlier notes."""
    if not existing:
        return note_text
    return existing.rstrip("\n") + "\n" + SEPARATOR + note_text
