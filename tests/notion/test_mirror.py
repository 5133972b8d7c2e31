"""The Notion mirror against the Notion stand-in, through the real notion-client: runs and cases are
created once, updated on change, locked at SEV0, never duplicated (a lost answer, a crash), never lost
(an outage), parked on a validation error, rate-limited; and a dry run without configuration."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import orjson
import pytest
from freezegun import freeze_time

from jobs.credits.cases import flows as case_flows
from jobs.credits.intake.recorder import Recorder
from jobs.credits.intake.schema import validate_run
from jobs.credits.records import RootCause
from jobs.delivery import DestinationName
from jobs.notion import flows
from jobs.notion.destination import TokenBucket
from jobs.notion.mapping import run_page
from jobs.notion.records import NotionEnv
from store.outbox import Outbox, QueuedState
from tests.conftest import REPO, run_cli
from tests.credits.conftest import START, entries, raw_run, set_baseline
from tests.notion.conftest import ENV
from tests.standins.notion import CASES_DB, RUNS_DB


def record(ctx, *runs):
    return Recorder(ctx).record([validate_run(r) for r in runs])


def notion_items(ctx):
    return [m for m in Outbox(ctx.data_dir).messages() if m.dest == DestinationName.NOTION]


def titles(notion, database):
    return sorted(notion.title_of(p) for p in notion.pages_in(database))


def prop(page, name):
    value = page["properties"][name]
    kind = next(iter(value))
    if kind in ("title", "rich_text"):
        return "".join(part["text"]["content"] for part in value[kind])
    if kind == "select":
        return value[kind]["name"] if value[kind] else None
    return value[kind]


def page(notion, database, title):
    [found] = [p for p in notion.pages_in(database) if notion.title_of(p) == title]
    return found


def test_a_recorded_run_and_its_case_get_one_page_each_and_case_changes_update_the_page(ctx, live, worker, notion):
    with freeze_time(START):
        set_baseline(ctx, "scn-invoice", 100.0)
        [outcome] = record(ctx, raw_run(run_id="run_s1", credits=700.0, Risk_Flags=["retry_loop"]))
        assert outcome.severity == "SEV1" and outcome.case_id == "CASE-1"
        assert [m.subject for m in notion_items(ctx)] == ["notion:run:run_s1", "notion:case:CASE-1"]
        assert worker.deliver_pending() == 2

    run = page(notion, RUNS_DB, "run_s1")
    assert (prop(run, "Severity"), prop(run, "Credits_Total"), prop(run, "Case_ID")) == ("SEV1", 700.0, "CASE-1")
    assert prop(run, "Risk_Flags") == [{"name": "retry_loop"}] and run["is_locked"] is False
    assert prop(page(notion, CASES_DB, "CASE-1"), "Status") == "Open"

    with freeze_time(START + timedelta(minutes=5)):
        case_flows.ack(ctx, ctx.people.by_name("ben"), "CASE-1")
        case_flows.root_cause(ctx, ctx.people.by_name("ana"), "CASE-1", RootCause.MISCONFIG)
        case_flows.note(ctx, ctx.people.by_name("ben"), "CASE-1", "retry loop in the invoice sync",
                        slack_thread_url="https://example.slack.com/archives/C1/p1")
        case_flows.resolve(ctx, ctx.people.by_name("ana"), "CASE-1", "max_items set to 1000")
        worker.deliver_pending()

    case = page(notion, CASES_DB, "CASE-1")
    assert prop(case, "Status") == "Resolved" and prop(case, "Root_Cause") == "Misconfig"
    assert prop(case, "Slack_Thread_URL") == "https://example.slack.com/archives/C1/p1"
    assert prop(case, "Related_Run_IDs") == "run_s1"
    assert prop(case, "Resolved_At") == {"start": (START + timedelta(minutes=5)).isoformat()}
    assert "retry loop in the invoice sync" in prop(case, "Notes")
    assert titles(notion, CASES_DB) == ["CASE-1"] and titles(notion, RUNS_DB) == ["run_s1"]
    assert len(notion.served("POST", "pages")) == 2           # created once each, every later change an update
    assert not [m for m in notion_items(ctx) if m.pending]


def test_a_sev0_page_is_locked_and_the_case_thread_says_so_only_after_it_happened(ctx, live, worker, notion):
    with freeze_time(START):
        set_baseline(ctx, "scn-invoice", 100.0)
        record(ctx, raw_run(run_id="run_pii", credits=1500.0, Risk_Flags=["pii_exposure"]))
        [alert] = [m.item["notice"] for m in Outbox(ctx.data_dir).messages() if m.dest == DestinationName.SLACK
                   and m.item["notice"]["kind"] == "credits.alert"]
        assert not any("Notion" in done for done in alert["fields"]["done"])
        assert any("watch for the Notion lock" in line for line in alert["fields"]["required"])
        assert "notion.locked" not in [e["kind"] for e in entries(ctx)]
        worker.deliver_pending()

    assert page(notion, RUNS_DB, "run_pii")["is_locked"] is True
    assert [e["data"]["is_locked"] for e in entries(ctx) if e["kind"] == "notion.locked"] == [True]
    said = [m.item["notice"]["text"] for m in Outbox(ctx.data_dir).messages() if m.dest == DestinationName.SLACK]
    assert said[-1].startswith("Done automatically: the Notion RUNS_LEDGER page of run_pii is locked")


def test_a_lost_create_answer_finds_the_page_instead_of_making_a_second(ctx, live, worker, notion, fake):
    notion.lose_next_create()
    fake.stop_waiting = False           # the worker retries after its backoff, on the fake clock
    with freeze_time(START):
        record(ctx, raw_run(run_id="run_lost", scenario="scn-new"))
        worker.deliver_pending()
    assert titles(notion, RUNS_DB) == ["run_lost"]
    assert len(notion.served("POST", "pages")) == 1 and fake.waited       # the lost answer was waited out
    assert notion.served("POST", "data_sources")                            # ... then found by Run_ID
    assert not [m for m in notion_items(ctx) if m.pending]


def test_a_crash_between_notions_answer_and_the_stored_page_id_never_duplicates_the_page(
        ctx, live, worker, notion, config_file):
    with freeze_time(START):
        record(ctx, raw_run(run_id="run_crash", scenario="scn-new"))
    notion.hold_next_create()
    env = {**os.environ, **ENV, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-m", "chatops", "--config", str(config_file), "notion", "sync",
                              "--as", "ben"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not notion.served("POST", "pages") and time.monotonic() < deadline:
            assert child.poll() is None, child.communicate()
            time.sleep(0.05)   # waiting for another process, not moving time
        assert notion.served("POST", "pages"), "the sync never created the page"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert titles(notion, RUNS_DB) == ["run_crash"]                      # Notion has it; chatops never heard

    assert worker.deliver_pending() == 1
    assert titles(notion, RUNS_DB) == ["run_crash"]
    assert len(notion.served("POST", "pages")) == 1


def test_a_long_outage_then_recovery_loses_nothing_and_duplicates_nothing(ctx, live, worker, notion, fake):
    with freeze_time(START):
        set_baseline(ctx, "scn-invoice", 100.0)
        notion.go_down()
        record(ctx, *[raw_run(run_id=f"run_{n}", credits=100.0 + n) for n in range(5)],
               raw_run(run_id="run_spike", credits=900.0))
        for _ in range(4):                                   # hours of failing passes, each ending in a wait
            worker.deliver_pending()
    with freeze_time(START + timedelta(hours=3)):
        case_flows.ack(ctx, ctx.people.by_name("ben"), "CASE-1")
        worker.deliver_pending()
        report = flows.status(ctx)
        assert report.queue.pending == 8 and "Notion unreachable" in report.queue.last_error
        assert flows.sync_lag(ctx) == timedelta(hours=3)
        assert flows.lag_report(ctx).startswith("Notion mirror is 180 min behind (over 30 min): 8 change(s) pending")
        assert min(fake.waited) > 0                          # every retry waited its backoff

        notion.come_up()
        notion.rate_limit(1, retry_after=7)
        notion.fail(1, status=503)
        fake.stop_waiting = False
        worker.deliver_pending()

    assert titles(notion, RUNS_DB) == sorted([f"run_{n}" for n in range(5)] + ["run_spike"])
    assert titles(notion, CASES_DB) == ["CASE-1"]
    assert prop(page(notion, CASES_DB, "CASE-1"), "Status") == "Investigating"
    assert any(w == pytest.approx(7.0) for w in fake.waited)   # Retry-After honoured exactly
    assert flows.sync_lag(ctx) is None and not flows.status(ctx).queue.failing_since
    assert flows.lag_report(ctx) is None


def test_a_validation_error_is_parked_with_notions_message_and_shown(ctx, live, worker, notion, config_file):
    notion.drop_property(RUNS_DB, "Credits_Total")
    with freeze_time(START):
        record(ctx, raw_run(run_id="run_bad", scenario="scn-new"))
        worker.deliver_pending()
    [parked] = [m for m in notion_items(ctx) if m.parked]
    assert parked.final["error"] == ("RUNS_LEDGER page of run_bad refused: Notion 400 validation_error: "
                                     "Credits_Total is not a property that exists.")
    shown = run_cli("notion", "status", config=config_file, env=ENV)
    assert shown.returncode == 0 and "Credits_Total is not a property that exists." in shown.stdout
    status = json.loads(run_cli("notion", "status", "--json", config=config_file, env=ENV).stdout)
    assert status["parked"][0]["subject"] == "notion:run:run_bad" and status["pending"] == 0


def test_check_names_each_missing_or_mistyped_property_with_its_fix(config_file, notion):
    notion.drop_property(RUNS_DB, "Credits_Total")
    notion.retype_property(CASES_DB, "Status", "rich_text")
    done = run_cli("notion", "check", config=config_file, env=ENV)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ok   token: valid" in done.stdout
    assert (f"FAIL RUNS_LEDGER (NOTION_RUNS_LEDGER_DB_ID={RUNS_DB}): property Credits_Total is missing; add it "
            "as a Number property") in done.stdout
    assert (f"FAIL CASES (NOTION_CASES_DB_ID={CASES_DB}): property Status is Text, expected Select; change its "
            "type to Select") in done.stdout

    refused = run_cli("notion", "check", config=config_file, env={**ENV, "NOTION_TOKEN": "secret_wrong"})
    assert refused.returncode == 1 and "FAIL token: refused by Notion (401 unauthorized" in refused.stdout


def test_check_passes_on_databases_with_every_property(ctx, live, config_file, notion):
    done = run_cli("notion", "check", config=config_file, env=ENV)
    assert done.returncode == 0, done.stdout
    health = flows.check_notion(ctx)
    assert health.ok and len(health.lines) == 3


def test_without_configuration_each_run_file_carries_would_write_to_notion_with_the_exact_payload(ctx, notion):
    assert not flows.status(ctx).live
    with freeze_time(START):
        set_baseline(ctx, "scn-invoice", 100.0)
        record(ctx, raw_run(run_id="run_dry", credits=120.0), raw_run(run_id="run_dry_pii", credits=2000.0,
                                                                      Risk_Flags=["pii_exposure"]))
    grep = subprocess.run('grep "Would write to Notion" runs/CREDIT_MONITORING/*/run_*.json runs/QUARANTINE/*/run_*.json',
                          shell=True, cwd=ctx.data_dir, capture_output=True, text=True)
    lines = grep.stdout.splitlines()
    assert len(lines) == 2, grep
    for line in lines:
        path, _, rest = line.partition(":")
        fields = orjson.loads((ctx.data_dir / path).read_bytes())
        payload = json.loads(rest.strip().removeprefix('"Notion_Sync": ').rstrip(","))
        assert payload == "Would write to Notion: " + json.dumps(
            run_page(fields, quarantined=fields["Severity"] == "SEV0").to_json(), sort_keys=True, ensure_ascii=False)
    pii = orjson.loads((ctx.data_dir / "runs/QUARANTINE/run_dry_pii/run_dry_pii.json").read_bytes())
    assert '"is_locked": true' in pii["Notion_Sync"] and '"database": "RUNS_LEDGER"' in pii["Notion_Sync"]
    assert not notion_items(ctx) and not notion.requests
    assert flows.sync_lag(ctx) is None


def test_the_worker_keeps_to_three_requests_a_second(ctx, live, worker, notion, fake):
    with freeze_time(START):
        record(ctx, *[raw_run(run_id=f"run_r{n}", scenario="scn-new") for n in range(6)])
        start = fake.now
        worker.deliver_pending()
    made = len(notion.requests)
    assert made >= 12                                       # a lookup and a create per run, the database once
    assert fake.now - start == pytest.approx((made - 3) / 3.0)   # a burst of 3, then one every 1/3 s
    bucket = TokenBucket(3.0, 3.0, fake.clock, fake.sleep)
    assert [round(bucket.take(), 3) for _ in range(5)] == [0.0, 0.0, 0.0, 0.333, 0.333]


def test_only_runs_and_cases_are_mirrored_compliance_items_are_parked_unsent(ctx, live, worker, notion):
    Outbox(ctx.data_dir).queue_each([("notion:incident:INC-1", {"kind": "incident", "id": "INC-1"})],
                                    QueuedState.PENDING, START.isoformat(), DestinationName.NOTION)
    worker.deliver_pending()
    [parked] = [m for m in notion_items(ctx) if m.parked]
    assert "compliance incidents never leave this machine" in parked.final["error"]
    assert not notion.requests


def test_the_daemons_notion_service_runs_only_when_configured(ctx):
    from chatops.notion_service import services
    from chatops.services import Wiring

    assert services(Wiring(ctx, None, None, {}, None, None, None)) == []
    [worker] = services(Wiring(ctx, None, None, ENV, None, None, None))
    assert worker.name == "notion-delivery" and flows.status(ctx).live
    assert NotionEnv.read(ENV).configured


def test_a_request_that_times_out_backs_the_mirror_off_then_goes_through(ctx, live, worker, notion, fake):
    notion.slow(1, 1.5)                       # longer than [notion] timeout_seconds = 1.0; a read (the database)
    fake.stop_waiting = False
    with freeze_time(START):
        record(ctx, raw_run(run_id="run_slow", scenario="scn-new"))
        worker.deliver_pending()
    assert fake.waited and titles(notion, RUNS_DB) == ["run_slow"]
    health = Outbox(ctx.data_dir).health()["notion"]
    assert "RequestTimeoutError" in health["last_error"] and health["recovered_at"]
