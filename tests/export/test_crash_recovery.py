"""SIGKILL of a real export process at each step: the originals are fully old or fully scrubbed, and the next
run completes the work — one PR, merged once, one audit line, every clean copy committed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from jobs.export import service
from tests.conftest import REPO, run_cli
from tests.export.conftest import Home
from tests.export.helpers import audit_lines, export_kinds, git, sent_to
from tests.export.transcripts import github_token, session

PROJECT = "-home-dev-shop"
POINTS = ["scrub_originals:1", "write_copies:1", "export.collected", "export.scrubbed", "export.copied",
          "export.graded", "export.committed", "export.pr_opened", "export.merged", "export.audited",
          "export.notified", "export.finished"]


@pytest.mark.parametrize("when", POINTS)
def test_a_run_killed_at_any_step_is_completed_by_the_next(home: Home, when: str):
    tokens = [github_token(), github_token()]
    originals = [session(home.projects / PROJECT / f"s{i}.jsonl", f"token {t}") for i, t in enumerate(tokens)]
    before = [p.read_bytes() for p in originals]
    ctx = home.context()
    date = ctx.local(ctx.now()).date().isoformat()

    child = subprocess.run([sys.executable, str(REPO / "tests" / "export" / "crash_child.py"), str(home.config), date,
                            when], env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                           timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    for path, old, token in zip(originals, before, tokens):
        now = path.read_bytes()
        assert now == old or (token.encode() not in now and len(now.splitlines()) == len(old.splitlines()))

    done = run_cli("export", "run", "--as", "ben", config=home.config)
    assert done.returncode == 0, done.stderr
    for path, token in zip(originals, tokens):
        assert token not in path.read_text()
    day = service.load_day(home.context(), date)
    assert (day.pr, day.grading.grade, day.grading.sessions) == (1, "HIGH", 2)
    assert git(home.repo, "log", "main", "--merges", "--format=%s").count("\n") == 1
    for i in range(2):
        assert tokens[i] not in git(home.repo, "show", f"main:{PROJECT}/{date}/s{i}.jsonl")
    assert audit_lines(home.data) == [
        f"{date} | Confidence: HIGH | Sessions exported: 2 | Flags: 0 | PR: #1 | Merged: auto"]
    assert export_kinds(home.data)[-1] == "export.finished"
    assert len(sent_to(home.data, "export.result")["#ops-review"]) == 1     # told once, even when killed after
    again = run_cli("export", "run", "--as", "ben", config=home.config)
    assert again.returncode == 0 and len(audit_lines(home.data)) == 1
