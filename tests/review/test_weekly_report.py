"""The weekly report over the hand-computed week of conftest.py: its sections, the golden file, the
runbook's `jq` lines and `sha256sum` check run as written, the chart, an empty week, notes and the SEV2
batch review's decisions."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.credits.cases import service as cases
from jobs.credits.review import flows, service
from jobs.credits.review.chart import HEIGHT, WIDTH
from jobs.errors import Conflict, Invalid, NotFound
from tests.conftest import REPO
from freezegun import freeze_time

from tests.review.conftest import NOW, WEEK, build_week, day, make_context, run

GOLDEN = Path(__file__).parent / "golden" / "weekly_2026-11-16.json"
APPROVAL_ID = re.compile(r"APR-[0-9a-f]{10}")


def credit_entries(ctx, kind: str) -> list[dict]:
    path = ctx.data_dir / service.CREDIT_LEDGER
    return [e for e in map(json.loads, path.read_text().splitlines()) if e["kind"] == kind]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One report of the hand-computed week for the tests that only read it."""
    with freeze_time(NOW):
        ctx = make_context(tmp_path_factory.mktemp("week") / "var")
        build_week(ctx)
        return ctx, flows.weekly_report(ctx, ctx.people.by_name("ben"))


@pytest.fixture
def written(shared):
    return shared[1]


@pytest.fixture
def shared_ctx(shared):
    return shared[0]


def test_without_a_week_the_report_covers_the_last_complete_week_named_by_its_monday(written):
    assert (written.period.label, written.path) == (WEEK, "runs/CREDIT_REVIEWS/weekly_2026-11-16.json")
    assert written.report["period"]["first_day"] == "2026-11-16" and written.report["period"]["last_day"] == "2026-11-22"
    assert written.report["complete"] is True


def test_baseline_candidates_are_exactly_those_inside_each_criterions_edge(written):
    """variance 1.19 in / 1.2 out, 10 runs in / 9 out, CV 0.2933 in / 0.3 out, a SEV1 out, no baseline out."""
    candidates = {c["scenario_id"]: c for c in written.report["baseline_candidates"]}
    assert sorted(candidates) == ["edge-cv-in", "edge-runs-in", "edge-variance-in"]
    assert candidates["edge-variance-in"]["variance_from_baseline"] == 1.19
    assert candidates["edge-cv-in"]["coefficient_of_variation"] == 0.2933
    assert candidates["edge-runs-in"]["run_count"] == 10


def test_top_scenarios_rank_by_total_with_run_count_change_and_notable_variance(written):
    top = written.report["top_scenarios_by_total"]
    assert [t["scenario_id"] for t in top] == ["big-spender", "pii-scn", "edge-variance-out", "edge-variance-in",
                                               "edge-cv-in"]
    big = top[0]
    assert (big["total_credits"], big["run_count"], big["previous_run_count"], big["run_count_change"]) == (
        12500.0, 5, 2, 3)
    assert (big["variance_from_baseline"], big["notable"], big["run_count_jump"]) == (2.5, True, True)
    assert top[2]["variance_from_baseline"] == 1.2 and top[2]["notable"] is False


def test_policy_violations_name_each_rule_broken_and_nothing_else(written):
    found = [(v["rule"], re.sub(APPROVAL_ID, "APR-x", v["subject"])) for v in written.report["policy_violations"]]
    assert found == [("sev0_sev1_without_case", "run-sev1-nocase"), ("unacknowledged_alert", "CASE-2"),
                     ("stale_case", "CASE-2"), ("root_cause_not_documented", "CASE-1"),
                     ("approval_role_missing", "APR-x")]


def test_patterns_read_drift_systemic_and_transient_spikes(written):
    patterns = written.report["patterns"]
    assert [(p["pattern"], p.get("scenario_id") or p.get("date")) for p in patterns[:2]] == [
        ("baseline_drift", "big-spender"), ("systemic", "2026-11-18")]
    assert patterns[1]["scenario_ids"] == ["big-spender", "sys-a", "sys-b"]
    assert sorted(p["Run_ID"] for p in patterns[2:]) == ["edge-sev1-out-09", "lone-1", "run-sev0", "run-sev1-nocase"]
    assert {p["pattern"] for p in patterns[2:]} == {"transient"}


def test_spike_runs_carry_their_case_or_say_they_have_none(written):
    spikes = {s["Run_ID"]: s for s in written.report["top_spike_runs"]}
    assert [s["Run_ID"] for s in written.report["top_spike_runs"]][:2] == ["run-sev0", "run-sev1-nocase"]
    assert (spikes["run-sev0"]["has_case"], spikes["run-sev0"]["Case_ID"], spikes["run-sev0"]["case_status"]) == (
        True, "CASE-1", "Investigating")
    assert (spikes["lone-1"]["has_case"], spikes["lone-1"]["Case_ID"]) == (False, None)
    assert [r["Run_ID"] for r in written.report["sev2_review"]] == [
        "lone-1", "big-0", "big-1", "big-2", "big-3", "big-4", "sys-a-1", "sys-b-1"]


def test_the_weekly_json_matches_the_golden_file(written, shared_ctx):
    data = (shared_ctx.data_dir / written.path).read_text()
    assert json.loads(APPROVAL_ID.sub("APR-x", data)) == json.loads(GOLDEN.read_text())


def jq_program() -> list[str]:
    """The real `jq` when installed; else the PyPI bindings behind the same command line."""
    found = shutil.which("jq")
    return [found] if found else [sys.executable, str(REPO / "tests/runbook/jq_cli.py")]


@pytest.mark.parametrize("section", ["top_scenarios_by_total", "top_spike_runs", "policy_violations",
                                     "baseline_candidates"])
def test_the_runbooks_jq_lines_work_as_written(written, shared_ctx, section):
    """`cat runs/CREDIT_REVIEWS/weekly_<date>.json | jq '.<section>'`, in bash, from the data directory."""
    line = f"cat runs/CREDIT_REVIEWS/weekly_2026-11-16.json | {' '.join(jq_program())} '.{section}'"
    done = subprocess.run(["bash", "-c", line], cwd=shared_ctx.data_dir, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == written.report[section] and json.loads(done.stdout)


def test_the_real_jq_is_used_where_it_is_installed():
    assert (shutil.which("jq") is None) == (jq_program()[0] == sys.executable)


def test_sha256sum_checks_the_report_and_the_chart_with_their_sidecars(written, shared_ctx):
    folder = shared_ctx.data_dir / "runs" / "CREDIT_REVIEWS"
    done = subprocess.run(["sha256sum", "-c", "weekly_2026-11-16.json.sha256", "weekly_2026-11-16.png.sha256"],
                          cwd=folder, capture_output=True, text=True)
    assert done.stdout.splitlines() == ["weekly_2026-11-16.json: OK", "weekly_2026-11-16.png: OK"], done.stderr
    [entry] = credit_entries(shared_ctx, "review.report.written")
    assert (entry["actor"], entry["role"]) == ("U0BEN00002", "O2")
    assert entry["data"] == {"report": "weekly", "period": WEEK, "path": written.path, "sha256": written.sha256,
                             "chart": "runs/CREDIT_REVIEWS/weekly_2026-11-16.png", "chart_sha256": written.chart_sha256}


def test_the_chart_is_a_png_of_the_expected_size(written, shared_ctx):
    import matplotlib.image

    path = shared_ctx.data_dir / written.chart
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    assert pixels.std() > 0       # something is drawn


def test_an_empty_week_is_a_report_saying_the_ledger_is_missing(ctx):
    written = flows.weekly_report(ctx, ctx.people.by_name("ben"), WEEK)
    report = written.report
    assert report["summary"]["runs"] == 0
    assert all(report[s] == [] for s in ("top_scenarios_by_total", "top_spike_runs", "baseline_candidates"))
    assert report["no_data"]["reason"].startswith("the credit ledger runs/CREDIT_MONITORING/audit/ledger.jsonl "
                                                  "does not exist")
    assert report["no_data"]["checks"][1] == ('grep -E "2026-11-16|2026-11-17|2026-11-18|2026-11-19|2026-11-20|'
                                              '2026-11-21|2026-11-22" runs/CREDIT_MONITORING/ledger.jsonl | wc -l')
    assert (ctx.data_dir / written.chart).stat().st_size > 0


def test_an_empty_week_says_when_the_runs_of_the_ledger_started(ctx):
    run(ctx, "old-1", "scn", 100.0, day(-30))
    run(ctx, "old-2", "scn", 100.0, day(-20))
    report = flows.weekly_report(ctx, ctx.people.by_name("ben"), WEEK).report
    assert report["no_data"]["runs_in_ledger"] == 2
    assert report["no_data"]["reason"] == ("no run started in 2026-W47 (2026-11-16 – 2026-11-22, America/Los_Angeles); "
                                           "the ledger holds 2 run(s) started 2026-10-17 – 2026-10-27")


def test_a_week_that_has_not_begun_is_refused(ctx):
    with pytest.raises(Invalid, match="2026-W49 has not begun yet"):
        flows.weekly_report(ctx, ctx.people.by_name("ben"), "2026-W49")
    with pytest.raises(Invalid, match="not an ISO week"):
        flows.weekly_report(ctx, ctx.people.by_name("ben"), "2026-47")


def test_a_damaged_credit_ledger_gives_no_report(week_ctx):
    (week_ctx.data_dir / service.CREDIT_LEDGER).parent.joinpath("ledger.damaged").write_text("edited\n")
    with pytest.raises(Exception, match="marked damaged, so no report is made"):
        flows.weekly_report(week_ctx, week_ctx.people.by_name("ben"))


def test_a_run_started_on_sunday_night_in_another_offset_belongs_to_its_local_day(ctx):
    """23:30 on Sunday 22nd in Los Angeles is Monday in UTC: it is still W47's."""
    from datetime import datetime, timezone

    run(ctx, "late", "scn", 100.0, datetime(2026, 11, 23, 7, 30, tzinfo=timezone.utc))
    run(ctx, "early", "scn", 100.0, datetime(2026, 11, 16, 7, 30, tzinfo=timezone.utc))   # Sunday 15th local
    report = flows.weekly_report(ctx, ctx.people.by_name("ben"), WEEK).report
    assert report["summary"]["runs"] == 1 and report["summary"]["previous_week_runs"] == 1


# ---- notes and SEV2 decisions ------------------------------------------------------------------------


def test_a_note_is_appended_to_the_weeks_notes_and_recorded(week_ctx):
    ben = week_ctx.people.by_name("ben")
    flows.note(week_ctx, ben, WEEK, "baseline of big-spender  to be reviewed")
    flows.note(week_ctx, ben, WEEK, "second note")
    path = week_ctx.data_dir / "runs/CREDIT_REVIEWS/weekly_2026-11-16.notes.md"
    assert path.read_text().splitlines() == [
        "# Weekly review notes: 2026-W47", "",
        "- 2026-11-23 10:00 PST ben: baseline of big-spender to be reviewed",
        "- 2026-11-23 10:00 PST ben: second note"]
    assert [e["data"]["note"] for e in credit_entries(week_ctx, "review.noted")] == [
        "baseline of big-spender to be reviewed", "second note"]
    with pytest.raises(Invalid, match="the note is empty"):
        flows.note(week_ctx, ben, WEEK, "   ")


def test_an_isolated_sev2_is_recorded_noted_and_shown_in_the_next_report(week_ctx):
    ben = week_ctx.people.by_name("ben")
    flows.isolated(week_ctx, ben, "lone-1", "one-off import")
    [entry] = credit_entries(week_ctx, "review.sev2_decided")
    assert (entry["Run_ID"], entry["data"]["decision"], entry["data"]["note"]) == ("lone-1", "isolated", "one-off import")
    notes = (week_ctx.data_dir / "runs/CREDIT_REVIEWS/weekly_2026-11-16.notes.md").read_text()
    assert "ben: SEV2 lone-1 (lone-scn): isolated: one-off import" in notes
    report = flows.weekly_report(week_ctx, ben).report
    [row] = [r for r in report["sev2_review"] if r["Run_ID"] == "lone-1"]
    assert row["decision"]["decision"] == "isolated" and row["decision"]["by"] == "ben"
    with pytest.raises(Conflict, match="already decided in the weekly review 2026-W47: isolated by ben"):
        flows.open_case(week_ctx, ben, "lone-1")
    with pytest.raises(Invalid, match="needs a note saying why"):
        flows.isolated(week_ctx, ben, "big-0", " ")


def test_opening_a_case_for_a_sev2_records_it_like_the_recorder_and_removes_it_from_the_batch(week_ctx):
    ben = week_ctx.people.by_name("ben")
    case, _ = flows.open_case(week_ctx, ben, "big-2", "drift: five spikes this week")
    assert (case.case_id, case.severity.value, case.status.value, case.ack_required) == ("CASE-4", "SEV2", "Open", False)
    assert cases.case_for_run(week_ctx.state.snapshot(), "big-2").case_id == "CASE-4"
    [opened] = credit_entries(week_ctx, "case.opened")
    assert (opened["Run_ID"], opened["data"]["case"], opened["data"]["severity"]) == ("big-2", "CASE-4", "SEV2")
    report = flows.weekly_report(week_ctx, ben).report
    assert "big-2" not in [r["Run_ID"] for r in report["sev2_review"]]
    with pytest.raises(Conflict, match="already decided"):
        flows.open_case(week_ctx, ben, "big-2")


def test_only_recorded_sev2_runs_are_decided(week_ctx):
    ben = week_ctx.people.by_name("ben")
    with pytest.raises(NotFound, match="no recorded run 'nope'"):
        flows.open_case(week_ctx, ben, "nope")
    with pytest.raises(Invalid, match="run-sev1-nocase is SEV1, not SEV2"):
        flows.isolated(week_ctx, ben, "run-sev1-nocase", "why")


def test_the_cli_writes_the_report_as_an_o2_and_refuses_an_o1(tmp_path):
    from tests.conftest import run_cli

    config = tmp_path / "config.toml"
    from tests.conftest import PEOPLE_TOML
    config.write_text('timezone = "America/Los_Angeles"\ndata_dir = "var/"\n' + PEOPLE_TOML)
    done = run_cli("report", "weekly", "--week", "2026-W01", "--as", "ben", config=config)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "Weekly credit review 2026-W01 (2025-12-29 – 2026-01-04)"
    assert (tmp_path / "var/runs/CREDIT_REVIEWS/weekly_2025-12-29.json").exists()
    refused = run_cli("report", "weekly", "--as", "cleo", config=config)
    assert refused.returncode == 3 and "report weekly needs role O2" in refused.stderr
    noted = run_cli("report", "weekly", "note", "--week", "2026-W01", "all", "quiet", "--as", "ben", config=config)
    assert noted.stdout.strip() == "Noted in runs/CREDIT_REVIEWS/weekly_2025-12-29.notes.md", noted.stderr


def test_other_data_directories_do_not_leak_into_a_report(tmp_path, frozen):
    one, two = make_context(tmp_path / "one"), make_context(tmp_path / "two")
    run(one, "r1", "scn", 100.0, day(1))
    assert flows.weekly_report(two, two.people.by_name("ben"), WEEK).report["summary"]["runs"] == 0
