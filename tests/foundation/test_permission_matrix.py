"""The golden permission matrix: each role × each registered command → allowed (Y) or refused (-).

Written out here, not computed from `jobs.actors.allowed()`: a change to the permission table or to a
command's declaration must change this file too. It is exercised the way people reach chatops: the
CLI (`chatops … --as NAME`, and without `--as`) and signed Slack requests to the HTTP-mode app. A
refusal must come from the gate, say the role needed, exit 3 in the shell, and be recorded once in
the command's ledger naming the person, the command and its subject; an allowed call must not be
refused by the gate (it may still fail on its own terms: the ids used here do not exist).

The one rule (`chatops help`): read-only commands run in the shell for anyone who can read the data
directory, with or without `--as`; the others act as a person holding a role the table grants. From
Slack every command needs its role. An `--as` name that is not configured is an error, not a person.
"""
from __future__ import annotations

import io
import json
import shlex
import time
import tomllib
from pathlib import Path

import pytest

from chatops.cli import main
from chatops.config import LoadedConfig, parse_settings
from chatops.daemon import LOCK_NAME, DaemonLock
from chatops.registry import Registry
from chatops.slack.interface import SlackInterface
from chatops.slack.mode import Mode
from chatops.slack.runtime import start_slack
from jobs.compose import build_context
from tests.slack.test_http_mode import ENV, post, sign, slash_body
from tests.standins.slack import BOT_TOKEN, SlackStandIn

#: One configured person per role, and the two who are not: an unknown name / Slack user, and nobody.
PEOPLE = {"o1": "O1", "o2": "O2", "o3": "O3", "ceo": "ceo", "coo": "coo", "cos": "chief.staff",
          "plat": "code.platform", "sec": "security.ops", "legal": "legal.exec"}
COLUMNS = (*PEOPLE, "unknown", "anonymous")
SLACK_IDS = {name: f"U0{name.upper():0<8}" for name in PEOPLE} | {"unknown": "U0STRANGER"}

# The shell. Read-only commands: everyone who can read the data directory, named or not (an unknown
# --as name is refused as unknown). Other commands: the role the table grants; nobody without --as.
#                        o1 o2 o3 ceo coo cos plat sec legal unknown anonymous
CLI = {
    "help":               "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "config check":       "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "jobs":               "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "daemon":             "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "baseline calculate": "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "baseline update":    "-  -  Y  -   -   -   -    -   -     -       -",
    "baseline propose":   "-  Y  Y  -   -   -   -    -   -     -       -",
    "baseline approve":   "-  -  Y  -   -   -   -    -   -     -       -",
    "baseline set":       "-  -  Y  -   -   -   -    -   -     -       -",
    "baseline show":      "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "baseline export":    "-  -  Y  -   -   -   -    -   -     -       -",
    "ledger verify":      "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "ledger prove":       "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "ledger verify-proof": "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "ledger witness":     "-  Y  Y  -   -   -   -    -   -     -       -",
    "ledger init":        "-  -  Y  -   -   -   -    -   -     -       -",
    "ledger repair":      "-  -  Y  -   -   -   -    -   -     -       -",
    "ledger rotate-key":  "-  -  Y  -   -   -   -    -   -     -       -",
    "ledger reopen":      "-  -  Y  -   -   -   -    -   -     -       -",
    "ledger reseal":      "-  -  Y  -   -   -   -    -   -     -       -",
    "runs record":        "-  -  Y  -   -   -   -    -   -     -       -",
    "runs restore-files": "-  -  Y  -   -   -   -    -   -     -       -",
    "runs show":          "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "runs list":          "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "case list":          "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "case show":          "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "case ack":           "-  Y  Y  -   -   -   -    -   -     -       -",
    "case note":          "-  Y  Y  -   -   -   -    -   -     -       -",
    "case root-cause":    "-  Y  Y  -   -   -   -    -   -     -       -",
    "case resolve":       "-  -  Y  -   -   -   -    -   -     -       -",
    "rerun approve":      "-  -  Y  -   -   -   -    -   -     -       -",
    "rerun deny":         "-  -  Y  -   -   -   -    -   -     -       -",
    "quarantine release": "-  -  Y  -   -   -   -    -   -     -       -",
    "backfill on":        "-  -  Y  -   -   -   -    -   -     -       -",
    "backfill off":       "-  -  Y  -   -   -   -    -   -     -       -",
    "scenario set":       "-  -  Y  -   -   -   -    -   -     -       -",
    "gate dispatch":      "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "gate rerun":         "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "killswitch on":      "-  -  Y  -   -   -   -    -   -     -       -",
    "killswitch off":     "-  -  Y  -   -   -   -    -   -     -       -",
    "killswitch status":  "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "scrub check":        "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "scrub":              "-  -  Y  -   -   Y   Y    Y   -     -       -",
    "scrub rules":        "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "scrub learn":        "-  -  -  -   -   -   Y    Y   -     -       -",
    "scrub gap":          "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       -",
    "scrub gaps":         "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "scrub gap close":    "-  -  -  -   -   -   Y    -   -     -       -",
    "outbox status":      "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "outbox retry":       "-  -  Y  -   -   -   -    -   -     -       -",
    "outbox park":        "-  -  Y  -   -   -   -    -   -     -       -",
    "calendar add":       "-  -  -  -   -   -   -    Y   -     -       -",
    "calendar done":      "-  -  -  -   -   -   -    Y   -     -       -",
    "calendar list":      "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "incident file":      "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       -",
    "incident list":      "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "incident show":      "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       -",
    "incident timeline":  "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "incident step":      "-  -  -  -   Y   -   -    Y   Y     -       -",
    "incident assess":    "-  -  -  -   Y   -   -    Y   Y     -       -",
    "incident escalate":  "-  -  -  -   Y   -   -    Y   Y     -       -",
    "incident decide":    "-  -  -  -   Y   -   -    -   Y     -       -",
    "incident close":     "-  -  -  -   Y   -   -    Y   Y     -       -",
    "incident notice draft":   "-  -  -  -   -   -   -    -   Y     -       -",
    "incident notice approve": "-  -  -  Y   Y   -   -    -   Y     -       -",
    "incident notice counsel": "-  -  -  Y   Y   -   -    -   Y     -       -",
    "incident notice sent":    "-  -  -  -   Y   -   -    -   Y     -       -",
    "incident keys rotate":    "-  -  -  -   -   -   -    Y   -     -       -",
    "notion status":      "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "notion sync":        "-  Y  Y  -   -   -   -    -   -     -       -",
    "notion check":       "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "report weekly":      "-  Y  Y  -   -   -   -    -   -     -       -",
    "report weekly note": "-  Y  Y  -   -   -   -    -   -     -       -",
    "report weekly open-case": "-  Y  Y  -   -   -   -    -   -     -       -",
    "report weekly isolated": "-  Y  Y  -   -   -   -    -   -     -       -",
    "report weekly propose": "-  -  Y  -   -   -   -    -   -     -       -",
    "report monthly":     "-  -  Y  -   -   -   -    -   -     -       -",
    "report quarterly":   "-  -  Y  -   -   -   -    -   -     -       -",
    "export run":         "-  -  -  -   -   Y   Y    -   -     -       -",
    "export status":      "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "export merge":       "-  -  -  -   Y   Y   -    -   -     -       -",
    "export hold":        "-  -  -  -   Y   Y   -    -   -     -       -",
    "export rescrub":     "-  -  -  -   -   Y   Y    -   -     -       -",
    "export credential":  "-  -  -  -   -   -   Y    Y   -     -       -",
    "doctor":             "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "backup":             "-  -  Y  -   -   -   -    -   -     -       -",
    "restore":            "-  -  Y  -   -   -   -    -   -     -       -",
    "upgrade":            "-  -  Y  -   -   -   -    -   -     -       -",
    "service install":    "-  -  Y  -   -   -   -    -   -     -       -",
    "service uninstall":  "-  -  Y  -   -   -   -    -   -     -       -",
    "service status":     "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "sweep run":          "-  Y  Y  -   -   Y   -    -   -     -       -",
    "sweep show":         "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "summary show":       "Y  Y  Y  Y   Y   Y   Y    Y   Y     -       Y",
    "summary send":       "-  -  -  Y   -   Y   -    -   -     -       -",
}

# Slack (`/ops`): every command needs its role; an unknown Slack user may read help and nothing else.
#                        o1 o2 o3 ceo coo cos plat sec legal unknown
SLACK = {
    "help":               "Y  Y  Y  Y   Y   Y   Y    Y   Y     Y",
    "config check":       "Y  Y  Y  Y   Y   Y   Y    -   -     -",
    "jobs":               "Y  Y  Y  Y   Y   Y   Y    -   -     -",
    "baseline calculate": "-  Y  Y  -   -   -   -    -   -     -",
    "baseline update":    "-  -  Y  -   -   -   -    -   -     -",
    "baseline propose":   "-  Y  Y  -   -   -   -    -   -     -",
    "baseline approve":   "-  -  Y  -   -   -   -    -   -     -",
    "baseline set":       "-  -  Y  -   -   -   -    -   -     -",
    "baseline show":      "Y  Y  Y  -   -   -   -    -   -     -",
    "baseline export":    "-  -  Y  -   -   -   -    -   -     -",
    "ledger verify":      "Y  Y  Y  -   -   -   -    -   -     -",
    "runs show":          "Y  Y  Y  -   -   -   -    -   -     -",
    "runs list":          "Y  Y  Y  -   -   -   -    -   -     -",
    "case list":          "Y  Y  Y  -   -   -   -    -   -     -",
    "case show":          "Y  Y  Y  -   -   -   -    -   -     -",
    "case ack":           "-  Y  Y  -   -   -   -    -   -     -",
    "case note":          "-  Y  Y  -   -   -   -    -   -     -",
    "case root-cause":    "-  Y  Y  -   -   -   -    -   -     -",
    "case resolve":       "-  -  Y  -   -   -   -    -   -     -",
    "rerun approve":      "-  -  Y  -   -   -   -    -   -     -",
    "rerun deny":         "-  -  Y  -   -   -   -    -   -     -",
    "quarantine release": "-  -  Y  -   -   -   -    -   -     -",
    "backfill on":        "-  -  Y  -   -   -   -    -   -     -",
    "backfill off":       "-  -  Y  -   -   -   -    -   -     -",
    "scenario set":       "-  -  Y  -   -   -   -    -   -     -",
    "gate dispatch":      "Y  Y  Y  -   -   -   -    -   -     -",
    "gate rerun":         "Y  Y  Y  -   -   -   -    -   -     -",
    "killswitch on":      "-  -  Y  -   -   -   -    -   -     -",
    "killswitch off":     "-  -  Y  -   -   -   -    -   -     -",
    "killswitch status":  "Y  Y  Y  Y   Y   Y   Y    Y   Y     -",
    "scrub rules":        "-  Y  Y  -   -   Y   Y    Y   -     -",
    "scrub gap":          "Y  Y  Y  Y   Y   Y   Y    Y   Y     -",
    "scrub gaps":         "Y  Y  Y  Y   Y   Y   Y    Y   Y     -",
    "scrub gap close":    "-  -  -  -   -   -   Y    -   -     -",
    "outbox status":      "Y  Y  Y  -   -   -   -    -   -     -",
    "outbox retry":       "-  -  Y  -   -   -   -    -   -     -",
    "outbox park":        "-  -  Y  -   -   -   -    -   -     -",
    "calendar add":       "-  -  -  -   -   -   -    Y   -     -",
    "calendar done":      "-  -  -  -   -   -   -    Y   -     -",
    "calendar list":      "-  -  -  Y   Y   Y   -    Y   Y     -",
    "incident file":      "Y  Y  Y  Y   Y   Y   Y    Y   Y     -",
    "incident list":      "Y  Y  Y  Y   Y   Y   -    Y   Y     -",
    "incident timeline":  "Y  Y  Y  Y   Y   Y   -    Y   Y     -",
    "incident step":      "-  -  -  -   Y   -   -    Y   Y     -",
    "incident assess":    "-  -  -  -   Y   -   -    Y   Y     -",
    "incident escalate":  "-  -  -  -   Y   -   -    Y   Y     -",
    "incident decide":    "-  -  -  -   Y   -   -    -   Y     -",
    "incident close":     "-  -  -  -   Y   -   -    Y   Y     -",
    "incident notice draft":   "-  -  -  -   -   -   -    -   Y     -",
    "incident notice approve": "-  -  -  Y   Y   -   -    -   Y     -",
    "incident notice counsel": "-  -  -  Y   Y   -   -    -   Y     -",
    "incident notice sent":    "-  -  -  -   Y   -   -    -   Y     -",
    "incident keys rotate":    "-  -  -  -   -   -   -    Y   -     -",
    "notion status":      "Y  Y  Y  -   -   -   -    -   -     -",
    "report weekly":      "-  Y  Y  -   -   -   -    -   -     -",
    "report weekly note": "-  Y  Y  -   -   -   -    -   -     -",
    "report weekly open-case": "-  Y  Y  -   -   -   -    -   -     -",
    "report weekly isolated": "-  Y  Y  -   -   -   -    -   -     -",
    "report weekly propose": "-  -  Y  -   -   -   -    -   -     -",
    "report monthly":     "-  -  Y  -   -   -   -    -   -     -",
    "report quarterly":   "-  -  Y  -   -   -   -    -   -     -",
    "export run":         "-  -  -  -   -   Y   Y    -   -     -",
    "export status":      "Y  Y  Y  Y   Y   Y   Y    Y   -     -",
    "export merge":       "-  -  -  -   Y   Y   -    -   -     -",
    "export hold":        "-  -  -  -   Y   Y   -    -   -     -",
    "export rescrub":     "-  -  -  -   -   Y   Y    -   -     -",
    "export credential":  "-  -  -  -   -   -   Y    Y   -     -",
    "doctor":             "Y  Y  Y  -   -   -   -    -   -     -",
    "sweep run":          "-  Y  Y  -   -   Y   -    -   -     -",
    "sweep show":         "Y  Y  Y  Y   Y   Y   -    -   -     -",
    "summary show":       "-  -  -  Y   Y   Y   -    -   -     -",
    "summary send":       "-  -  -  Y   -   Y   -    -   -     -",
}

#: Arguments that reach the gate and then do nothing lasting (unknown ids, blank reasons), and the
#: subject the gate must name: (kind, id).
ARGS = {
    "help": ([], ("help", "help")),
    "config check": ([], ("config", "config")),
    "jobs": ([], ("jobs", "jobs")),
    "daemon": ([], ("daemon", "daemon")),
    "baseline calculate": (["--scenario", "SCN_NONE"], ("scenario", "SCN_NONE")),
    "baseline update": (["--scenario", "SCN_NONE"], ("scenario", "SCN_NONE")),
    "baseline propose": (["--scenario", "SCN_NONE", "--reason", "matrix"], ("scenario", "SCN_NONE")),
    "baseline approve": (["APR-none"], ("proposal", "APR-none")),
    "baseline set": (["--scenario", "SCN_NONE", "--credits", "10", "--reason", " "], ("scenario", "SCN_NONE")),
    "baseline show": ([], ("scenario", "all")),
    "baseline export": ([], ("export", "config/credit-baselines.json")),
    "ledger verify": (["--ledger", "credit"], ("ledger", "credit")),
    "ledger prove": (["--seq", "999"], ("ledger", "credit")),
    "ledger verify-proof": (["{tmp}/none.tlog-proof"], ("proof", "{tmp}/none.tlog-proof")),
    "ledger witness": (["--dir", "{tmp}/witness-{who}"], ("ledger", "all")),
    "ledger init": ([], ("ledger", "credit+operations")),
    "ledger repair": ([], ("ledger", "credit+operations")),
    "ledger rotate-key": (["--reason", " "], ("ledger", "credit+operations")),
    "ledger reopen": (["--ledger", "operations", "--reason", " "], ("ledger", "operations")),
    "ledger reseal": (["--ledger", "operations", "--reason", " "], ("ledger", "operations")),
    "runs record": (["{tmp}/none.json"], ("file", "{tmp}/none.json")),
    "runs restore-files": ([], ("runs", "run files recorded after the durable mark")),
    "runs show": (["RUN_NONE"], ("run", "RUN_NONE")),
    "runs list": ([], ("runs", "runs")),
    "case list": ([], ("case", "case")),
    "case show": (["CASE-999"], ("case", "CASE-999")),
    "case ack": (["CASE-999"], ("case", "CASE-999")),
    "case note": (["CASE-999", "a note"], ("case", "CASE-999")),
    "case root-cause": (["CASE-999", "Misconfig"], ("case", "CASE-999")),
    "case resolve": (["CASE-999", "--summary", "done"], ("case", "CASE-999")),
    "rerun approve": (["CASE-999", "--mitigation", "--force was wrong"], ("case", "CASE-999")),
    "rerun deny": (["CASE-999", "--reason", "--force was wrong"], ("case", "CASE-999")),
    "quarantine release": (["RUN_NONE", "--finding", "false-positive", "--reason", "r"], ("run", "RUN_NONE")),
    "backfill on": (["SCN_NONE", "--until", "2h", "--reason", " "], ("scenario", "SCN_NONE")),
    "backfill off": (["SCN_NONE"], ("scenario", "SCN_NONE")),
    "scenario set": (["SCN_NONE", "max_items", "0"], ("scenario", "SCN_NONE")),
    "gate dispatch": (["RUN_NONE"], ("run", "RUN_NONE")),
    "gate rerun": (["SCN_NONE"], ("scenario", "SCN_NONE")),
    "killswitch on": (["--for", "1h", "--reason", " "], ("killswitch", "killswitch")),
    "killswitch off": ([], ("killswitch", "killswitch")),
    "killswitch status": ([], ("killswitch", "killswitch")),
    "scrub check": (["{tmp}/scrub-me.txt"], ("path", "{tmp}/scrub-me.txt")),
    "scrub": (["{tmp}/scrub-me.txt", "--out", "{tmp}/clean-{who}"], ("path", "{tmp}/scrub-me.txt")),
    "scrub rules": ([], ("scrub", "scrub")),
    "scrub learn": (["--item", "matrix"], ("secret", "matrix")),
    "scrub gap": ([" "], ("scrub gap", "new")),
    "scrub gaps": ([], ("scrub gap", "all")),
    "scrub gap close": (["GAP-999", "--resolution", " "], ("scrub gap", "GAP-999")),
    "outbox status": ([], ("outbox", "outbox")),
    "outbox retry": (["none"], ("outbox item", "none")),
    "outbox park": (["none", "--reason", "matrix"], ("outbox item", "none")),
    "calendar add": (["--item", " ", "--category", "none", "--due", "none", "--owner", "none"],
                     ("calendar item", "new")),
    "calendar done": (["CAL-999"], ("calendar item", "CAL-999")),
    "calendar list": ([], ("calendar", "all")),
    "incident file": (["--trigger", "workflow-failure", "--sev", "SEV3", "--what", "", "--contained", "x",
                       "--at-risk", "x"], ("incident", "new")),
    "incident list": ([], ("incident", "all")),
    "incident show": (["INC-999"], ("incident", "INC-999")),
    "incident timeline": (["INC-999"], ("incident", "INC-999")),
    "incident step": (["INC-999", "--step", "contain", "--text", "x"], ("incident", "INC-999")),
    "incident assess": (["INC-999", "--sev1-risk", "no", "--text", "x"], ("incident", "INC-999")),
    "incident escalate": (["INC-999", "--to", "SEV1"], ("incident", "INC-999")),
    "incident decide": (["INC-999", "--customer-data", "no"], ("incident", "INC-999")),
    "incident close": (["INC-999"], ("incident", "INC-999")),
    "incident notice draft": (["INC-999", "--text", "x"], ("incident", "INC-999")),
    "incident notice approve": (["INC-999"], ("incident", "INC-999")),
    "incident notice counsel": (["INC-999", "--reviewer", "x"], ("incident", "INC-999")),
    "incident notice sent": (["INC-999"], ("incident", "INC-999")),
    "incident keys rotate": ([], ("incident key", "current")),
    "notion status": ([], ("notion", "notion")),
    "notion sync": ([], ("notion", "notion")),
    "notion check": ([], ("notion", "notion")),
    "report weekly": (["--week", "2999-W01"], ("weekly_review", "2999-W01")),
    "report weekly note": (["--week", "2999-W01", " "], ("weekly_review", "2999-W01")),
    "report weekly open-case": (["RUN_NONE"], ("run", "RUN_NONE")),
    "report weekly isolated": (["RUN_NONE", "--note", " "], ("run", "RUN_NONE")),
    "report weekly propose": (["SCN_NONE"], ("scenario", "SCN_NONE")),
    "report monthly": (["--month", "2999-01"], ("audit_report", "2999-01")),
    "report quarterly": (["--quarter", "2999-Q1"], ("audit_report", "2999-Q1")),
    "export run": (["--date", "none"], ("export_day", "none")),
    "export status": ([], ("export_day", "all")),
    "export merge": (["999"], ("export_pr", "999")),
    "export hold": (["999", "--reason", "matrix"], ("export_pr", "999")),
    "export rescrub": (["999"], ("export_pr", "999")),
    "export credential": (["999", "--active", "yes", "--note", "x"], ("export_pr", "999")),
    "doctor": ([], ("doctor", "doctor")),
    "backup": (["{tmp}/backup-{who}"], ("backup", "{tmp}/backup-{who}")),
    "restore": (["{tmp}/no-backup"], ("backup", "{tmp}/no-backup")),
    "upgrade": (["--check"], ("schema", "data directory")),
    "service install": (["--no-start", "--root", "{tmp}/home-{who}"], ("service", "service")),
    "service uninstall": (["--no-stop", "--root", "{tmp}/home-{who}"], ("service", "service")),
    "service status": (["--root", "{tmp}/home-{who}"], ("service", "service")),
    "sweep run": ([], ("sweep", "daily")),
    "sweep show": ([], ("sweep", "daily")),
    "summary show": ([], ("summary", "ceo")),
    "summary send": ([], ("summary", "ceo")),
}
LEDGER_FILES = {"operations": "operations/ledger.jsonl", "credit": "runs/CREDIT_MONITORING/audit/ledger.jsonl"}
REGISTRY = Registry.load()


def _row(text: str, columns: tuple[str, ...]) -> dict[str, bool]:
    marks = text.split()
    assert len(marks) == len(columns) and set(marks) <= {"Y", "-"}, text
    return dict(zip(columns, (m == "Y" for m in marks)))


def test_the_matrix_covers_every_registered_command_and_nothing_else():
    assert sorted(CLI) == sorted(c.name for c in REGISTRY.commands) == sorted(ARGS)
    assert sorted(SLACK) == sorted(c.name for c in REGISTRY.commands if c.slack)


def test_in_the_shell_a_named_person_is_never_granted_less_than_nobody():
    for name, row in CLI.items():
        marks = _row(row, COLUMNS)
        if marks["anonymous"]:
            assert all(marks[person] for person in PEOPLE), name


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    people = "".join(f'[people.{name}]\nslack_id = "{SLACK_IDS[name]}"\nroles = ["{role}"]\n\n'
                     for name, role in PEOPLE.items())
    config = tmp_path / "config.toml"
    config.write_text(f'timezone = "America/Los_Angeles"\ndata_dir = "var/"\n\n{people}')
    (tmp_path / "scrub-me.txt").write_text("nothing secret here\n")
    return config


def _refusals(data_dir: Path) -> list[dict]:
    found = []
    for ledger, path in LEDGER_FILES.items():
        if (data_dir / path).exists():
            found += [{**e, "ledger": ledger} for e in map(json.loads, (data_dir / path).read_text().splitlines())
                      if e["kind"] == "command.refused"]
    return found


def _seen(data_dir: Path) -> set[tuple[str, int]]:
    return {(e["ledger"], e["seq"]) for e in _refusals(data_dir)}


def _gate_refusals(data_dir: Path, seen: set[tuple[str, int]], name: str) -> list[dict]:
    """Refusals by the gate for want of a person or a role (not a domain rule's) recorded since `seen`."""
    return [e for e in _refusals(data_dir) if (e["ledger"], e["seq"]) not in seen and e["data"]["command"] == name
            and any(why in e["data"]["reason"] for why in ("needs role", "needs any role", "acts as a person"))]


@pytest.mark.parametrize("name", list(CLI))
def test_cli_allows_or_refuses_each_role_as_the_matrix_says(deployment, name, capsys, monkeypatch):
    tmp = deployment.parent
    data_dir = tmp / "var"
    command = next(c for c in REGISTRY.commands if c.name == name)
    template, (kind, subject) = ARGS[name]
    lock = DaemonLock(data_dir / LOCK_NAME).acquire() if name == "daemon" else None   # `daemon` then stops at once
    try:
        for who, allowed in _row(CLI[name], COLUMNS).items():
            monkeypatch.setattr("sys.stdin", io.StringIO(""))
            argv = [*command.words, *(a.format(tmp=tmp, who=who) for a in template)]
            argv += [] if who == "anonymous" else ["--as", "mallory" if who == "unknown" else who]
            seen = _seen(data_dir)
            code = main(["--config", str(deployment), *argv])
            err = capsys.readouterr().err
            refused = _gate_refusals(data_dir, seen, name)
            if who == "unknown":
                assert code == 2 and "unknown person 'mallory'" in err and not refused, (name, who, code, err)
            elif allowed:
                assert code != 3 or "needs role" not in err, (name, who, code, err)
                assert not refused, (name, who)
            else:
                assert code == 3 and "refused:" in err and "Traceback" not in err, (name, who, code, err)
                [entry] = refused
                actor = SLACK_IDS.get(who, "nobody")
                assert (entry["actor"], entry["ledger"], entry["data"]["subject_kind"], entry["data"]["subject"]) == (
                    actor, command.ledger, kind, subject.format(tmp=tmp, who=who)), (name, who)
    finally:
        if lock is not None:
            lock.release()


@pytest.fixture
def slack_port(deployment: Path, monkeypatch):
    server = SlackStandIn().start()
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    raw = tomllib.loads(deployment.read_text())
    raw["slack"] = {"api_url": server.api_url}
    loaded = LoadedConfig(settings=parse_settings(raw), path=deployment, data_dir=deployment.parent / "var")
    iface = SlackInterface(ctx=build_context(loaded.settings, loaded.data_dir), registry=REGISTRY,
                           config=lambda: loaded)
    runtime = start_slack(iface, Mode.HTTP, ENV, http_port=0)
    yield server, runtime.connection.port, loaded.data_dir
    runtime.stop()
    server.stop()


def _ask(server: SlackStandIn, port: int, user: str, text: str) -> str:
    body, n = slash_body(server, user, text)
    now = int(time.time())
    status, _, _ = post(port, body, {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": sign(body, now)})
    assert status == 200
    return server.wait_for(lambda s: [r for r in s.responses if r["n"] == n], timeout=30)[0]["text"]


def test_signed_slack_requests_allow_or_refuse_each_role_as_the_matrix_says(slack_port, deployment):
    server, port, data_dir = slack_port
    tmp = deployment.parent
    for name, row in SLACK.items():
        command = next(c for c in REGISTRY.commands if c.name == name)
        template, (kind, subject) = ARGS[name]
        for who, allowed in _row(row, (*PEOPLE, "unknown")).items():
            seen = _seen(data_dir)
            answer = _ask(server, port, SLACK_IDS[who], shlex.join(
                [*command.words, *(a.format(tmp=tmp, who=who) for a in template)]))
            refused = _gate_refusals(data_dir, seen, name)
            if allowed:
                assert f"{name} needs role" not in answer and f"{name} needs any role" not in answer, (name, who, answer)
                assert not refused, (name, who, answer)
            else:
                assert answer.startswith((f"refused: {name} needs role ", f"refused: {name} needs any role;")), \
                    (name, who, answer)
                [entry] = refused
                assert (entry["actor"], entry["ledger"], entry["data"]["subject_kind"], entry["data"]["subject"]) == (
                    SLACK_IDS[who], command.ledger, kind, subject), (name, who)
