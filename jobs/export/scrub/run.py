"""Runs over many paths: check (report only), scrub (clean copies or in place) and verify.

`scrub_paths` scrubs, then runs `verify` on what it wrote: an independent pass that reads the output
back from disk and re-scans it with every detector. The grade comes from that pass (seed 000 §3), so a
masking bug, a file that could not be written or a detector that only the verification runs shows up
as LOW or FAIL instead of being assumed away.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterable, Sequence

from jobs.export.scrub.engine import Engine
from jobs.export.scrub.files import Progress, ProgressFn, scan_file, scrub_file
from jobs.export.scrub.report import FileReport, Issue, RunReport

#: Suffixes taken when a directory is given; a file named explicitly is always taken.
SCRUB_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json", ".txt", ".md", ".markdown", ".log"})


#: The one kind of directory a walk does not enter: git's object store holds compressed copies, not text.
SKIPPED_DIRS = frozenset({".git"})


def collect(paths: Sequence[Path], exclude: Path | None = None) -> tuple[list[tuple[Path, Path]], list[Issue]]:
    """(file, path relative to its argument's root) for every file to take, and paths that don't exist.

    Everything under a named directory is walked, dot-directories included (`.claude/` is where
    transcripts live: skipping it scanned nothing and graded HIGH, issue 19); only `.git` internals
    are skipped, each reported as a (non-error) issue so the output says so."""
    found: list[tuple[Path, Path]] = []
    issues: list[Issue] = []
    excluded = exclude.resolve() if exclude is not None else None
    for root in paths:
        root = Path(root)
        if root.is_dir():
            for directory, dirs, files in os.walk(root):
                for d in sorted(d for d in dirs if d in SKIPPED_DIRS):
                    issues.append(Issue(str(Path(directory) / d), None, "git internals",
                                        "skipped (git's object store is not transcripts)"))
                dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS
                                 and (excluded is None or (Path(directory) / d).resolve() != excluded))
                for name in sorted(files):
                    path = Path(directory) / name
                    if path.suffix.lower() in SCRUB_SUFFIXES:
                        found.append((path, Path(root.name) / path.relative_to(root)))
        elif root.exists() or root.is_symlink():
            found.append((root, Path(root.name)))
        else:
            issues.append(Issue(str(root), None, "does not exist", "skipped; nothing written", True))
    return found, issues


def check_paths(paths: Sequence[Path], engine: Engine, progress: ProgressFn | None = None) -> RunReport:
    """Scan only; the grade says what is in the files as they are."""
    started = time.perf_counter()
    files, issues = collect(paths)
    reports = list(_each(files, progress, lambda path, _rel, _done: scan_file(path, engine)))
    return RunReport(engine.ruleset.version, engine.name, tuple(reports), seconds=time.perf_counter() - started,
                     extra_issues=tuple(issues), paths=tuple(str(p) for p in paths))


def verify(paths: Iterable[Path], engine: Engine) -> tuple[FileReport, ...]:
    """The independent re-scan of scrubbed output, read back from disk."""
    return tuple(scan_file(Path(p), engine) for p in paths)


def scrub_paths(paths: Sequence[Path], engine: Engine, out_dir: Path | None = None, in_place: bool = False,
                progress: ProgressFn | None = None) -> RunReport:
    """Clean copies under `out_dir` (same relative layout), or every file in place; then verify."""
    if (out_dir is None) == (not in_place):
        raise ValueError("scrub_paths needs exactly one of out_dir or in_place=True")
    started = time.perf_counter()
    files, issues = collect(paths, exclude=out_dir)
    targets: dict[Path, Path] = {}
    if out_dir is not None:
        taken: list[tuple[Path, Path]] = []
        for path, rel in files:
            destination = Path(out_dir) / rel
            if destination in targets.values():
                issues.append(Issue(str(path), None, f"clean copy {destination} would overwrite another input's",
                                    "skipped; give the inputs distinct names", True))
                continue
            targets[path] = destination
            taken.append((path, rel))
        files = taken

    def one(path: Path, _rel: Path, scanned) -> FileReport:
        return scrub_file(path, engine, out_path=targets.get(path), in_place=in_place, on_scanned=scanned)

    reports = list(_each(files, progress, one))
    written = [Path(r.output) for r in reports if r.output is not None]
    verification = verify(written, engine)
    return RunReport(engine.ruleset.version, engine.name, tuple(reports), verification=verification,
                     seconds=time.perf_counter() - started, extra_issues=tuple(issues),
                     paths=tuple(str(p) for p in paths))


def _each(files: list[tuple[Path, Path]], progress: ProgressFn | None, work) -> Iterable[FileReport]:
    sizes = [_size(path) for path, _ in files]
    total = sum(sizes)
    done_bytes = 0
    for index, ((path, rel), size) in enumerate(zip(files, sizes)):
        def scanned(path=path, index=index, done_bytes=done_bytes, size=size) -> None:
            if progress is not None:
                progress(Progress(index, len(files), done_bytes + size, total, str(path), "scanned"))

        report = work(path, rel, scanned)
        done_bytes += size
        if progress is not None:
            progress(Progress(index + 1, len(files), done_bytes, total, str(path), "done"))
        yield report


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
