"""What the export pipeline needs from a pull-request host, and nothing more (seed 000 step 5).

Two providers implement it: `local` (the default: a PR is a record in the store and a merge is a real
`git merge --no-ff` into `main` of the export repository) and `github` (a GitHub or GitHub Enterprise
Server repository through a well-kept client). The pipeline, the merge policy and the commands speak
only this protocol, so the tiered policy of seed 000 §3 is decided once, whichever host holds the PR.

Every call is idempotent where the host allows it, because a call whose answer was lost is retried:
`open_or_update` finds the day's PR by its branch before opening one (one PR per day), and `merge` on a
PR that is already merged returns it as merged.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class PullRequestState(StrEnum):
    OPEN = "open"
    MERGED = "merged"
    CLOSED = "closed"


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    branch: str
    title: str
    body: str
    state: PullRequestState
    head_sha: str = ""
    merged_at: str = ""          # ISO-8601 UTC, empty while not merged


class PullRequestProvider(Protocol):
    """A host of the export repository's pull requests."""

    name: str

    def push(self, repo_dir: Path, branch: str) -> None:
        """Make `branch` of the local export repository available to the host (a no-op for `local`)."""

    def open_or_update(self, branch: str, title: str, body: str) -> PullRequest:
        """The PR of `branch` into `main`, opened if there is none, its title and body replaced if there is."""

    def get(self, number: int) -> PullRequest:
        """The PR numbered `number`; `store.errors.NotFound` when the host has no such PR."""

    def comment(self, number: int, text: str) -> None:
        """Add a comment to the PR (the merge policy's decisions and who acted)."""

    def merge(self, number: int, message: str) -> PullRequest:
        """Merge the PR into `main` with a merge commit; a PR already merged is returned as it is."""
