"""Seed 000 §6's scrub audit log, `<data_dir>/operations/logs/credential-scrub-audit.md`: one line per run,
and one more whenever the PR's merge state changes; a line is never edited.

A step redone after a crash must not write its line twice, so a line identical to the last one written for
the same date and PR is not appended again.
"""
from __future__ import annotations

import os
from pathlib import Path

from jobs.context import Context
from jobs.export.records import ExportDay
from store.access import make_dirs
from store.files import fsync_directory, open_creating

AUDIT_LOG = "operations/logs/credential-scrub-audit.md"


def audit_line(day: ExportDay) -> str:
    return (f"{day.date} | Confidence: {day.grading.grade} | Sessions exported: {day.grading.sessions} | "
            f"Flags: {day.grading.flags} | PR: #{day.pr} | Merged: {day.disposition.merged_word}")


def append(ctx: Context, day: ExportDay) -> str | None:
    """Append the day's line unless it is already the last one for its date and PR; the line, or None."""
    path = ctx.data_dir / AUDIT_LOG
    line = audit_line(day)
    if _last_for(path, f"{day.date} |", f"| PR: #{day.pr} |") == line:
        return None
    make_dirs(path.parent)
    fd = open_creating(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_directory(path.parent)
    return line


def _last_for(path: Path, start: str, pr: str) -> str | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    return next((ln for ln in reversed(lines) if ln.startswith(start) and pr in ln), None)
