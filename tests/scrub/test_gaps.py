"""`scrub gap`: anyone configured files a format the rules miss; it is in the operations ledger, code.platform
is notified through the outbox and closes it; `scrub rules --changes` reads the ruleset's changelog."""
from __future__ import annotations

import json

from jobs.export.scrub import load_rules
from tests.conftest import run_cli


def _outbox(config_file):
    path = config_file.parent / "var" / "outbox.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _ledger(config_file) -> str:
    return (config_file.parent / "var" / "operations" / "ledger.jsonl").read_text()


def test_a_viewer_files_a_gap_and_code_platform_is_notified_and_closes_it(config_file):
    filed = run_cli("scrub", "gap", "Acme keys: acme_live_ then 40 base62, seen in a .env", "--as", "cleo",
                    config=config_file)
    assert filed.returncode == 0, filed.stderr
    assert "GAP-1 recorded against ruleset" in filed.stdout and "notified lee" in filed.stdout
    assert "scrub.gap.filed" in _ledger(config_file)
    queued = [m["item"] for m in _outbox(config_file) if m.get("op") == "queued"]
    assert {m["to"] for m in queued if m["notice"]["kind"] == "scrub.gap"} >= {"@lee", "#ops-alerts"}

    listed = run_cli("scrub", "gaps", "--as", "ben", config=config_file)
    assert "GAP-1" in listed.stdout and "open" in listed.stdout and "acme_live_" in listed.stdout

    refused = run_cli("scrub", "gap", "close", "GAP-1", "--resolution", "done", "--as", "ana", config=config_file)
    assert refused.returncode == 3 and "code.platform" in refused.stdout + refused.stderr

    closed = run_cli("scrub", "gap", "close", "gap-1", "--resolution", "ruleset 2026.12.1 adds acme-api-key",
                     "--as", "lee", config=config_file)
    assert closed.returncode == 0 and "GAP-1 closed" in closed.stdout
    assert "scrub.gap.closed" in _ledger(config_file)
    assert run_cli("scrub", "gaps", "--as", "lee", config=config_file).stdout.strip() == "no open scrub ruleset gaps"
    assert "ruleset 2026.12.1 adds acme-api-key" in run_cli("scrub", "gaps", "--all", "--as", "lee",
                                                             config=config_file).stdout


def test_a_gap_holding_a_value_is_refused_and_only_the_refusal_recorded(config_file):
    token = "ghp_" + "Q7wErT9yUiOpAsDfGhJkLzXcVbNm1234QwEr"
    out = run_cli("scrub", "gap", f"this one slipped through: {token}", "--as", "cleo", config=config_file)
    assert out.returncode == 2 and "github-pat" in out.stderr and token not in out.stdout + out.stderr
    ledger = _ledger(config_file)
    assert "command.refused" in ledger and "github-pat" in ledger and token not in ledger
    assert run_cli("scrub", "gaps", "--as", "cleo", config=config_file).stdout.strip() == "no open scrub ruleset gaps"


def test_closing_an_unknown_gap_names_the_open_ones(config_file):
    run_cli("scrub", "gap", "Foo tokens: foo_ + 32 hex", "--as", "cleo", config=config_file)
    out = run_cli("scrub", "gap", "close", "GAP-9", "--resolution", "x", "--as", "lee", config=config_file)
    assert out.returncode == 6, out.stderr
    assert out.stderr.strip() == "chatops: no open gap GAP-9; open gaps: GAP-1 (see `chatops scrub gaps`)"
    assert not out.stdout


def test_closing_a_gap_without_its_id_is_a_usage_error_not_a_crash(config_file):
    out = run_cli("scrub", "gap", "close", "--resolution", "ruleset 2026.12.1", "--as", "lee", config=config_file)
    assert out.returncode == 2 and "internal error" not in out.stderr
    assert "the following arguments are required: GAP" in out.stderr


def test_rules_changes_lists_what_each_version_added(config_file):
    out = run_cli("scrub", "rules", "--changes", config=config_file)
    assert out.returncode == 0
    assert "2026.12.1" in out.stdout and "2026.12.0" in out.stdout and "2026.05.0" in out.stdout and "airtable-pat" in out.stdout


def test_every_rule_is_listed_as_added_by_exactly_one_version():
    ruleset = load_rules()
    added = [rule_id for entry in ruleset.changes for rule_id in entry.added]
    assert sorted(added) == sorted(r.id for r in ruleset.rules)
    assert ruleset.changes[0].version == ruleset.version


def test_rules_lists_the_addresses_kept_as_not_a_persons(config_file):
    out = run_cli("scrub", "rules", config=config_file).stdout
    assert "noreply@…" in out and "users.noreply.github.com" in out and "Every other address is removed." in out
