"""An unknown id is "not found" (exit 6), one line on stderr naming the closest known ids: never "refused",
never an answer on stdout, and never a pointer to a command that does not exist (issue 19, probed as a user)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from chatops.cli import main
from chatops.registry import Registry


def _run(capsys, config_file, *argv: str) -> tuple[int, str, str]:
    code = main(["--config", str(config_file), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_approving_an_unknown_proposal_is_not_found_and_lists_the_pending_ones(capsys, config_file):
    code, out, err = _run(capsys, config_file, "--as", "ana", "baseline", "approve", "APR-0000000000")
    assert code == 6 and not out
    assert err.strip() == "chatops: no approval request 'APR-0000000000'; pending requests: none"
    assert "chatops approvals" not in err and "refused" not in err


def test_an_unknown_scenario_is_not_called_a_refusal(capsys, config_file):
    code, out, err = _run(capsys, config_file, "baseline", "show", "--scenario", "scn-nope")
    assert code == 6 and not out
    assert err.startswith("chatops: unknown scenario 'scn-nope'") and "refused" not in err


def test_every_suggested_chatops_command_exists():
    """A sentence that tells the person to run `chatops X` names a registered command."""
    registry = Registry.load()
    names = {c.name for c in registry.commands} | {c.words[0] for c in registry.commands}   # groups too
    root = Path(__file__).resolve().parents[2]
    missing = set()
    for source in [*root.glob("chatops/**/*.py"), *root.glob("jobs/**/*.py"), *root.glob("store/**/*.py")]:
        for words in re.findall(r"`chatops ([a-z][a-z-]*(?: [a-z][a-z-]*)*)", source.read_text()):
            parts = words.split()
            if not any(" ".join(parts[:n]) in names for n in range(len(parts), 0, -1)):
                missing.add((source.name, words))
    assert not missing, sorted(missing)


def test_an_unknown_as_name_on_a_read_only_command_says_it_runs_without_as(capsys, config_file):
    code, out, err = _run(capsys, config_file, "--as", "anna", "case", "list")
    assert code == 2 and not out
    assert err.strip() == ("chatops: unknown person 'anna': did you mean 'ana'? add them to config.toml "
                           "[people.anna] (configured: ana, ben, cleo, dev, lee); case list is read-only: run it "
                           "without --as")


def test_a_refusal_for_want_of_any_role_reads_as_a_sentence(capsys, config_file):
    code, _out, err = _run(capsys, config_file, "scrub", "gap", "acme keys: acme_ then 40 hex")
    assert code == 3
    assert err.strip() == ("chatops: refused: scrub gap acts as a person: add --as NAME (a person from "
                           "config.toml [people] holding any role)")
    code, _out, err = _run(capsys, config_file, "--as", "annie", "scrub", "gap", "x")
    assert code == 2 and err.strip().endswith("scrub gap needs any role") and "role any role" not in err


def test_a_refusal_by_a_rule_records_the_command_and_its_subject_apart(capsys, config_file):
    """`jq 'select(.data.command=="quarantine release")'` finds every refusal of that command, whether the role
    table or a runbook rule refused it; the id refused is in `data.subject`."""
    code, _out, err = _run(capsys, config_file, "--as", "ana", "quarantine", "release", "run_nope",
                           "--finding", "mitigated", "--reason", "checked")
    assert code == 3, err
    code, _out, err = _run(capsys, config_file, "--as", "cleo", "quarantine", "release", "run_nope",
                           "--finding", "mitigated", "--reason", "checked")
    assert code == 3, err
    ledger = config_file.parent / "var" / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
    refusals = [json.loads(line)["data"] for line in ledger.read_text().splitlines()
                if json.loads(line)["kind"] == "command.refused"]
    assert [(r["command"], r["subject_kind"], r["subject"], r["person"]) for r in refusals] == [
        ("quarantine release", "run", "run_nope", "ana"), ("quarantine release", "run", "run_nope", "cleo")]
