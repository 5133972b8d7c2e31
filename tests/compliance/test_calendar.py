"""The compliance calendar (seed 002 §7): a readable table kept by security.ops, parsed strictly, changes
signed into the operations ledger, and what falls due within 30 Pacific days handed to the summary."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from freezegun import freeze_time

from jobs.compliance.calendar import CALENDAR_FILE, add_item, items_due_within, mark_done
from jobs.compliance.calendar_table import PREAMBLE, CalendarDamaged, parse
from tests.conftest import REPO, run_cli

#: 22:30 on Saturday 5 December in Los Angeles, already Sunday 6 December in UTC.
LATE_PACIFIC_EVENING = datetime(2026, 12, 6, 6, 30, tzinfo=timezone.utc)
HEADER = "| ID | Item | Category | Due | Owner | Status | Notes |\n|---|---|---|---|---|---|---|\n"


def _ledger(data_dir: Path) -> list[dict]:
    path = data_dir / "operations" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@freeze_time(LATE_PACIFIC_EVENING)
def test_items_due_in_30_pacific_days_are_in_and_in_31_are_out(ctx):
    lee = ctx.people.by_name("lee")
    # Today is 2026-12-05 in Pacific time (the UTC date is already the 6th): day 30 is 2027-01-04.
    add_item(ctx, lee, "Day 30 rotation", "credential-rotation", "2027-01-04", "security.ops")
    add_item(ctx, lee, "Day 31 renewal", "soc2-renewal", "2027-01-05", "security.ops")
    add_item(ctx, lee, "Today review", "privacy-review", "2026-12-05", "legal.exec")
    closed = add_item(ctx, lee, "Done early", "sla-review", "2026-12-10", "ana")
    mark_done(ctx, lee, closed.item_id)

    due = items_due_within(ctx, days=30)

    assert [i.item for i in due] == ["Today review", "Day 30 rotation"]


def test_an_overdue_open_item_is_still_handed_to_the_summary(ctx):
    lee = ctx.people.by_name("lee")
    with freeze_time("2026-12-01T18:00:00Z"):
        add_item(ctx, lee, "CCPA annual review", "privacy-review", "2026-12-02", "legal.exec")
    with freeze_time("2026-12-20T18:00:00Z"):
        assert [i.item for i in items_due_within(ctx)] == ["CCPA annual review"]


def test_add_done_and_list_through_the_cli_write_the_table_and_sign_each_change(config_file):
    data_dir = config_file.parent / "var"
    added = run_cli("calendar", "add", "--item", "Stripe", "SOC", "2", "|", "renewal", "--category", "soc2-renewal",
                    "--due", "2099-03-01", "--owner", "security.ops", "--notes", "ask", "for", "bridge", "letter",
                    "--as", "lee", config=config_file)
    assert added.returncode == 0, added.stderr
    assert "CAL-1 added" in added.stdout
    done = run_cli("calendar", "done", "cal-1", "--next", "2100-03-01", "--as", "lee", config=config_file)
    assert done.returncode == 0, done.stderr
    assert "next occurrence CAL-2 due 2100-03-01" in done.stdout

    text = (data_dir / CALENDAR_FILE).read_text()
    assert text.startswith(PREAMBLE)
    assert "| CAL-1 | Stripe SOC 2 \\| renewal | soc2-renewal | 2099-03-01 | security.ops | done " in text
    assert "| CAL-2 | Stripe SOC 2 \\| renewal | soc2-renewal | 2100-03-01 | security.ops | open | ask for bridge letter |" \
        in text
    items = parse(text, "calendar").items
    assert [i.item for i in items] == ["Stripe SOC 2 | renewal"] * 2
    entries = [e for e in _ledger(data_dir) if e["kind"].startswith("calendar.")]
    assert [(e["kind"], e["data"]["item_id"], e["actor"], e["role"]) for e in entries] == [
        ("calendar.item.added", "CAL-1", "U0LEE00005", "security.ops"),
        ("calendar.item.done", "CAL-1", "U0LEE00005", "security.ops")]
    assert entries[1]["data"]["next_item_id"] == "CAL-2"

    listed = run_cli("calendar", "list", config=config_file)
    assert listed.returncode == 0 and "CAL-2" in listed.stdout and "CAL-1" not in listed.stdout
    assert "CAL-1" in run_cli("calendar", "list", "--all", config=config_file).stdout


def test_marking_an_unknown_or_done_item_says_which_and_changes_nothing(config_file):
    run_cli("calendar", "add", "--item", "DPA register review", "--category", "privacy-review", "--due", "2099-01-01",
            "--owner", "legal.exec", "--as", "lee", config=config_file)
    unknown = run_cli("calendar", "done", "CAL-11", "--as", "lee", config=config_file)
    assert unknown.returncode == 6 and "no calendar item CAL-11; closest: CAL-1" in unknown.stderr
    assert run_cli("calendar", "done", "CAL-1", "--as", "lee", config=config_file).returncode == 0
    before = (config_file.parent / "var" / CALENDAR_FILE).read_text()
    again = run_cli("calendar", "done", "CAL-1", "--as", "lee", config=config_file)
    assert again.returncode == 7 and "CAL-1 was already marked done on" in again.stderr
    assert (config_file.parent / "var" / CALENDAR_FILE).read_text() == before


@pytest.mark.parametrize(("args", "message"), [
    (["--category", "soc2", "--due", "2099-01-01", "--owner", "lee"], "--category 'soc2': expected one of"),
    (["--category", "sla-review", "--due", "2099-02-30", "--owner", "lee"], "due date '2099-02-30': expected YYYY-MM-DD"),
    (["--category", "sla-review", "--due", "2001-01-01", "--owner", "lee"], "is before today"),
    (["--category", "sla-review", "--due", "2099-01-01", "--owner", "bob"], "--owner 'bob': expected a role"),
])
def test_add_refuses_a_bad_value_naming_it_and_writes_nothing(config_file, args, message):
    done = run_cli("calendar", "add", "--item", "Contract review", *args, "--as", "lee", config=config_file)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not (config_file.parent / "var" / CALENDAR_FILE).exists()
    assert not [e for e in _ledger(config_file.parent / "var") if e["kind"].startswith("calendar.")]


def test_concurrent_adds_from_separate_processes_lose_no_row(config_file):
    env = {"PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-m", "chatops", "--config", str(config_file), "calendar", "add",
                               "--item", f"Rotation {n}", "--category", "credential-rotation", "--due", "2099-06-01",
                               "--owner", "security.ops", "--as", "lee"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for n in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0] * 4
    items = parse((config_file.parent / "var" / CALENDAR_FILE).read_text(), "calendar").items
    assert sorted(i.item_id for i in items) == ["CAL-1", "CAL-2", "CAL-3", "CAL-4"]
    assert sorted(i.item for i in items) == [f"Rotation {n}" for n in range(4)]


ROW = "| CAL-1 | GDPR annual review | privacy-review | 2027-01-15 | legal.exec | open | |"


@pytest.mark.parametrize(("table", "message"), [
    (HEADER + ROW.replace("2027-01-15", "2027-02-30"),
     "row 1 (line 3), column Due: '2027-02-30' is not a date; expected YYYY-MM-DD"),
    (HEADER + ROW + "\n" + ROW.replace("CAL-1", "CAL-2").replace("privacy-review", "gdpr"),
     "row 2 (line 4), column Category: 'gdpr' is not a category; expected one of privacy-review"),
    (HEADER + ROW.replace("| open |", "| closed |"),
     "row 1 (line 3), column Status: 'closed' is not a status; expected open, or done YYYY-MM-DD"),
    (HEADER + ROW.replace("| open |", "| done 2026-13-01 |"), "row 1 (line 3), column Status: 'done 2026-13-01'"),
    (HEADER + ROW.replace("CAL-1", "C1"), "row 1 (line 3), column ID: 'C1' is not an item id"),
    (HEADER + ROW.replace("legal.exec", "Legal Exec"), "row 1 (line 3), column Owner: 'Legal Exec'"),
    (HEADER + ROW.replace("GDPR annual review", ""), "row 1 (line 3), column Item: '' is empty"),
    (HEADER + ROW.replace("| GDPR annual review |", "| GDPR | annual review |"),
     "row 1 (line 3): 8 cells; expected 7"),
    (HEADER + ROW + "\n" + ROW, "row 2 (line 4), column ID: CAL-1 is also row 1"),
    (HEADER + ROW + "\nsee also the DPA register", "line 4: text after the table"),
    (HEADER.replace("Owner", "Who"), "line 1: the table header is"),
    (HEADER.splitlines()[0] + "\n" + ROW, "line 2: expected the separator line"),
    ("# Compliance calendar\n\nnothing here yet\n", "no table found"),
])
def test_a_damaged_row_is_named_by_row_line_and_column(table, message):
    with pytest.raises(CalendarDamaged) as raised:
        parse(table, "compliance-calendar.md")
    assert message in str(raised.value)


def test_the_cli_reports_a_damaged_calendar_in_one_line_and_changes_nothing(config_file):
    path = config_file.parent / "var" / CALENDAR_FILE
    path.parent.mkdir(parents=True)
    damaged = PREAMBLE + "\n" + HEADER + ROW.replace("2027-01-15", "15/01/2027") + "\n"
    path.write_text(damaged)
    listed = run_cli("calendar", "list", config=config_file)
    assert listed.returncode == 8
    assert listed.stderr.strip().splitlines()[-1].endswith(
        "compliance-calendar.md row 1 (line 14), column Due: '15/01/2027' is not a date; expected YYYY-MM-DD, e.g. 2027-01-15; fix the cell, "
        "then run `chatops calendar list`")
    assert "Traceback" not in listed.stderr
    added = run_cli("calendar", "add", "--item", "x", "--category", "sla-review", "--due", "2099-01-01", "--owner",
                    "lee", "--as", "lee", config=config_file)
    assert added.returncode == 8 and path.read_text() == damaged


def test_a_hand_written_preamble_and_table_are_kept_when_an_item_is_added(ctx):
    path = ctx.data_dir / CALENDAR_FILE
    path.parent.mkdir(parents=True)
    path.write_text("# Our calendar\n\nKept by Lee.\n\n" + HEADER.replace("|---|", "| :-- |", 1) + ROW + "\n")
    with freeze_time("2026-12-01T18:00:00Z"):
        add_item(ctx, ctx.people.by_name("lee"), "Vendor SLA review", "sla-review", "2027-02-01", "coo")
    text = path.read_text()
    assert text.startswith("# Our calendar\n\nKept by Lee.\n\n| ID |")
    assert [(i.item_id, i.due) for i in parse(text, "c").items] == [("CAL-1", date(2027, 1, 15)),
                                                                   ("CAL-2", date(2027, 2, 1))]


def test_calendar_list_loads_neither_the_holidays_library_nor_the_model_client(config_file):
    from tests.foundation.test_lazy_imports import modules_loaded, roots

    loaded = roots(modules_loaded(config_file, "calendar", "list"))
    assert "jobs.compliance.calendar" in loaded
    assert not loaded & {"holidays", "ollama", "httpx", "slack_bolt", "apscheduler", "hyperscan"}


def test_a_table_without_text_above_it_is_read_and_written_back_as_it_was():
    from jobs.compliance.calendar_table import render

    table = "| ID | Item | Category | Due | Owner | Status | Notes |\n| --- | --- | --- | --- | --- | --- | --- |\n" \
            + ROW.replace("| |", "| in \\| out |") + "\n"
    calendar = parse(table, "c")
    assert calendar.items[0].notes == "in | out"
    assert render(calendar) == table
