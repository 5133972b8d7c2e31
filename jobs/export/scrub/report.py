"""What a scrub or a check reports: findings (never values), input problems, and the confidence grade.

The grade is seed 000 §3's Scrub confidence: HIGH = nothing matched; MEDIUM = only matches assessed
non-sensitive (approved emails, internal IPs, placeholders, allowlisted values); LOW = a potential
credential or PII remains, or an indirect exposure; FAIL = the scrub errored (a file could not be
read or scrubbed, or changed under us). The export pipeline writes it into the PR description.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Grade(StrEnum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    FAIL = "FAIL"


class Action(StrEnum):
    REMOVED = "removed"        # masked by the scrub
    FOUND = "found"            # a credential or PII present (check / verification pass)
    KEPT = "kept"              # matched, assessed non-sensitive
    INDIRECT = "indirect"      # names or describes a credential; kept for a person to review


@dataclass(frozen=True)
class Finding:
    """One match, located by file, line and column (1-based), without the matched value."""

    rule: str
    file: str
    line: int
    column: int
    action: Action
    reason: str
    marker: str = ""          # the `[REDACTED:…]` written in its place, when removed

    def render(self) -> str:
        tail = f" → {self.marker}" if self.marker else ""
        return f"{self.file}:{self.line}:{self.column}: {self.rule} {self.action.value} ({self.reason}){tail}"


@dataclass(frozen=True)
class Issue:
    """Input that needed special handling, with what was done. `error` issues make the grade FAIL."""

    file: str
    line: int | None
    problem: str
    done: str
    error: bool = False

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.problem}: {self.done}"


@dataclass(frozen=True)
class FileReport:
    path: str
    output: str | None               # where the clean bytes went (None: check only, or nothing written)
    bytes_in: int
    findings: tuple[Finding, ...]
    issues: tuple[Issue, ...]
    changed: bool = False            # the output differs from the input

    @property
    def failed(self) -> bool:
        return any(i.error for i in self.issues)


@dataclass(frozen=True)
class RunReport:
    rules_version: str
    engine: str
    files: tuple[FileReport, ...]
    verification: tuple[FileReport, ...] = ()   # the independent re-scan of the output, when scrubbing
    seconds: float = 0.0
    extra_issues: tuple[Issue, ...] = field(default=())
    paths: tuple[str, ...] = ()                 # what the person named, for the "nothing scanned" sentence

    @property
    def nothing_scanned(self) -> bool:
        """No byte of input was read (no file found, or every one empty, unreadable or skipped).

        Fail closed: an empty or misnamed source must never grade HIGH (issue 19), so the grade is
        then FAIL and the CLI exits with its own code and one sentence."""
        return not any(r.bytes_in for r in self.files)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.files for f in r.findings)

    @property
    def issues(self) -> tuple[Issue, ...]:
        return self.extra_issues + tuple(i for r in self.files + self.verification for i in r.issues)

    @property
    def remaining(self) -> tuple[Finding, ...]:
        """What the grade is decided on: the verification findings after a scrub, else the scan's."""
        source = self.verification if self.verification else self.files
        return tuple(f for r in source for f in r.findings)

    @property
    def grade(self) -> Grade:
        if self.nothing_scanned:
            return Grade.FAIL
        return grade_of(self.remaining, self.issues)

    def nothing_scanned_sentence(self) -> str:
        """The one sentence for a run that read nothing, naming the paths, what was found and the fix."""
        named = ", ".join(self.paths) or "the given paths"
        skipped = len(self.files)
        found = f"{skipped} file(s) found but none could be read or all were empty" if skipped else \
            "no *.jsonl, *.ndjson, *.json, *.txt, *.md, *.markdown or *.log file found"
        return (f"nothing scanned under {named}: {found}; name a directory that holds transcripts "
                "or the files themselves (nothing was graded)")

    @property
    def bytes_in(self) -> int:
        return sum(r.bytes_in for r in self.files)


def grade_of(findings: tuple[Finding, ...] | list[Finding], issues: tuple[Issue, ...] | list[Issue]) -> Grade:
    if any(i.error for i in issues):
        return Grade.FAIL
    if any(f.action in (Action.FOUND, Action.REMOVED, Action.INDIRECT) for f in findings):
        return Grade.LOW
    if findings:
        return Grade.MEDIUM
    return Grade.HIGH


def render_report(report: RunReport, limit: int = 200) -> str:
    """Plain-text report: grade, ruleset version, counts per rule, then each finding and issue."""
    removed = [f for f in report.findings if f.action is Action.REMOVED]
    lines = [
        f"Scrub confidence: {report.grade.value}",
        f"rules version {report.rules_version} · engine {report.engine} · {len(report.files)} file(s), "
        f"{report.bytes_in / 1e6:.1f} MB in {report.seconds:.2f} s",
    ]
    if removed:
        lines.append(f"removed {len(removed)}: " + _counts(removed))
    remaining = report.remaining
    if remaining:
        label = "verification found" if report.verification else "found"
        lines.append(f"{label} {len(remaining)}: " + _counts(remaining))
        lines += ["  " + f.render() for f in remaining[:limit]]
        if len(remaining) > limit:
            lines.append(f"  … and {len(remaining) - limit} more")
    elif report.verification:
        lines.append("verification: clean")
    if report.issues:
        lines.append(f"input problems {len(report.issues)}:")
        lines += ["  " + i.render() for i in report.issues[:limit]]
    return "\n".join(lines)


def _counts(findings: list[Finding] | tuple[Finding, ...]) -> str:
    counts = Counter(f"{f.rule} {f.action.value}" for f in findings)
    return ", ".join(f"{name} ×{n}" for name, n in counts.most_common())


def relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
