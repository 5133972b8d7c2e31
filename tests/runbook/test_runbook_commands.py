"""The runbook's own shell commands (seed 001), copied verbatim, run where the README says operators stand:
in the data directory (`cd var/`), over a data directory made by the real CLI.

The data: runs of every severity (SEV0 kept in quarantine, SEV0 released, SEV1, SEV2, NORMAL, UNBASELINED, a
run started today), an ACK, a refused ACK, a root cause, a resolution, a rerun approved and one denied, a
quarantine release. Commands run in bash with the real `jq` when it is installed, else a stand-in on the PyPI
`jq` bindings (tests/runbook/jq_cli.py: same filters, same JSON). Placeholders are filled as the runbook
names them: `<run_id>` is a Run_ID such as `RUN-7f3a`, `<id>` its `7f3a`, `<date>` the run's local date.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from tests.conftest import PEOPLE_TOML, REPO, run_cli

ZONE = "America/Los_Angeles"
RUNS = [   # Run_ID, scenario, credits, flags, Started_At (UTC), severity it must be recorded with
    ("RUN-7f3a", "scn-invoice-sync", 6000, ["pii_exposure", "retry_loop"], "2024-01-17T16:00:00Z", "SEV0"),
    ("RUN-0e1f", "scn-claims", 12000, ["regulatory_data"], "2024-01-18T17:00:00Z", "SEV0"),
    ("RUN-9b1c", "scn-invoice-sync", 3100, ["retry_loop", "unbounded_iterator"], "2024-01-19T16:30:00Z", "SEV1"),
    ("RUN-4c2a", "scn-claims", 6000, [], "2024-01-20T18:00:00Z", "SEV1"),
    ("RUN-2d4e", "BINDER_EXPORT_WEEKLY", 2600, ["batch_job"], "2024-01-21T15:00:00Z", "SEV2"),
    ("RUN-5a6b", "BINDER_EXPORT_WEEKLY", 1250, [], "2024-01-22T15:00:00Z", "NORMAL"),
    ("RUN-8c9d", "scn-brand-new", 40, [], "2024-01-23T15:00:00Z", "UNBASELINED"),
    ("RUN-3e3e", "scn-invoice-sync", 480, [], "2024-02-02T16:00:00Z", "NORMAL"),
]
BASELINES = {"scn-invoice-sync": 500, "scn-claims": 1000, "BINDER_EXPORT_WEEKLY": 1250}


def _run(run_id: str, scenario: str, credits: float, flags: list[str], started: str) -> dict:
    return {"Run_ID": run_id, "Scenario_ID": scenario, "Job_Type": "sync", "Credits_Total": credits,
            "retry_count": 7 if "retry_loop" in flags else 0, "has_max_items_config": not flags,
            "Risk_Flags": flags, "is_backfill": False, "Started_At": started}


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    done = run_cli(*args, config=config)
    assert done.returncode == 0, f"chatops {' '.join(args)}: {done.stdout}{done.stderr}"
    return done


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    """A data directory made by the real CLI, and what the tests need to know about it."""
    root = tmp_path_factory.mktemp("runbook")
    config = root / "config.toml"
    config.write_text(f'timezone = "{ZONE}"\ndata_dir = "var/"\n' + PEOPLE_TOML)
    for scenario, credits in BASELINES.items():
        _cli(config, "--as", "ana", "baseline", "set", "--scenario", scenario, "--credits", str(credits),
             "--reason", "initial manual baseline")
    today = datetime.now(timezone.utc).replace(microsecond=0)
    runs = [*RUNS, ("RUN-6f6f", "BINDER_EXPORT_WEEKLY", 1300, [], today.isoformat().replace("+00:00", "Z"), "NORMAL")]
    (root / "runs.json").write_text(json.dumps([_run(*r[:5]) for r in runs]))
    recorded = json.loads(_cli(config, "--as", "ana", "runs", "record", str(root / "runs.json"), "--json").stdout)
    outcomes = {o["Run_ID"]: o for o in (recorded if isinstance(recorded, list) else recorded["runs"])}
    assert {run_id: outcomes[run_id]["Severity"] for run_id, *_ in runs} == {r[0]: r[5] for r in runs}
    case = {run_id: outcomes[run_id]["Case_ID"] for run_id in ("RUN-7f3a", "RUN-0e1f", "RUN-9b1c", "RUN-4c2a")}
    refused = run_cli("--as", "cleo", "case", "ack", case["RUN-9b1c"], config=config)
    assert refused.returncode == 3
    for run_id in ("RUN-0e1f", "RUN-9b1c", "RUN-4c2a"):
        _cli(config, "--as", "ben", "case", "ack", case[run_id])
        _cli(config, "--as", "ana", "case", "root-cause", case[run_id], "Misconfig")
    _cli(config, "--as", "ana", "rerun", "approve", case["RUN-9b1c"], "--mitigation", "max_items now 1000")
    _cli(config, "--as", "ana", "rerun", "deny", case["RUN-4c2a"], "--reason", "root cause not yet identified")
    _cli(config, "--as", "ana", "case", "resolve", case["RUN-0e1f"], "--summary", "regulatory flag was stale")
    _cli(config, "--as", "ana", "quarantine", "release", "RUN-0e1f", "--finding", "false-positive",
         "--reason", "no regulated record was read")
    data_dir = root / "var"
    bin_dir = root / "bin"
    bin_dir.mkdir()
    if shutil.which("jq") is None:
        shim = bin_dir / "jq"
        shim.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(REPO)!r})\n"
                        "from tests.runbook.jq_cli import main\nsys.exit(main())\n")
        shim.chmod(0o755)
    local_date = {r[0]: datetime.fromisoformat(r[4].replace("Z", "+00:00")).astimezone(ZoneInfo(ZONE)).date()
                  .isoformat() for r in runs}
    return {"config": config, "dir": data_dir, "runs": runs, "case": case, "date": local_date, "bin": bin_dir}


def sh(data: dict, command: str) -> subprocess.CompletedProcess:
    """One runbook command, verbatim, in bash, standing in the data directory (the README's `cd var/`).

    TZ is the configured timezone, as on the host the README describes: `$(date +%Y-%m-%d)` then names the
    folder of today's runs, which are filed by their local date.
    """
    env = {**os.environ, "PATH": f"{data['bin']}{os.pathsep}{os.environ.get('PATH', '')}", "TZ": ZONE}
    return subprocess.run(["bash", "-c", command], cwd=data["dir"], env=env, capture_output=True, text=True,
                          timeout=60)


def values(done: subprocess.CompletedProcess) -> list:
    """Every JSON value jq printed (pretty or compact), in order."""
    assert done.returncode == 0, done.stderr
    decoder, text, found, at = json.JSONDecoder(), done.stdout, [], 0
    while text[at:].strip():
        at += len(text[at:]) - len(text[at:].lstrip())
        value, at = decoder.raw_decode(text, at)
        found.append(value)
    return found


# ---- Useful Queries ---------------------------------------------------------------------------------------

def test_count_runs_by_severity_has_one_group_per_severity_and_no_null_group(data):
    [groups] = values(sh(data, """jq -s 'group_by(.Severity) | map({severity: .[0].Severity, count: length})' \\
  runs/CREDIT_MONITORING/ledger.jsonl"""))
    counts = {g["severity"]: g["count"] for g in groups}
    expected: dict[str, int] = {}
    for *_, severity in data["runs"]:
        expected[severity] = expected.get(severity, 0) + 1
    assert counts == expected      # SEV0 2, SEV1 2, SEV2 1, NORMAL 3, UNBASELINED 1: no null, nothing else


def test_top_scenarios_by_credit_spend_are_the_scenarios_of_the_runs_with_their_totals(data):
    [top] = values(sh(data, """jq -s 'group_by(.Scenario_ID) | map({scenario: .[0].Scenario_ID, total: map(.Credits_Total) | add}) | sort_by(.total) | reverse | .[0:5]' \\
  runs/CREDIT_MONITORING/ledger.jsonl"""))
    totals: dict[str, float] = {}
    for _, scenario, credits, *_ in data["runs"]:
        totals[scenario] = totals.get(scenario, 0) + credits
    assert [(t["scenario"], t["total"]) for t in top] == sorted(totals.items(), key=lambda kv: -kv[1])[:5]
    assert None not in [t["scenario"] for t in top]


def test_find_runs_with_a_risk_flag_and_query_ledger_sev0_answer_runs_only(data):
    flagged = values(sh(data, """jq 'select(.Risk_Flags[]? == "retry_loop")' runs/CREDIT_MONITORING/ledger.jsonl"""))
    assert [r["Run_ID"] for r in flagged] == ["RUN-7f3a", "RUN-9b1c"]
    sev0 = values(sh(data, """jq 'select(.Severity == "SEV0")' runs/CREDIT_MONITORING/ledger.jsonl"""))
    assert [r["Run_ID"] for r in sev0] == ["RUN-7f3a", "RUN-0e1f"]
    assert all(r["kind"] == "run.recorded" and r["dispatch_blocked"] is True for r in sev0)


def test_the_run_log_is_one_signed_run_record_per_run_and_the_actions_stay_in_the_signed_ledger(data):
    log_lines = (data["dir"] / "runs/CREDIT_MONITORING/ledger.jsonl").read_bytes().splitlines()
    signed = (data["dir"] / "runs/CREDIT_MONITORING/audit/ledger.jsonl").read_bytes().splitlines()
    assert log_lines == [line for line in signed if orjson.loads(line)["kind"] == "run.recorded"]
    # alerting runs are committed first (the fast lane): one line per run, in the order they were committed
    assert sorted(orjson.loads(line)["Run_ID"] for line in log_lines) == sorted(r[0] for r in data["runs"])
    kinds = {orjson.loads(line)["kind"] for line in signed}
    assert {"case.opened", "alert.acked", "command.refused", "rerun.approved", "rerun.denied", "quarantine.moved",
            "quarantine.released"} <= kinds
    verified = run_cli("ledger", "verify", config=data["config"])
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"runs/CREDIT_MONITORING/ledger.jsonl: {len(log_lines)} lines, each the signed run.recorded entry" \
        in verified.stdout


# ---- Quick checks, integrity, quarantine, troubleshooting ---------------------------------------------------

def test_sev1_quick_checks_read_the_run_record(data):
    date = data["date"]["RUN-9b1c"]
    [record] = values(sh(data, f"cat runs/CREDIT_MONITORING/{date}/run_9b1c.json | jq ."))
    assert record["Run_ID"] == "RUN-9b1c" and record["Severity"] == "SEV1"
    assert values(sh(data, f"jq '.retry_count' runs/CREDIT_MONITORING/{date}/run_9b1c.json")) == [7]
    assert values(sh(data, f"jq '.has_max_items_config' runs/CREDIT_MONITORING/{date}/run_9b1c.json")) == [False]
    assert values(sh(data, f"jq '.Job_Type' runs/CREDIT_MONITORING/{date}/run_9b1c.json")) == ["sync"]
    assert values(sh(data, f"cat runs/CREDIT_MONITORING/{date}/run_9b1c.json | jq '.Risk_Flags'")) == [
        ["retry_loop", "unbounded_iterator"]]


def test_verify_run_integrity_sha256sum_matches_the_sidecar(data):
    date = data["date"]["RUN-5a6b"]
    computed = sh(data, f"sha256sum runs/CREDIT_MONITORING/{date}/run_5a6b.json")
    sidecar = sh(data, f"cat runs/CREDIT_MONITORING/{date}/run_5a6b.json.sha256")
    assert computed.returncode == 0 and sidecar.returncode == 0
    assert computed.stdout.split()[0] == sidecar.stdout.split()[0] and len(sidecar.stdout.split()[0]) == 64


def test_sev0_quarantine_checks_list_show_and_hash_the_quarantined_run(data):
    listing = sh(data, "ls -la runs/QUARANTINE/RUN-7f3a/")
    assert listing.returncode == 0 and "run_7f3a.json\n" in listing.stdout and "run_7f3a.json.sha256" in listing.stdout
    assert sh(data, "ls -la runs/QUARANTINE/<run_id>/".replace("<run_id>", "RUN-7f3a")).stdout == listing.stdout
    [record] = values(sh(data, "cat runs/QUARANTINE/RUN-7f3a/run_7f3a.json | jq ."))
    assert record["Severity"] == "SEV0" and record["dispatch_blocked"] is True
    sidecar = sh(data, "cat runs/QUARANTINE/RUN-7f3a/run_7f3a.json.sha256")
    computed = sh(data, "sha256sum runs/QUARANTINE/RUN-7f3a/run_7f3a.json")
    assert computed.stdout.split()[0] == sidecar.stdout.split()[0]
    assert sh(data, 'grep "dispatch_blocked" runs/QUARANTINE/RUN-7f3a/run_7f3a.json').returncode == 0


def test_baseline_review_queries_read_the_exported_baselines(data):
    [entry] = values(sh(data, """jq '.baselines[] | select(.scenario_id == "BINDER_EXPORT_WEEKLY")' config/credit-baselines.json"""))
    assert entry["median_credits"] == 1250 and entry["scenario_id"] == "BINDER_EXPORT_WEEKLY"


def test_weekly_report_troubleshooting_finds_the_ledger_the_runs_in_the_period_and_todays_runs(data):
    assert sh(data, "ls -la runs/CREDIT_MONITORING/ledger.jsonl").returncode == 0
    period = sh(data, 'grep -E "2024-01-(16|17|18|19|20|21|22|23)" runs/CREDIT_MONITORING/ledger.jsonl | wc -l')
    assert int(period.stdout) == sum(1 for r in data["runs"] if r[4].startswith("2024-01"))
    today = sh(data, "ls -la runs/CREDIT_MONITORING/$(date +%Y-%m-%d)/")
    assert today.returncode == 0 and "run_6f6f.json" in today.stdout



def test_the_jq_stand_in_answers_the_useful_queries_as_jq_does(data):
    """The stand-in that machines without the jq program use: same filters, same answers (and jq's own,
    where jq is installed, for the same files)."""
    log = str(data["dir"] / "runs/CREDIT_MONITORING/ledger.jsonl")
    records = [orjson.loads(line) for line in Path(log).read_bytes().splitlines()]
    severities = sorted({r["Severity"] for r in records})
    by_severity = [{"severity": s, "count": sum(r["Severity"] == s for r in records)} for s in severities]
    totals: dict[str, float] = {}
    for r in records:
        totals[r["Scenario_ID"]] = totals.get(r["Scenario_ID"], 0) + r["Credits_Total"]
    top = [{"scenario": k, "total": v} for k, v in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))][:5]
    flagged = [r for r in records if "retry_loop" in r["Risk_Flags"]]
    queries = {("-s", "group_by(.Severity) | map({severity: .[0].Severity, count: length})"): [by_severity],
               ("-s", "group_by(.Scenario_ID) | map({scenario: .[0].Scenario_ID, total: map(.Credits_Total) | add})"
                      " | sort_by(.total) | reverse | .[0:5]"): [top],
               ('select(.Risk_Flags[]? == "retry_loop")',): flagged}
    programs = [[sys.executable, str(REPO / "tests/runbook/jq_cli.py")]] + [[p] for p in [shutil.which("jq")] if p]
    for query, expected in queries.items():
        for program in programs:
            assert values(subprocess.run([*program, *query, log], capture_output=True, text=True)) == expected
