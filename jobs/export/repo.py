"""The export git repository (`<data_dir>/exports/`): real `git` subprocesses, nothing reimplemented.

Every operation is safe to redo after a crash: `prepare` throws away whatever a killed run left in the
working tree or an unfinished merge, `commit` commits only when something changed, and `merge` of a branch
already in `main` does nothing. Commits carry the run's clock as their dates, and chatops's own identity
(never the machine user's global git config), so the history reads the same wherever it runs.
"""
from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path

from typing import TYPE_CHECKING

from jobs.errors import Damaged, Invalid
from store.access import make_dirs

if TYPE_CHECKING:
    from jobs.context import Context

MAIN = "main"
AUTHOR = ("chatops export", "chatops-export@localhost.invalid")
#: Folders of the repository that are not projects: the day's reports and the ledgers' checkpoints.
REPORTS = "reports"
LEDGERS = "ledgers"


class GitFailed(Damaged):
    """A git command failed: names the command, the repository and git's own words."""


class ExportRepo:
    """`umask` is the data directory's policy for git's own writes (0o027 with an operators' group, else
    0o077), so the repository is readable by exactly whom the data directory admits (store/access.py)."""

    def __init__(self, path: Path, clock: datetime, umask: int = 0o077) -> None:
        self.path = path
        self.clock = clock
        self.umask = umask

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        when = self.clock.isoformat()
        env = {**os.environ, "GIT_AUTHOR_NAME": AUTHOR[0], "GIT_AUTHOR_EMAIL": AUTHOR[1],
               "GIT_COMMITTER_NAME": AUTHOR[0], "GIT_COMMITTER_EMAIL": AUTHOR[1], "GIT_AUTHOR_DATE": when,
               "GIT_COMMITTER_DATE": when, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
        try:
            done = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", *args],
                                  cwd=self.path, env=env, capture_output=True, text=True,
                                  umask=self.umask)
        except FileNotFoundError:
            raise Invalid("the export needs the git program; install git and run `chatops export run` again") from None
        if check and done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise GitFailed(f"git {' '.join(args)} failed in {self.path}: {said[-1] if said else done.returncode}; "
                            "the run stopped before changing anything further, run it again once fixed")
        return done

    def ensure(self) -> bool:
        """Create the repository with an empty first commit on `main`, once. True when created now."""
        if (self.path / ".git").exists():
            return False
        make_dirs(self.path)
        self.git("init", "-q", "-b", MAIN)
        self.git("commit", "-q", "--allow-empty", "-m", "Export repository: scrubbed session transcripts (seed 000)")
        return True

    def has_branch(self, branch: str) -> bool:
        return self.git("rev-parse", "--verify", "-q", f"refs/heads/{branch}", check=False).returncode == 0

    def prepare(self, branch: str) -> None:
        """Check out `branch` (from `main` the first time), clean: an interrupted merge is aborted and
        anything a killed run left uncommitted is discarded (it is written again from the originals)."""
        if (self.path / ".git" / "MERGE_HEAD").exists():
            self.git("merge", "--abort", check=False)
        base = branch if self.has_branch(branch) else MAIN
        self.git("checkout", "-q", "-f", "-B", branch, base)
        self.git("clean", "-q", "-f", "-d")

    def commit(self, message: str) -> str:
        """Commit everything in the working tree; the new head, or "" when nothing changed."""
        self.git("add", "-A")
        if self.git("diff", "--cached", "--quiet", check=False).returncode == 0:
            return ""
        self.git("commit", "-q", "-m", message)
        return self.head()

    def head(self, ref: str = "HEAD") -> str:
        return self.git("rev-parse", ref).stdout.strip()

    def merged(self, branch: str) -> bool:
        return self.git("merge-base", "--is-ancestor", branch, MAIN, check=False).returncode == 0

    def merge(self, branch: str, message: str) -> str:
        """`git merge --no-ff branch` into `main`; a branch already in `main` is left as it is."""
        if (self.path / ".git" / "MERGE_HEAD").exists():
            self.git("merge", "--abort", check=False)
        self.git("checkout", "-q", "-f", MAIN)
        if not self.merged(branch):
            self.git("merge", "-q", "--no-ff", "-m", message, branch)
        return self.head(MAIN)

    def push(self, remote: str, *branches: str) -> None:
        self.git("push", "-q", remote, *branches)

    def sessions(self, date: str) -> list[Path]:
        """The clean session files of `date` in the working tree: `<project>/<date>/…`."""
        found = []
        for project in sorted(p for p in self.path.iterdir() if p.is_dir()):
            if project.name in (".git", REPORTS, LEDGERS):
                continue
            day = project / date
            if day.is_dir():
                found += sorted(p for p in day.rglob("*") if p.is_file())
        return found


def export_repo(ctx: "Context") -> ExportRepo:
    """The data directory's export repository, its files as private as the data directory's policy says."""
    return ExportRepo(ctx.data_dir / ctx.settings.export.repo_dir, ctx.now(),
                      umask=0o027 if ctx.settings.operators_group else 0o077)
