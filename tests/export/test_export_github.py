"""The export end to end with the github provider: the real PyGithub client against the GitHub stand-in,
the export branch pushed to a real bare repository, one PR per day, merged through the API when HIGH."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.export.conftest import Home
from tests.export.transcripts import MEDIUM_TEXT, github_token, session
from tests.standins.github import TOKEN, GitHubStandIn

PROJECT = "-Users-ana-work-shop"
REPO = "acme/exports"


@pytest.fixture
def github(home: Home, tmp_path: Path):
    server = GitHubStandIn().start()
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    text = home.config.read_text().replace("settle_minutes", 'provider = "github"\nsettle_minutes', 1)
    home.config.write_text(text + f'\n[export.github]\nrepo = "{REPO}"\napi_url = "{server.api_url}"\n'
                                  f'push_url = "{remote}"\n')
    yield server, remote
    server.stop()


def _run(home: Home):
    return run_cli("export", "run", "--as", "ben", config=home.config, env={"GITHUB_TOKEN": TOKEN})


def _branch(remote: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(remote), "branch", "--format=%(refname:short)"], check=True,
                         capture_output=True, text=True).stdout
    return sorted(out.split())


def test_a_high_day_is_pushed_opened_and_merged_on_github_once(home: Home, github):
    server, remote = github
    token = github_token()
    session(home.projects / PROJECT / "s1.jsonl", f"push with {token} please")
    done = _run(home)
    assert done.returncode == 0, done.stderr
    [pr] = server.pulls[REPO].values()
    assert pr["merged"] and "Scrub confidence: HIGH" in pr["body"] and token not in pr["body"]
    branches = _branch(remote)
    assert "main" in branches and any(b.startswith("export/") for b in branches)
    # a second run the same day with nothing new: the day's PR stands, nothing is opened
    assert _run(home).returncode == 0 and len(server.pulls[REPO]) == 1
    # a new session after the merge: GitHub cannot reopen a merged PR, so one follow-up PR says so
    session(home.projects / PROJECT / "s2.jsonl", MEDIUM_TEXT)
    again = _run(home)
    assert again.returncode == 0, again.stderr
    follow_up = server.pulls[REPO][2]
    assert follow_up["title"].endswith("(follow-up to #1)") and follow_up["body"].startswith("Follow-up to #1 (merged)")
    assert "Scrub confidence: MEDIUM" in follow_up["body"] and not follow_up["merged"]     # MEDIUM waits for review
    assert _run(home).returncode == 0 and len(server.pulls[REPO]) == 2                  # and stays the only one


def test_without_the_token_the_run_stops_before_anything_changes(home: Home, github):
    server, _remote = github
    original = session(home.projects / PROJECT / "s1.jsonl", f"push with {github_token()} please")
    before = original.read_bytes()
    refused = run_cli("export", "run", "--as", "ben", config=home.config, env={"GITHUB_TOKEN": ""})
    assert refused.returncode == 2 and "GITHUB_TOKEN is not set" in refused.stderr
    assert original.read_bytes() == before and server.pulls.get(REPO, {}) == {}
