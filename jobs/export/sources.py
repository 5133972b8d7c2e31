"""Step 1, collect: the transcripts new or grown since their last export, and those still being written.

A transcript is found by the configured globs (`[export] sources`, default Claude Code's
`~/.claude/projects/**/*.jsonl`; `**` recurses and dot-directories are entered, so subagent files under a
session's folder are included). It is taken when its size or modification time differs from its mark
(what the last export left), unless it was modified within `settle_minutes`: the agent may still be
appending, so it waits for the next run and is listed as deferred.

Layout of its clean copy: `<project>/<date>/<path under the project>`, where the project is the first
folder below the glob's fixed part (Claude Code's per-project folder) — so a session's subagent files sit
beside it under the same project and date.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jobs.export.records import Mark, SessionFile

_WILD = set("*?[")


@dataclass(frozen=True)
class Collected:
    files: tuple[SessionFile, ...]
    deferred: tuple[str, ...]
    unchanged: int
    later: int                       # settled, but modified after the run's cutoff (a gap day's later days)
    matched: int                     # files the globs matched at all (0: the sources name nothing)


def fixed_root(pattern: str) -> Path:
    """The part of a glob before its first wildcard: what the project folder is relative to."""
    fixed: list[str] = []
    for part in Path(pattern).parts:
        if _WILD & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def destination(path: Path, root: Path, date: str) -> str:
    rel = path.relative_to(root)
    if len(rel.parts) == 1:
        return f"{root.name or 'sessions'}/{date}/{rel.name}"
    return f"{rel.parts[0]}/{date}/{Path(*rel.parts[1:]).as_posix()}"


def collect(patterns: tuple[str, ...], marks: dict[str, Mark], date: str, now: datetime, cutoff: datetime,
            settle_minutes: int, exclude: Path) -> Collected:
    """What a run of `date` takes: changed since its mark, settled, and last modified by `cutoff`."""
    taken: dict[str, SessionFile] = {}
    deferred: list[str] = []
    unchanged = matched = later = 0
    excluded = str(exclude.resolve()) + os.sep
    horizon = now.timestamp() - settle_minutes * 60
    for pattern in patterns:
        expanded = os.path.expanduser(pattern)
        root = fixed_root(expanded)
        for name in sorted(glob.iglob(expanded, recursive=True, include_hidden=True)):
            path = Path(os.path.abspath(name))
            if str(path).startswith(excluded):
                continue
            try:
                info = path.stat()
            except OSError:
                continue
            if not path.is_file():
                continue
            matched += 1
            key = str(path)
            if key in taken:
                continue
            mark = marks.get(key)
            if info.st_size == 0 or mark is not None and (mark.size, mark.mtime_ns) == (info.st_size,
                                                                                       info.st_mtime_ns):
                unchanged += 1
                continue
            if info.st_mtime > horizon:
                deferred.append(key)
                continue
            if info.st_mtime > cutoff.timestamp():
                later += 1
                continue
            taken[key] = SessionFile(key, destination(path, Path(os.path.abspath(root)), date))
    return Collected(tuple(taken.values()), tuple(deferred), unchanged, later, matched)
