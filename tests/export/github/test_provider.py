"""The github provider (PyGithub) against the GitHub REST stand-in: every call over real HTTP, real git."""
from __future__ import annotations

import base64
import inspect
import subprocess
from pathlib import Path

import pytest

from chatops.config import ConfigError, parse_settings
from jobs.errors import Conflict, Invalid, NotFound, Refused
from jobs.delivery import MAX_BACKOFF
from jobs.export.github_provider import GitHubUnavailable, check_github, default_push_url
from jobs.export.pull_requests import PullRequestProvider, PullRequestState
from tests.export.github.conftest import NOW, REPO, github_ctx, provider_for
from tests.standins.github import TOKEN

BRANCH = "export/2026-12-06"
BODY = "Scrub confidence: HIGH\n\nSessions exported: 3"


def test_the_provider_answers_every_call_of_the_protocol_with_its_parameters_and_hides_its_token(provider):
    for method in ("push", "open_or_update", "get", "comment", "merge"):
        wanted = inspect.signature(getattr(PullRequestProvider, method)).parameters
        have = inspect.signature(getattr(provider, method)).parameters
        assert list(have)[:len(wanted) - 1] == list(wanted)[1:], method
    assert provider.name == "github" and TOKEN not in repr(provider)


def test_a_second_run_of_the_day_updates_the_one_pr_instead_of_opening_another(provider, standin):
    first = provider.open_or_update(BRANCH, "Session export 2026-12-06", BODY)
    again = provider.open_or_update(BRANCH, "Session export 2026-12-06", BODY.replace("3", "4"))
    assert (first.number, first.state, first.branch) == (again.number, PullRequestState.OPEN, BRANCH)
    assert again.body.endswith("Sessions exported: 4") and first.url.endswith(f"/pull/{first.number}")
    assert len(standin.made("POST /pulls")) == 1 and len(standin.made("PATCH /pulls/1")) == 1
    [listed] = [r for r in standin.made("GET /pulls")][:1]
    assert listed.query == {"state": "open", "head": f"acme:{BRANCH}", "base": "main", "per_page": "100"}
    assert provider.get(first.number).body == again.body


def test_an_unchanged_pr_is_not_written_again(provider, standin):
    provider.open_or_update(BRANCH, "t", BODY)
    provider.open_or_update(BRANCH, "t", BODY)
    assert not standin.made("PATCH /pulls/1")


def test_get_of_a_pr_github_does_not_have_is_not_found_naming_the_repository(provider):
    with pytest.raises(NotFound, match=rf"read PR #41 on {REPO} \(HTTP 404\).*\[export.github\] repo"):
        provider.get(41)


def test_a_comment_is_posted_scrubbed_with_its_hidden_key(provider, standin):
    pr = provider.open_or_update(BRANCH, "t", BODY)
    secret = "sk-ant-api03-" + "x7Kq2mZ9pL4vB8nR3tY6wE1uI5oA0sD" * 3 + "AA"
    provider.comment(pr.number, f"Held by ben: the key {secret} was in the output")
    [comment] = standin.comments[REPO][pr.number]
    assert secret not in comment["body"] and "[REDACTED:" in comment["body"]
    assert comment["body"].startswith("Held by ben:") and "<!-- chatops:" in comment["body"]


def test_a_comment_with_a_key_already_on_the_pr_is_not_posted_twice(provider, standin):
    pr = provider.open_or_update(BRANCH, "t", BODY)
    provider.comment(pr.number, "Merged by ben", key="item-1")
    provider.comment(pr.number, "Merged by ben", key="item-1")
    assert len(standin.comments[REPO][pr.number]) == 1


def test_merge_makes_a_merge_commit_of_the_head_it_read(provider, standin):
    pr = provider.open_or_update(BRANCH, "t", BODY)
    merged = provider.merge(pr.number, "Merge session export 2026-12-06\n\nScrub confidence: HIGH")
    assert merged.state == PullRequestState.MERGED and merged.merged_at.endswith("Z")
    [put] = standin.made("PUT /merge")
    assert put.body == {"commit_title": "Merge session export 2026-12-06", "commit_message": "Scrub confidence: HIGH",
                        "merge_method": "merge", "sha": pr.head_sha}


def test_merging_a_pr_already_merged_returns_it_merged_without_asking_github_to_merge(provider, standin):
    pr = provider.open_or_update(BRANCH, "t", BODY)
    standin.merge_outside(REPO, pr.number)
    assert provider.merge(pr.number, "Merge").state == PullRequestState.MERGED
    assert not standin.made("PUT /merge")


def test_a_lost_answer_to_the_create_finds_the_pr_it_opened(provider, standin, sleeper):
    standin.lose_answer("POST /pulls")
    pr = provider.open_or_update(BRANCH, "t", BODY)
    assert [p["number"] for p in standin.open_pulls(REPO)] == [pr.number]
    assert len(standin.made("POST /pulls")) == 1 and len(sleeper.waits) == 1


def test_a_lost_answer_to_the_merge_reads_the_pr_merged(provider, standin, sleeper):
    pr = provider.open_or_update(BRANCH, "t", BODY)
    standin.lose_answer("PUT /merge")
    assert provider.merge(pr.number, "Merge").state == PullRequestState.MERGED
    assert [r.status for r in standin.made("PUT /merge")] == [0] and len(sleeper.waits) == 1


@pytest.mark.parametrize("status", [405, 409])
def test_a_merge_refused_because_someone_merged_it_meanwhile_is_success(provider, standin, status):
    pr = provider.open_or_update(BRANCH, "t", BODY)
    standin.fail(status, match="PUT /merge", meanwhile=lambda: standin.merge_outside(REPO, pr.number))
    assert provider.merge(pr.number, "Merge").state == PullRequestState.MERGED
    assert [r.status for r in standin.made("PUT /merge")] == [status]


def test_a_merge_github_refuses_on_an_unmerged_pr_is_a_conflict_with_its_message(provider, standin):
    pr = provider.open_or_update(BRANCH, "t", BODY)
    standin.fail(405, match="PUT /merge", message="Pull Request is not mergeable")
    with pytest.raises(Conflict, match=r"will not merge PR #1 on acme/exports \(HTTP 405: Pull Request is not "
                                       r"mergeable\); resolve it on GitHub"):
        provider.merge(pr.number, "Merge")


def test_a_403_is_refused_naming_the_token_scope_and_not_retried(provider, standin, sleeper):
    standin.fail(403, match="POST /pulls")
    with pytest.raises(Refused, match=r"HTTP 403: Resource not accessible by personal access token\); give the "
                                      r"token in GITHUB_TOKEN the \"repo\" scope"):
        provider.open_or_update(BRANCH, "t", BODY)
    assert sleeper.waits == []


def test_a_wrong_token_is_refused_saying_the_token_is_not_valid(ctx, sleeper, standin):
    standin.token = "ghp_another"
    with pytest.raises(Refused, match=r"token in GITHUB_TOKEN is not valid \(HTTP 401 Bad credentials\)"):
        provider_for(ctx, sleeper).get(1)


def test_a_422_is_invalid_with_githubs_own_message(provider, standin, sleeper):
    standin.fail(422, match="POST /pulls", message="No commits between main and export/2026-12-06")
    with pytest.raises(Invalid, match=r"refused to open the PR of export/2026-12-06 on acme/exports: No commits "
                                      r"between main and export/2026-12-06"):
        provider.open_or_update(BRANCH, "t", BODY)
    assert sleeper.waits == []


def test_a_5xx_burst_is_retried_with_bounded_jittered_backoff_then_succeeds(provider, standin, sleeper):
    standin.fail(502, times=3)
    assert provider.open_or_update(BRANCH, "t", BODY).number == 1
    steps = [1.0, 2.0, 4.0]
    assert len(sleeper.waits) == 3 and all(s / 2 <= w <= s for w, s in zip(sleeper.waits, steps)), sleeper.waits


def test_5xx_forever_ends_in_one_clear_error_after_bounded_tries(provider, standin, sleeper):
    standin.fail(503, times=50)
    with pytest.raises(GitHubUnavailable, match=r"GitHub did not merge PR #7 on acme/exports after 5 tries "
                                                r"\(HTTP 503: Service Unavailable\); check http://127\.0\.0\.1"):
        provider.merge(7, "Merge")
    assert len(sleeper.waits) == 4 and max(sleeper.waits) <= MAX_BACKOFF
    assert len(standin.made("GET /pulls/7")) == 5


def test_a_secondary_rate_limit_waits_exactly_its_retry_after(provider, standin, sleeper):
    standin.fail(403, match="POST /pulls", headers={"Retry-After": "7"},
                 message="You have exceeded a secondary rate limit")
    assert provider.open_or_update(BRANCH, "t", BODY).number == 1
    assert sleeper.waits == [7.0]


def test_an_exhausted_primary_rate_limit_waits_until_its_reset(provider, standin, sleeper):
    standin.fail(403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 30)},
                 message="API rate limit exceeded")
    provider.open_or_update(BRANCH, "t", BODY)
    assert sleeper.waits == [31.0]


def test_a_rate_limit_longer_than_the_longest_wait_is_an_error_that_says_when(provider, standin, sleeper):
    standin.fail(429, headers={"Retry-After": "3600"})
    with pytest.raises(GitHubUnavailable, match=r"asks to wait 3600 s before read PR #1") as raised:
        provider.get(1)
    assert raised.value.retry_after == 3600.0 and sleeper.waits == []


def test_an_unreachable_github_is_retried_then_a_clear_error(ctx, sleeper, standin):
    standin.stop()
    with pytest.raises(GitHubUnavailable, match=r"did not read PR #1 on acme/exports after 5 tries \(ConnectionError") \
            as raised:
        provider_for(ctx, sleeper).get(1)
    assert raised.value.network and len(sleeper.waits) == 4


def test_enterprise_server_is_reached_under_its_api_v3_prefix(config_file, standin, sleeper):
    ctx = github_ctx(config_file, standin.enterprise_url)
    pr = provider_for(ctx, sleeper).open_or_update(BRANCH, "t", BODY)
    assert pr.number == 1 and standin.requests
    assert all(r.path.startswith("/api/v3/repos/acme/exports/") for r in standin.requests)
    assert default_push_url(standin.enterprise_url, REPO) == f"{standin.base}/acme/exports.git"
    assert default_push_url("https://api.github.com", REPO) == "https://github.com/acme/exports.git"
    assert default_push_url("https://ghe.example.com/api/v3", REPO) == "https://ghe.example.com/acme/exports.git"


# ---- push ----------------------------------------------------------------------------------------


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def export_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "exports"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("exports\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "start")
    _git(repo, "checkout", "-q", "-b", BRANCH)
    (repo / "session.jsonl").write_text("{}\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "export")
    return repo


def test_push_sends_the_branch_and_a_missing_main_to_a_bare_remote(config_file, standin, sleeper, export_repo,
                                                                   tmp_path):
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", str(remote))
    provider = provider_for(github_ctx(config_file, standin.api_url, push_url=str(remote)), sleeper)
    provider.push(export_repo, BRANCH)
    assert _git(remote, "rev-parse", BRANCH) == _git(export_repo, "rev-parse", BRANCH)
    assert _git(remote, "rev-parse", "main") == _git(export_repo, "rev-parse", "main")
    (export_repo / "session.jsonl").write_text("{}\n{}\n")
    _git(export_repo, "commit", "-q", "-am", "second run")
    provider.push(export_repo, BRANCH)
    assert _git(remote, "rev-parse", BRANCH) == _git(export_repo, "rev-parse", BRANCH)


def test_push_never_overwrites_remote_commits_it_lacks(config_file, standin, sleeper, export_repo, tmp_path):
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", str(remote))
    provider = provider_for(github_ctx(config_file, standin.api_url, push_url=str(remote)), sleeper)
    provider.push(export_repo, BRANCH)
    _git(export_repo, "commit", "-q", "--amend", "-m", "rewritten")
    with pytest.raises(Conflict, match=r"has commits on the export branch that the export repository lacks"):
        provider.push(export_repo, BRANCH)


def test_push_over_https_carries_the_token_in_a_header_never_the_url(provider, standin, export_repo, sleeper):
    assert provider.push_url == f"{standin.base}/acme/exports.git"
    with pytest.raises(Refused, match=r"refused the push: .*403.*\"repo\" scope"):
        provider.push(export_repo, BRANCH)
    [asked, *_] = standin.made("GET /info/refs")
    assert asked.authorization == "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert TOKEN not in asked.path and sleeper.waits == []


# ---- doctor and settings -------------------------------------------------------------------------


def test_check_github_says_ok_when_the_token_may_push(ctx):
    assert check_github(ctx, {"GITHUB_TOKEN": TOKEN}) == (
        True, f"github: acme/exports at {ctx.settings.export.github.api_url} reachable, the token may push "
              f"(scopes repo)")


@pytest.mark.parametrize("environ, change, said", [
    ({}, {}, "GITHUB_TOKEN is not set"),
    ({"GITHUB_TOKEN": "ghp_wrong"}, {}, "token in GITHUB_TOKEN is not valid"),
    ({"GITHUB_TOKEN": TOKEN}, {"scopes": "read:org"}, "the token's scopes are read:org; give the token"),
    ({"GITHUB_TOKEN": TOKEN}, {"push": False}, "the token may not push to it"),
])
def test_check_github_names_what_is_wrong_and_the_fix(ctx, standin, environ, change, said):
    for name, value in change.items():
        setattr(standin, name, value)
    ok, line = check_github(ctx, environ)
    assert not ok and line.startswith("github: ") and said in line


def test_check_github_without_a_repository_says_which_key_to_set(config_file):
    from chatops.config import load_config
    from jobs.compose import build_context

    loaded = load_config(config_file)
    ok, line = check_github(build_context(loaded.settings, loaded.data_dir), {"GITHUB_TOKEN": TOKEN})
    assert not ok and 'set [export.github] repo = "owner/name"' in line


@pytest.mark.parametrize("table, said", [
    ({"repo": "https://github.com/acme/exports"}, 'export.github.repo = "https://github.com/acme/exports": expected '
                                                 '"owner/name"'),
    ({"repo": "acme/exports.git"}, "no URL, no .git"),
    ({"api_url": "api.github.com"}, "export.github.api_url = \"api.github.com\": expected the REST API's URL"),
    ({"push_url": "https://x:ghp_abc@github.com/a/b.git"}, "without credentials in it"),
    ({"push_url": "relative/path"}, "expected a git remote"),
    ({"token": "ghp_abc"}, "export.github.token: unknown key"),
])
def test_bad_github_settings_are_refused_naming_the_key_and_the_fix(table, said):
    with pytest.raises(ConfigError) as raised:
        parse_settings({"export": {"github": table}})
    assert said in str(raised.value)


def test_github_settings_default_to_github_com_and_keep_an_enterprise_url_without_its_slash():
    assert parse_settings({}).export.github.api_url == "https://api.github.com"
    enterprise = parse_settings({"export": {"github": {"repo": "acme/exports",
                                                       "api_url": "https://ghe.example.com/api/v3/"}}})
    assert enterprise.export.github.api_url == "https://ghe.example.com/api/v3"
