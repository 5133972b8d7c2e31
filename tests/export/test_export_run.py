"""The 05:00 export end to end in local mode: real transcripts in a temporary home, real git, the real CLI.

Each grade of seed 000 §3 with its PR state, audit line, ledger entries and messages; zero sessions as its
own outcome; a PR description without a confidence line; one PR per day; gap days."""
from __future__ import annotations

import json
import os
from datetime import date as date_of, datetime, time, timedelta, timezone
from pathlib import Path

from freezegun import freeze_time

from jobs.compliance.service import all_incidents
from jobs.export import flows, service
from jobs.export.local_provider import LocalProvider
from jobs.export.records import Disposition
from tests.conftest import run_cli
from tests.export.conftest import Home, write_config
from tests.export.helpers import audit_lines, export_kinds, git, ops_entries, sent_to
from tests.export.transcripts import INDIRECT_TEXT, MEDIUM_TEXT, age, github_token, session

PROJECT = "-home-dev-shop"
STEPS = ["export.collected", "export.scrubbed", "export.copied", "export.graded", "export.committed",
         "export.pr_opened"]


def today(home: Home) -> str:
    ctx = home.context()
    return ctx.local(ctx.now()).date().isoformat()


def run(home: Home, *args: str, as_: str = "ben"):
    return run_cli("export", "run", *args, "--as", as_, config=home.config)


def test_high_run_scrubs_originals_commits_clean_copies_and_is_merged_automatically(home: Home):
    token = github_token()
    original = session(home.projects / PROJECT / "s1.jsonl", f"push with {token} please")
    sub = session(home.projects / PROJECT / "s1" / "subagents" / "agent-a.jsonl", "Ran the test suite: 12 passed.")
    lines_before = len(original.read_text().splitlines())

    done = run(home)

    assert done.returncode == 0, done.stderr
    date = today(home)
    assert f"export {date}: Scrub confidence HIGH · 2 session file(s)" in done.stdout
    assert "PR #1 auto" in done.stdout
    assert token not in original.read_text() and len(original.read_text().splitlines()) == lines_before
    copy = home.repo / PROJECT / date / "s1.jsonl"
    assert "[REDACTED:github-pat:" in copy.read_text() and token not in copy.read_text()
    assert (home.repo / PROJECT / date / "s1" / "subagents" / "agent-a.jsonl").read_text() == sub.read_text()
    report = (home.repo / "reports" / f"{date}.md").read_text()
    assert "Scrub confidence: HIGH" in report and token not in report
    assert (home.repo / "ledgers" / "operations.checkpoint").read_text().startswith("ecomonetize.com/chatops/")
    merges = git(home.repo, "log", "main", "--merges", "--format=%s").splitlines()
    assert merges == [f"Merge export/{date}: Scrub confidence HIGH, merged automatically (seed 000 §3)"]
    assert audit_lines(home.data) == [
        f"{date} | Confidence: HIGH | Sessions exported: 2 | Flags: 0 | PR: #1 | Merged: auto"]
    provider = LocalProvider.from_settings(home.context())
    assert "Scrub confidence: HIGH" in provider.get(1).body
    assert provider.comments(1) == ["Scrub confidence HIGH: merged automatically (seed 000 §3)."]
    assert export_kinds(home.data) == [*STEPS, "export.merged", "export.audited", "export.notified",
                                       "export.finished"]
    review = sent_to(home.data, "export.result")
    assert list(review) == ["#ops-review"]
    assert review["#ops-review"][0].startswith(f"Session export {date}: Scrub confidence HIGH, PR #1 merged")


def test_medium_run_waits_for_chief_staff_and_the_coo_may_approve_it(home: Home):
    session(home.projects / PROJECT / "s1.jsonl", MEDIUM_TEXT)
    assert run(home).returncode == 0
    date = today(home)
    assert audit_lines(home.data) == [
        f"{date} | Confidence: MEDIUM | Sessions exported: 1 | Flags: 2 | PR: #1 | Merged: held"]
    assert git(home.repo, "log", "main", "--merges", "--format=%s") == ""
    dms = sent_to(home.data, "export.result")
    assert set(dms) == {"#ops-review", "@ben"}                      # chief.staff is asked to review

    ceo = run_cli("export", "merge", "1", "--as", "dev", config=home.config)
    assert ceo.returncode == 3 and "export merge needs role chief.staff or coo; you have O3, ceo" in ceo.stderr
    coo = run_cli("export", "merge", "#1", "--as", "ana", config=home.config)
    assert coo.returncode == 0, coo.stderr
    assert git(home.repo, "log", "main", "--merges", "--format=%s").startswith(f"Merge export/{date}: Scrub "
                                                                               "confidence MEDIUM, merged by ana")
    assert audit_lines(home.data)[1:] == [
        f"{date} | Confidence: MEDIUM | Sessions exported: 1 | Flags: 2 | PR: #1 | Merged: manual"]
    again = run_cli("export", "merge", "1", "--as", "ben", config=home.config)
    assert again.returncode == 7 and "already merged (manual, by ana)" in again.stderr


def test_indirect_exposure_is_low_for_a_human_review_without_an_incident(home: Home):
    session(home.projects / PROJECT / "s1.jsonl", INDIRECT_TEXT)
    assert run(home).returncode == 0
    ctx = home.context()
    day = service.load_day(ctx, today(home))
    assert (day.grading.grade, day.disposition, day.incident) == ("LOW", Disposition.REVIEW, "")
    assert all_incidents(ctx) == []
    assert set(sent_to(home.data, "export.result")) == {"#ops-review", "@ben", "@ana", "@dev"}   # COO and CEO told
    merged = run_cli("export", "merge", "1", "--as", "ben", config=home.config)
    assert merged.returncode == 0, merged.stderr


def test_failed_pipeline_is_held_escalated_and_nobody_may_merge_it(home: Home):
    session(home.projects / PROJECT / "s1.jsonl", "fine")
    broken = home.projects / PROJECT / "s2.jsonl"
    broken.write_bytes(b'{"type":"user"}\n\x00\x00\x00 torn write')
    age(broken, 60)
    assert run(home).returncode == 0
    date = today(home)
    ctx = home.context()
    day = service.load_day(ctx, date)
    assert day.grading.grade == "FAIL" and day.disposition is Disposition.HELD
    assert "binary file (NUL bytes)" in day.grading.problems[0]
    [incident] = all_incidents(ctx)             # seed 000 §5: a workflow failure, owned by code.platform
    assert (incident.id, incident.sev.value, incident.kind.value, incident.trigger.value, incident.links,
            incident.owner) == (day.incident, "SEV3", "operational", "workflow-failure", ("EXPORT-PR-1",), "lee")
    assert set(sent_to(home.data, "export.result")) == {"#ops-review", "@ben", "@ana", "@dev", "@lee"}
    refused = run_cli("export", "merge", "1", "--as", "ben", config=home.config)
    assert refused.returncode == 3 and "merged only after `chatops export rescrub 1`" in refused.stderr
    refusal = [e for e in ops_entries(home.data) if e["kind"] == "command.refused"][-1]["data"]
    assert (refusal["command"], refusal["subject_kind"], refusal["grade"]) == ("export merge", "export_pr", "FAIL")
    assert audit_lines(home.data) == [f"{date} | Confidence: FAIL | Sessions exported: 1 | Flags: 0 | PR: #1 | Merged: held"]


def _rules_without(home: Home, rule_ids: set[str]) -> Path:
    """A ruleset as code.platform had it before a format was covered (seed 000 §5: ruleset drift)."""
    from jobs.export.scrub import rules

    packaged = json.loads(Path(rules.__file__).with_name("scrub-rules.json").read_text())
    packaged["rules"] = [r for r in packaged["rules"] if r["id"] not in rule_ids]
    path = home.root / "old-rules.json"
    path.write_text(json.dumps(packaged))
    return path


def test_credential_in_clean_output_is_held_with_a_sev2_and_a_rescrub_with_patched_rules_makes_it_mergeable(home: Home):
    token = github_token()
    old = _rules_without(home, {"github-pat", "github-token-any", "generic-high-entropy", "entropy-token"})
    home.config = write_config(home.root, extra=f'[scrub]\nrules_file = "{old}"\n')
    first = session(home.projects / PROJECT / "s1.jsonl", f"export GH={token}", MEDIUM_TEXT)
    assert run(home).returncode == 0
    date = today(home)
    if token not in (home.repo / PROJECT / date / "s1.jsonl").read_text():
        raise AssertionError("the old ruleset still caught the token; the drift test needs a format it misses")
    # code.platform patches the ruleset; the day's second run re-grades every clean copy of the day
    home.config = write_config(home.root)
    session(home.projects / PROJECT / "s2.jsonl", "more work")
    assert run(home).returncode == 0
    ctx = home.context()
    day = service.load_day(ctx, date)
    assert (day.pr, day.runs, day.grading.grade, day.grading.credential) == (1, 2, "LOW", True)
    assert day.disposition is Disposition.HELD
    [incident] = all_incidents(ctx)             # filed once, though the day ran twice
    assert (incident.id, incident.sev.value, incident.kind.value, incident.trigger.value, incident.links) == (
        day.incident, "SEV2", "compliance", "data-exposure", ("EXPORT-PR-1",))
    held = [e for e in ops_entries(home.data) if e["kind"] == "export.held"][0]["data"]
    assert held["rotation_flagged"] is True
    texts = sent_to(home.data, "export.result")
    assert {"@ana", "@dev", "@lee"} <= set(texts)                      # COO, CEO, code.platform
    assert "code.platform patches the scrub ruleset within 24 hours" in texts["@lee"][-1]
    assert run_cli("export", "merge", "1", "--as", "ben", config=home.config).returncode == 3

    rescrub = run_cli("export", "rescrub", "1", "--as", "lee", config=home.config)
    assert rescrub.returncode == 0, rescrub.stderr
    assert token not in (home.repo / PROJECT / date / "s1.jsonl").read_text()
    assert token not in first.read_text()                            # the original too
    merged = run_cli("export", "merge", "1", "--as", "ben", config=home.config)
    assert merged.returncode == 0, merged.stderr
    assert [line.rsplit("| ", 1)[1] for line in audit_lines(home.data)] == [
        "Merged: held", "Merged: held", "Merged: held", "Merged: manual"]
    assert "Confidence: MEDIUM" in audit_lines(home.data)[2]
    assert token not in git(home.repo, "show", "main:" + f"{PROJECT}/{date}/s1.jsonl")


def test_zero_sessions_is_its_own_outcome_never_high(home: Home):
    done = run(home)
    assert done.returncode == 0 and "no session exported" in done.stdout and "no PR opened" in done.stdout
    assert audit_lines(home.data) == []
    finished = [e for e in ops_entries(home.data) if e["kind"] == "export.finished"][0]["data"]
    assert finished["outcome"] == "empty"
    assert "the sources match no file" in sent_to(home.data, "export.result")["#ops-review"][0]
    assert not home.repo.exists()


def test_a_pr_description_without_a_confidence_line_is_treated_as_low(home: Home):
    session(home.projects / PROJECT / "s1.jsonl", MEDIUM_TEXT)
    assert run(home).returncode == 0
    ctx = home.context()
    provider = LocalProvider.from_settings(ctx)
    pr = provider.get(1)
    provider.open_or_update(pr.branch, pr.title, "Edited by hand: looks fine to me.")
    refused = run_cli("export", "merge", "1", "--as", "ben", config=home.config)
    assert refused.returncode == 3 and "PR #1 is LOW" in refused.stderr


def test_second_run_the_same_day_updates_the_one_pr(home: Home):
    session(home.projects / PROJECT / "s1.jsonl", MEDIUM_TEXT)
    assert run(home).returncode == 0
    nothing = run(home)
    assert nothing.returncode == 0 and "PR #1" in nothing.stdout
    session(home.projects / PROJECT / "s2.jsonl", "Second session of the day.")
    assert run(home).returncode == 0
    date = today(home)
    ctx = home.context()
    day = service.load_day(ctx, date)
    assert (day.pr, day.runs, day.grading.sessions, len(day.files)) == (1, 3, 2, 1)
    assert git(home.repo, "branch", "--list", "--format=%(refname:short)", "export/*").split() == [f"export/{date}"]
    assert len(git(home.repo, "log", "--format=%s", f"main..export/{date}").splitlines()) == 2
    assert "Sessions exported: 2" in LocalProvider.from_settings(ctx).get(1).body


def test_a_live_session_is_deferred_until_it_settles(home: Home):
    session(home.projects / PROJECT / "live.jsonl", "still typing", age_minutes=2)
    session(home.projects / PROJECT / "done.jsonl", "finished work")
    assert run(home).returncode == 0
    ctx = home.context()
    day = service.load_day(ctx, today(home))
    assert [Path(f.path).name for f in day.files] == ["done.jsonl"]
    assert [Path(p).name for p in day.deferred] == ["live.jsonl"]
    assert "1 still live, deferred to the next run" in (home.repo / "reports" / f"{day.date}.md").read_text()


def test_gap_days_after_two_missed_runs_each_take_what_their_run_would_have(home: Home):
    ctx = home.context()
    now = ctx.now()
    local_today = ctx.local(now).date()
    d1, d2 = (local_today - timedelta(days=2)).isoformat(), (local_today - timedelta(days=1)).isoformat()
    session(home.projects / PROJECT / "new.jsonl", "work from today")
    for name, days_ago in (("old.jsonl", 2), ("mid.jsonl", 1)):        # 01:00 on each missed day
        path = session(home.projects / PROJECT / name, f"work from {name}")
        moment = datetime.combine(local_today - timedelta(days=days_ago), time(1, 0),
                                  tzinfo=ctx.settings.timezone).timestamp()
        os.utime(path, (moment, moment))
    for date in (d1, d2, None):
        assert run(home, *(["--date", date] if date else [])).returncode == 0
    ctx = home.context()
    taken = {d.date: [Path(f.path).name for f in d.files] for d in service.all_days(ctx)}
    assert taken == {d1: ["old.jsonl"], d2: ["mid.jsonl"], local_today.isoformat(): ["new.jsonl"]}
    assert [line.split(" |")[0] for line in audit_lines(home.data)] == [d1, d2, local_today.isoformat()]
    future = run(home, "--date", (local_today + timedelta(days=1)).isoformat())
    assert future.returncode == 2 and "after today" in future.stderr


def test_dry_run_changes_nothing(home: Home):
    token = github_token()
    original = session(home.projects / PROJECT / "s1.jsonl", f"token {token}")
    before = original.read_bytes()
    done = run(home, "--dry-run")
    assert done.returncode == 0 and "1 session file(s) would be exported" in done.stdout
    assert "would grade HIGH" in done.stdout
    assert original.read_bytes() == before and not home.repo.exists() and export_kinds(home.data) == []


def test_status_lists_each_day(home: Home):
    session(home.projects / PROJECT / "s1.jsonl", MEDIUM_TEXT)
    assert run(home).returncode == 0
    status = run_cli("export", "status", "--json", config=home.config)
    [row] = json.loads(status.stdout)
    assert (row["grade"], row["pr"], row["disposition"], row["sessions"]) == ("MEDIUM", 1, "review", 1)


def test_a_session_appended_to_while_it_is_scrubbed_loses_no_line(home: Home):
    original = session(home.projects / PROJECT / "s1.jsonl", f"first {github_token()}")
    late_token = github_token()
    appended = []

    def agent_appends(event) -> None:
        if event.step == "scrub_originals.scanned" and not appended:
            with original.open("a") as fh:
                fh.write(json.dumps({"type": "assistant", "message": {"content": f"late line {late_token}"}}) + "\n")
            appended.append(True)

    ctx = home.context()
    with freeze_time(datetime.now(timezone.utc), tick=True):
        day = flows.run_export(ctx, ctx.people.by_name("ben"), today(home), agent_appends)
    text = original.read_text()
    assert appended and "late line [REDACTED:github-pat:" in text and late_token not in text
    assert len(text.splitlines()) == 4
    assert "late line [REDACTED:github-pat:" in (home.repo / PROJECT / day.date / "s1.jsonl").read_text()
    assert day.grading.grade == "HIGH"


def test_the_export_repository_and_audit_log_follow_the_data_directory_policy(home: Home):
    from store.access import Policy, check_data_dir

    original = session(home.projects / PROJECT / "s1.jsonl", MEDIUM_TEXT)
    original.chmod(0o644)                                    # an agent's file, readable by all
    age(original, 60)
    assert run(home).returncode == 0
    assert run_cli("export", "merge", "1", "--as", "ben", config=home.config).returncode == 0
    assert check_data_dir(home.data, Policy(None)) == []
    assert (original.stat().st_mode & 0o777) == 0o644       # the original keeps its own mode


def test_the_github_provider_without_its_repository_stops_the_run_before_anything_changes(home: Home):
    original = session(home.projects / PROJECT / "s1.jsonl", f"token {github_token()}")
    before = original.read_bytes()
    home.config.write_text(home.config.read_text().replace("settle_minutes", 'provider = "github"\nsettle_minutes', 1))
    refused = run(home)
    assert refused.returncode == 2 and "export.github.repo is empty" in refused.stderr
    assert original.read_bytes() == before and export_kinds(home.data) == [] and not home.repo.exists()


def test_a_medium_pr_left_past_the_next_run_is_raised_once_with_chief_staff_and_the_coo(home: Home):
    ctx = home.context()
    yesterday = (ctx.local(ctx.now()).date() - timedelta(days=1)).isoformat()
    path = session(home.projects / PROJECT / "s1.jsonl", MEDIUM_TEXT)
    moment = datetime.combine(date_of.fromisoformat(yesterday), time(1, 0), tzinfo=ctx.settings.timezone).timestamp()
    os.utime(path, (moment, moment))
    assert run(home, "--date", yesterday).returncode == 0
    assert run(home).returncode == 0
    assert run(home).returncode == 0
    told = sent_to(home.data, "export.update")
    assert set(told) == {"#ops-review", "@ben", "@ana"}
    assert told["@ana"] == [f"PR #1 ({yesterday}, MEDIUM) was not reviewed before the next 05:00 run (seed 000 §3's "
                            "merge window): chief.staff reviews it now (`chatops export merge 1` or `export hold 1 "
                            "--reason …`); the COO may approve it."]
    assert export_kinds(home.data).count("export.review_overdue") == 1


def test_a_credential_confirmed_active_flags_rotation_and_tells_the_ceo(home: Home):
    token = github_token()
    old = _rules_without(home, {"github-pat", "github-token-any", "generic-high-entropy", "entropy-token"})
    home.config = write_config(home.root, extra=f'[scrub]\nrules_file = "{old}"\n')
    session(home.projects / PROJECT / "s1.jsonl", f"export GH={token}", MEDIUM_TEXT)
    assert run(home).returncode == 0
    home.config = write_config(home.root)
    session(home.projects / PROJECT / "s2.jsonl", "more work")
    assert run(home).returncode == 0                      # patched rules: LOW, a credential, held
    refused = run_cli("export", "credential", "1", "--active", "yes", "--note", "seen", "--as", "ben",
                      config=home.config)
    assert refused.returncode == 3                        # chief.staff may not say; security.ops may
    done = run_cli("export", "credential", "1", "--active", "yes", "--note", "key used in the audit log",
                   "--as", "lee", config=home.config)
    assert done.returncode == 0 and "emergency rotation flagged" in done.stdout, done.stderr
    [entry] = [e for e in ops_entries(home.data) if e["kind"] == "export.credential_assessed"]
    assert entry["data"]["active"] is True and entry["data"]["rotation_flagged"] is True
    told = sent_to(home.data, "export.credential_active")
    assert set(told) == {"@lee", "@dev"} and "confirmed ACTIVE by lee" in told["@dev"][-1]
    assert token not in told["@dev"][-1]


def test_a_credential_assessment_on_a_pr_without_one_is_a_conflict(home: Home):
    session(home.projects / PROJECT / "s1.jsonl", "Ran the test suite: 12 passed.")
    assert run(home).returncode == 0
    done = run_cli("export", "credential", "1", "--active", "no", "--note", "x", "--as", "lee", config=home.config)
    assert done.returncode == 7 and "no potential credential" in done.stderr


def test_a_held_pr_merged_later_reads_merged_not_held_in_status(home: Home):
    session(home.projects / PROJECT / "s1.jsonl", MEDIUM_TEXT)
    assert run(home).returncode == 0
    assert run_cli("export", "hold", "1", "--reason", "wait for ana", "--as", "ben", config=home.config).returncode == 0
    held = run_cli("export", "status", config=home.config)
    assert "held  held: wait for ana" in held.stdout
    assert run_cli("export", "merge", "1", "--as", "ben", config=home.config).returncode == 0
    shown = run_cli("export", "status", config=home.config)
    assert "merged by ben" in shown.stdout and "held" not in shown.stdout
    [row] = json.loads(run_cli("export", "status", "--json", config=home.config).stdout)
    assert (row["disposition"], row["hold_reason"]) == ("manual", "")
