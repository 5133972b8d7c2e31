"""What the session export remembers (seed 000): each day's run, the sessions it took, the files it marked.

One record per export date (`ExportDay`), because a day has one PR: a second run of the same day carries
on the same record (and the same PR). `step` is the last step whose work is done and recorded; a run
that died resumes after it, so a crash leaves nothing half-done (every step is safe to redo).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any


class Step(StrEnum):
    """The run's steps in order (seed 000 §1 and issue 22 steps 1–8); `NONE` is a day not started yet."""

    NONE = "none"
    COLLECTED = "collected"
    SCRUBBED = "scrubbed"
    COPIED = "copied"
    GRADED = "graded"
    COMMITTED = "committed"
    PR_OPENED = "pr_opened"
    DECIDED = "decided"
    AUDITED = "audited"
    NOTIFIED = "notified"
    FINISHED = "finished"


class Disposition(StrEnum):
    """What §3's policy made of the day's PR; the audit log's `Merged:` column is `merged_word`."""

    PENDING = "pending"        # not decided yet
    AUTO = "auto"              # HIGH: merged by the pipeline
    REVIEW = "review"          # MEDIUM (or indirect-only LOW): waits for chief.staff
    HELD = "held"              # LOW/FAIL, or held by a person: merged only after a re-scrub grades it HIGH/MEDIUM
    MANUAL = "manual"          # merged by a person
    EMPTY = "empty"            # nothing to export that day: no PR

    @property
    def merged_word(self) -> str:
        return {Disposition.AUTO: "auto", Disposition.MANUAL: "manual"}.get(self, "held")


@dataclass(frozen=True)
class SessionFile:
    """One transcript taken by a run: where it is, where its clean copy goes (relative to the export repo)."""

    path: str
    dest: str                 # <project>/<date>/<session path>.jsonl


@dataclass(frozen=True)
class Mark:
    """A transcript as last exported: its size and modification time after the scrub, so growth shows."""

    path: str
    size: int
    mtime_ns: int
    date: str


@dataclass(frozen=True)
class Grading:
    """The independent re-scan of the day's clean copies (seed 000 §3)."""

    grade: str = ""                        # HIGH, MEDIUM, LOW, FAIL; "" until graded
    sessions: int = 0                      # clean session files of the day in the export repository
    flags: int = 0                         # findings left in the clean copies
    by_rule: dict[str, int] = field(default_factory=dict)   # "rule action" -> count, never values
    credential: bool = False               # a potential credential or PII in the clean output (not indirect)
    problems: tuple[str, ...] = ()         # errors that make the grade FAIL, one sentence each
    rules_version: str = ""


@dataclass(frozen=True)
class ExportDay:
    date: str                                   # YYYY-MM-DD, the export date (layout and branch)
    step: Step = Step.NONE
    runs: int = 0                               # runs of this date so far (the second one updates the PR)
    files: tuple[SessionFile, ...] = ()         # what this run takes
    deferred: tuple[str, ...] = ()              # still live (settle_minutes), left for the next run
    marks: tuple[Mark, ...] = ()                # what this run exported, remembered once committed
    removed: int = 0                            # values the in-place scrub removed this run
    grading: Grading = field(default_factory=Grading)
    commit: str = ""
    pr: int = 0
    pr_url: str = ""
    disposition: Disposition = Disposition.PENDING
    rescrubbed: bool = False                    # re-scrubbed since it was held
    hold_reason: str = ""
    decided_by: str = ""
    incident: str = ""
    overdue_told: bool = False                  # a review missed the merge window and people were told
    started_at: str = ""
    finished_at: str = ""

    @property
    def branch(self) -> str:
        return f"export/{self.date}"

    def advanced(self, step: Step, **changes: Any) -> "ExportDay":
        return replace(self, step=step, **changes)

    def to_row(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "ExportDay":
        g = dict(row.get("grading") or {})
        g["problems"] = tuple(g.get("problems", ()))
        return cls(**{**row, "step": Step(row["step"]), "disposition": Disposition(row["disposition"]),
                      "files": tuple(SessionFile(**f) for f in row.get("files", ())),
                      "deferred": tuple(row.get("deferred", ())),
                      "marks": tuple(Mark(**m) for m in row.get("marks", ())),
                      "grading": Grading(**g)})
