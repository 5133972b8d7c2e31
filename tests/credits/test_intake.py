"""The three ways in: inbox files, the loopback HTTP intake and the CLI; bad records kept, never lost."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest
from freezegun import freeze_time

from jobs.credits.intake.sources import scan_inbox
from tests.conftest import REPO, run_cli
from tests.credits.conftest import START, kinds, raw_run, set_baseline


def drop(ctx, name: str, payload) -> Path:
    inbox = ctx.data_dir / "inbox" / "runs"
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    path.write_bytes(payload if isinstance(payload, bytes) else orjson.dumps(payload))
    return path


@freeze_time(START)
def test_inbox_records_good_files_and_keeps_bad_and_duplicate_ones_with_an_error_file(ctx, recorder):
    set_baseline(ctx, "scn-invoice", 100.0)
    drop(ctx, "a.json", raw_run(run_id="run_a"))
    drop(ctx, "b.json", raw_run(run_id="run_b", credits=600.0))
    drop(ctx, "bad.json", {**raw_run(run_id="run_c"), "Credits_Total": "lots"})
    drop(ctx, "torn.json", b'{"Run_ID": "run_d", "Scen')
    drop(ctx, "dup.json", raw_run(run_id="run_a"))
    drop(ctx, ".c.json.tmp", raw_run(run_id="run_e"))              # still being written: not taken
    result = scan_inbox(ctx, recorder.record)
    assert sorted(o.run_id for o in result.recorded) == ["run_a", "run_b"]
    rejected = ctx.data_dir / "inbox" / "rejected"
    assert sorted(p.name for p in rejected.iterdir()) == [
        "bad.json", "bad.json.error", "dup.json", "dup.json.error", "torn.json", "torn.json.error"]
    assert 'Credits_Total = "lots": expected a number >= 0' in (rejected / "bad.json.error").read_text()
    assert "not valid JSON" in (rejected / "torn.json.error").read_text()
    assert "already recorded" in (rejected / "dup.json.error").read_text()
    assert json.loads((rejected / "bad.json").read_bytes())["Run_ID"] == "run_c"      # kept as it came
    assert sorted(p.name for p in (ctx.data_dir / "inbox" / "runs").iterdir()) == [".c.json.tmp"]
    assert kinds(ctx).count("run.recorded") == 2


def call(url: str, data: bytes | None = None, token: str = "s3cret-token") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_http_intake_records_runs_and_answers_the_gate(ctx, http_intake):
    status, body = call(f"{http_intake}/runs", orjson.dumps(raw_run(run_id="run_h", credits=700.0)))
    assert status == 200 and body["outcomes"][0]["Severity"] == "SEV1" and body["outcomes"][0]["Case_ID"] == "CASE-1"
    assert call(f"{http_intake}/runs", orjson.dumps([raw_run(run_id="run_h")]))[0] == 409   # duplicate
    status, gate = call(f"{http_intake}/gate/scn-invoice")
    assert status == 423 and gate["allowed"] is False and "ACK is required" in gate["reasons"][0]
    status, gate = call(f"{http_intake}/gate/run_h")
    assert status == 200 and gate == {"subject": "run_h", "allowed": True, "known": True, "reasons": []}
    assert ctx.notifier.sent[-1].kind == "credits.alert"


def test_http_intake_rejects_bad_records_with_every_error_and_keeps_them(ctx, http_intake):
    status, body = call(f"{http_intake}/runs", orjson.dumps({"Run_ID": "run_x", "Credits_Total": -1}))
    assert status == 422 and any(e.startswith("Credits_Total = -1") for e in body["errors"])
    kept = ctx.data_dir / body["kept"]
    assert kept.exists() and "Credits_Total = -1" in kept.with_name(kept.name + ".error").read_text()


def test_http_intake_needs_the_bearer_token_and_listens_on_loopback_only(ctx, http_intake):
    assert call(f"{http_intake}/runs", orjson.dumps(raw_run()), token="wrong")[0] == 401
    assert call(f"{http_intake}/gate/scn-invoice", token="")[0] == 401
    assert kinds(ctx).count("run.recorded") == 0
    port = int(http_intake.rsplit(":", 1)[1])
    other = next((ip for ip in _local_addresses() if not ip.startswith("127.")), None)
    if other is not None:
        with pytest.raises(OSError):
            socket.create_connection((other, port), timeout=2).close()


def _local_addresses() -> list[str]:
    try:
        return socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        return []


def test_cli_records_a_run_from_stdin_and_answers_the_gate(config_file, tmp_path):
    run_cli("baseline", "set", "--scenario", "scn-invoice", "--credits", "100", "--reason", "test", "--as", "ana",
            config=config_file)
    record = json.dumps(raw_run(run_id="run_cli", credits=700.0))
    done = _cli_with_input(config_file, record, "runs", "record", "-", "--as", "ana")
    assert done.returncode == 0 and "recorded run_cli: SEV1" in done.stdout and "CASE-1" in done.stdout
    gate = run_cli("gate", "rerun", "scn-invoice", config=config_file)
    assert gate.returncode == 1 and gate.stdout.startswith("blocked: scn-invoice: CASE-1 (SEV1)")
    refused = run_cli("case", "ack", "CASE-1", "--as", "cleo", config=config_file)
    assert refused.returncode == 3 and "case ack needs role O2; you have O1" in refused.stderr
    acked = run_cli("case", "ack", "CASE-1", "--as", "ben", config=config_file)
    assert acked.returncode == 0 and "ACK recorded: ben investigating CASE-1" in acked.stdout
    early = run_cli("rerun", "approve", "CASE-1", "--mitigation", "cap", "--as", "ana", config=config_file)
    assert early.returncode == 3 and "no root cause identified yet" in early.stderr
    bad = _cli_with_input(config_file, "{}", "runs", "record", "-", "--as", "ana")
    assert bad.returncode == 2 and "Run_ID: missing" in bad.stderr
    shown = run_cli("case", "show", "CASE-1", config=config_file)
    assert "Status: Investigating" in shown.stdout and "Related_Run_IDs  run_cli" in shown.stdout


def _cli_with_input(config_file: Path, text: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("SLACK_BOT_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "chatops", "--config", str(config_file), *args], input=text,
                          capture_output=True, text=True, env=env, timeout=60)


def test_concurrent_posts_share_commits_and_each_gets_its_own_answer(ctx, http_intake):
    bodies = [orjson.dumps(raw_run(run_id=f"run_{n}", credits=100.0)) for n in range(19)]
    bodies.append(orjson.dumps(raw_run(run_id="run_spike", credits=700.0, Risk_Flags=["retry_loop"])))
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda body: call(f"{http_intake}/runs", body), bodies))
    assert all(status == 200 for status, _ in answers)
    got = {body["outcomes"][0]["Run_ID"]: body["outcomes"][0] for _, body in answers}
    assert set(got) == {f"run_{n}" for n in range(19)} | {"run_spike"}
    assert got["run_spike"]["Severity"] == "SEV1" and got["run_spike"]["Case_ID"] == "CASE-1"
    assert kinds(ctx).count("run.recorded") == 20


def test_a_failed_commit_answers_503_with_the_reason_and_keeps_nothing_half_done(ctx, http_intake):
    date_dir = ctx.data_dir / "runs" / "CREDIT_MONITORING" / "2026-11-22"
    date_dir.parent.mkdir(parents=True, exist_ok=True)
    date_dir.write_text("not a directory")
    status, body = call(f"{http_intake}/runs", orjson.dumps(raw_run(run_id="run_f", Started_At=START.isoformat())))
    assert status == 503 and body["error"].startswith("recording failed: ")
    assert "post the same body again later" in body["error"]
    assert kinds(ctx).count("run.recorded") == 0
    date_dir.unlink()
    assert call(f"{http_intake}/runs", orjson.dumps(raw_run(run_id="run_f")))[0] == 200
