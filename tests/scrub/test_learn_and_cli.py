"""`scrub learn` keeps fingerprints only; the commands work end to end as an operator runs them."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from chatops.config import load_config
from jobs.actors import PermissionDenied
from jobs.compose import build_context
from jobs.export.scrub import LearnError, build_engine, check_paths, learn, scrub_paths
from tests.conftest import REPO, run_cli

SECRET = "Vr7#kQ2p!Lm9zX4w"


@pytest.fixture
def ctx(config_file):
    loaded = load_config(config_file)
    return build_context(loaded.settings, loaded.data_dir)


@pytest.mark.parametrize("prefilter", ["python", "hyperscan"])
def test_learned_value_is_removed_and_never_stored_in_plaintext(ctx, tmp_path, prefilter):
    assert learn(ctx, ctx.people.by_name("lee"), [SECRET], "Prod DB") == (1, 0)
    state = "".join(p.read_text() for p in (ctx.data_dir / "state.json", ctx.data_dir / "state.journal") if p.exists())
    assert SECRET not in state and "Prod DB" in state
    src = tmp_path / "s.jsonl"
    src.write_text(json.dumps({"command": f"psql -W {SECRET} -h db"}) + "\n"
                   + json.dumps({"u": f"postgres://app:{SECRET}@10.0.0.5/db"}) + "\n")
    engine = build_engine(ctx, prefilter)
    report = check_paths([src], engine)
    assert [(f.line, f.rule) for f in report.findings if f.line == 1] == [(1, "known-secret")]
    assert {f.line for f in report.findings if f.action.value == "found"} == {1, 2}
    scrub_paths([src], engine, in_place=True)
    assert SECRET not in src.read_text()


def test_learn_needs_the_permission_and_refuses_unsafe_values(ctx):
    with pytest.raises(PermissionDenied):
        learn(ctx, ctx.people.by_name("cleo"), [SECRET], "x")
    with pytest.raises(LearnError, match="at least 8 bytes"):
        learn(ctx, ctx.people.by_name("lee"), ["short"], "x")
    with pytest.raises(LearnError, match="single tokens") as info:
        learn(ctx, ctx.people.by_name("lee"), ["two words here"], "x")
    assert "two words" not in str(info.value)


def test_cli_check_scrub_rules_and_learn(config_file, tmp_path):
    token = "ghp_" + "Q7wErT9yUiOpAsDfGhJkLzXcVbNm1234QwEr"
    src = tmp_path / "s.jsonl"
    src.write_text(json.dumps({"text": f"use {token}"}) + "\n")
    check = run_cli("scrub", "check", str(src), config=config_file)
    assert check.returncode == 4 and "Scrub confidence: LOW" in check.stdout and token not in check.stdout
    refused = run_cli("scrub", str(src), "--out", str(tmp_path / "o"), "--as", "cleo", config=config_file)
    assert refused.returncode == 3
    done = run_cli("scrub", str(src), "--in-place", "--as", "ben", config=config_file)
    assert done.returncode == 0 and "Scrub confidence: HIGH" in done.stdout
    assert token not in src.read_text()
    rules = run_cli("scrub", "rules", config=config_file)
    assert rules.returncode == 0 and len(rules.stdout.splitlines()) > 150
    triggers = {line.split()[0]: line.rsplit("[", 1)[1].rstrip("]") for line in rules.stdout.splitlines()
                if line.startswith("  ") and line.rstrip().endswith("]")}
    assert triggers["aws-access-key-id"].endswith("; then its pattern")   # README, "Precise triggers"
    assert triggers["npmrc-auth"] == "_auth; then its regex"
    assert triggers["generic-password"] == "regex" and triggers["aws-secret-access-key"] == "aws, amazon"
    learned = subprocess.run([sys.executable, "-m", "chatops", "--config", str(config_file), "scrub", "learn",
                              "--item", "Stripe", "--as", "lee"], input=SECRET + "\n", capture_output=True,
                             text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert learned.returncode == 0 and "learned 1 new" in learned.stdout and SECRET not in learned.stdout


@pytest.mark.parametrize("prefilter", ["python", "hyperscan"])
def test_learned_value_at_the_end_of_a_sentence_or_in_bold_is_removed(ctx, tmp_path, prefilter):
    learn(ctx, ctx.people.by_name("lee"), [SECRET, "Tr0ub4dor&3xyz"], "Prod DB")
    lines = [f"the password is {SECRET}.", f"it is **{SECRET}**!", "use Tr0ub4dor&3xyz?", "Tr0ub4dor&3xyz:"]
    src = tmp_path / "s.jsonl"
    src.write_text("".join(json.dumps({"text": line}) + "\n" for line in lines))
    md = tmp_path / "n.md"
    md.write_text("\n".join(lines) + "\n")
    report = scrub_paths([src, md], build_engine(ctx, prefilter), in_place=True)
    for path in (src, md):
        text = path.read_text()
        assert SECRET not in text and "Tr0ub4dor&3xyz" not in text
        assert "[REDACTED:known-secret:" in text and text.count("\n") == 4
    assert "the password is [REDACTED:known-secret:" in md.read_text() and report.grade.value == "HIGH"


def test_cli_names_an_unsafe_scrub_key_in_one_line_without_a_traceback(config_file, tmp_path):
    src = tmp_path / "s.jsonl"
    src.write_text(json.dumps({"text": "ok"}) + "\n")
    assert run_cli("scrub", "check", str(src), config=config_file).returncode == 0
    key = next(config_file.parent.rglob("keys/scrub.key"))
    key.chmod(0o644)
    result = run_cli("scrub", "check", str(src), config=config_file)
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    assert f"run: chmod 600 {key}" in result.stderr and not result.stdout
