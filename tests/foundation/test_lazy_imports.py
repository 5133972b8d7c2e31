"""A command imports what it needs when it needs it: runbook scripts call `chatops` in loops, and every
module a command does not use is paid on every call (issue 21; bench/cli_bench.py prints the times).

Each command runs as a real process; the process reports which modules it loaded.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatops.commands.ledger import LEDGERS_SUBJECT_ID
from jobs import audit
from tests.conftest import REPO, run_cli

#: Never needed by a command that does not talk to Slack, GitHub or Notion, schedule jobs, draw charts, ask
#: a local model, look up holidays or scrub: each costs a reading command tens of milliseconds to import.
NOT_FOR_READING = ("slack_bolt", "slack_sdk", "aiohttp", "apscheduler", "hyperscan", "notion_client", "httpx",
                   "matplotlib", "github", "ollama", "holidays", "asyncio", "ssl")
#: Loaded by `ledger verify` only: the ledger code, and the signatures' library (cryptography) once there is a
#: signature to check.
LEDGER_CODE = ("jobs.audit", "store.ledger.ledger")
SIGNATURES = ("cryptography",)
#: Standard-library and project modules a reading command pays for without using: `ctypes.util` imports
#: subprocess and tempfile (store/files.py looks syncfs up only when it syncs), `statistics` is for baseline
#: calculation, the delivery machinery (kill switch, webhooks, workers) is for a command that sends, the
#: approvals for a case with an approved rerun.
NOT_FOR_A_LOOKUP = ("ctypes", "subprocess", "tempfile", "statistics", "jobs.killswitch", "jobs.webhooks",
                    "jobs.delivery", "jobs.approvals")
#: Paid only by the command that uses them: shutil (argparse asks it the terminal's width;
#: chatops.registry.HelpFormatter does not), secrets (a new key or origin), the notifier and the notices it
#: sends (built on the first notice), the App Home's views, a case thread's reply forms; difflib for an unknown
#: id's "did you mean" only.
ONLY_WHEN_USED = ("shutil", "secrets", "jobs.outbox", "store.outbox", "jobs.notices", "chatops.render.views",
                  "chatops.commands.case_replies")
#: What `help` needs none of: it reads no configuration (without --as) and no data directory.
NOT_FOR_HELP = ("jobs.settings", "chatops.config", "orjson", "tinydb", "jobs.credits.intake.schema",
                "jobs.credits.cases.service", "store.state")
REPORT = ("import sys\nfrom chatops.cli import main\ncode = main(sys.argv[1:])\n"
          "sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules)) + '\\n')\n")
def modules_loaded(config: Path, *args: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("SLACK_BOT_TOKEN", None)
    done = subprocess.run([sys.executable, "-c", REPORT, "--config", str(config), *args], capture_output=True,
                          text=True, env=env, timeout=60)
    line = [x for x in done.stderr.splitlines() if x.startswith("MODULES ")]
    assert line, done.stderr
    return set(line[-1].split()[1:])


def roots(modules: set[str]) -> set[str]:
    return modules | {m.split(".")[0] for m in modules}


def test_help_loads_no_configuration_no_domain_code_and_nothing_heavy(config_file: Path) -> None:
    loaded = roots(modules_loaded(config_file, "help"))
    assert not loaded & {*NOT_FOR_READING, *LEDGER_CODE, *NOT_FOR_A_LOOKUP, *NOT_FOR_HELP}


@pytest.mark.parametrize("args", [("case", "list"), ("gate", "dispatch", "run_x"), ("runs", "show", "run_x"),
                                  ("killswitch", "status"), ("incident", "list"), ("outbox", "status"),
                                  ("export", "status"), ("notion", "status")])
def test_reading_commands_load_nothing_heavy_and_no_ledger_code(config_file: Path, args: tuple[str, ...]) -> None:
    loaded = roots(modules_loaded(config_file, *args))
    assert not loaded & {*NOT_FOR_READING, *LEDGER_CODE, *SIGNATURES}


@pytest.mark.parametrize("args", [("case", "list"), ("gate", "dispatch", "run_x"), ("runs", "show", "run_x"),
                                  ("ledger", "verify", "--ledger", "operations")])
def test_the_looped_commands_load_no_process_spawning_statistics_or_delivery_code(
        config_file: Path, args: tuple[str, ...]) -> None:
    """The five commands issue 21 times (runbook scripts call them in loops) pay only for what they use."""
    loaded = modules_loaded(config_file, *args)
    assert not loaded & {*NOT_FOR_A_LOOKUP, *ONLY_WHEN_USED}
    if args[0] in ("case", "ledger"):     # the others name an unknown run here, and say which ids are close
        assert "difflib" not in loaded


def test_ledger_verify_loads_the_ledger_code_but_nothing_heavy_else(config_file: Path) -> None:
    """With no ledger yet there is no signature to check, so not even cryptography is loaded."""
    loaded = roots(modules_loaded(config_file, "ledger", "verify", "--ledger", "operations"))
    assert set(LEDGER_CODE) <= loaded
    assert not loaded & {*NOT_FOR_READING, *SIGNATURES}


def test_ledger_verify_of_a_signed_ledger_loads_cryptography_and_verifies(config_file: Path) -> None:
    assert run_cli("ledger", "init", "--as", "ana", config=config_file).returncode == 0
    loaded = roots(modules_loaded(config_file, "ledger", "verify", "--ledger", "operations"))
    assert {*LEDGER_CODE, *SIGNATURES} <= loaded
    done = run_cli("ledger", "verify", "--ledger", "operations", config=config_file)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "signature OK" in done.stdout and "all verify and match" in done.stdout


def test_the_ledger_commands_declare_the_subject_the_domain_authorizes_on() -> None:
    """`chatops.commands.ledger` repeats the id so that declaring its commands loads no ledger code."""
    assert LEDGERS_SUBJECT_ID == audit.LEDGERS_SUBJECT.id


def test_the_outbox_commands_name_the_queue_s_subject_kind_without_loading_it():
    from chatops.commands import outbox
    from jobs import outbox_admin

    assert outbox.ITEM == outbox_admin.SUBJECT_KIND
