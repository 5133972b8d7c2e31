"""The weekly summary in `#ops-review` and its buttons and thread replies, through signed requests to the
HTTP-mode app, the real outbox delivery worker and the Slack stand-in (files.getUploadURLExternal, the
upload, files.completeUploadExternal). Time is not frozen (Slack's signature check uses the wall clock);
the week reviewed is the fixed 2026-W47 of conftest.py."""
from __future__ import annotations

import hashlib
import json
import time
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chatops.config import LoadedConfig, parse_settings
from chatops.registry import Registry
from chatops.slack.interface import SlackInterface
from chatops.slack.mode import Mode
from chatops.slack.runtime import start_slack
from jobs.compose import build_context
from jobs.context import Context
from jobs.credits.cases import service as cases
from store.outbox import Outbox
from tests.baselines.test_baseline_slack import click, ephemeral, ops, signed_post, thread_answers
from tests.conftest import PEOPLE_TOML
from tests.review.conftest import WEEK, build_week
from tests.slack.conftest import poll
from tests.slack.test_http_mode import ENV, post, sign
from tests.standins.slack import BOT_TOKEN, SlackStandIn

ANA, BEN, CLEO = "U0ANA00001", "U0BEN00002", "U0CLEO0003"


@pytest.fixture
def standin():
    server = SlackStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def loaded(tmp_path: Path, standin: SlackStandIn) -> LoadedConfig:
    # a week of runs is history enough for this test's proposals (the runbook's 30 days are tested elsewhere)
    raw = tomllib.loads('timezone = "America/Los_Angeles"\n' + PEOPLE_TOML + "[baselines]\nmin_days = 5\n")
    raw["slack"] = {"api_url": standin.api_url}
    return LoadedConfig(settings=parse_settings(raw), path=tmp_path / "config.toml", data_dir=tmp_path / "var")


@pytest.fixture
def ctx(loaded: LoadedConfig, monkeypatch) -> Context:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    context = build_context(loaded.settings, loaded.data_dir)
    build_week(context)
    return context


@pytest.fixture
def port(ctx: Context, loaded: LoadedConfig):
    iface = SlackInterface(ctx=ctx, registry=Registry.load(), config=lambda: loaded)
    runtime = start_slack(iface, Mode.HTTP, ENV, http_port=0)
    yield runtime.connection.port
    runtime.stop()


def summary(ctx: Context, standin: SlackStandIn) -> tuple[str, str, Any]:
    """The summary as the worker posted it: (channel id, parent ts, the chat.postMessage call)."""
    call = standin.wait_for(lambda s: [c for c in s.calls_to("chat.postMessage")
                                       if c.params["text"].startswith(f"Weekly credit review {WEEK}")])[0]
    sent = poll(lambda: [m for m in Outbox(ctx.data_dir).messages()
                         if m.final and m.item["notice"]["kind"] == "review.weekly"], what="summary sent")[0]
    return sent.final["channel"], sent.final["ts"], call


def buttons(call) -> list[dict[str, Any]]:
    return [e for b in call.params["blocks"] if b["type"] == "actions" for e in b["elements"]]


def button(call, label: str) -> dict[str, Any]:
    [found] = [b for b in buttons(call) if b["text"]["text"] == label]
    return found


def answer(standin: SlackStandIn, parent: str, containing: str) -> str:
    return standin.wait_for(lambda s: [a for a in thread_answers(s, parent) if containing in a])[0]


@pytest.fixture
def posted(ctx, standin, port):
    seen = ops(standin, port, BEN, f"report weekly --week {WEEK}")
    assert seen.startswith(f"Weekly credit review {WEEK} (2026-11-16 – 2026-11-22)")
    return summary(ctx, standin)


def test_the_summary_leads_with_the_numbers_then_violations_and_attaches_the_chart(ctx, standin, posted):
    channel, parent, call = posted
    assert call.params["channel"] == "#ops-review"
    text = call.params["text"].splitlines()
    assert text[1].startswith("89 runs (previous week 2), 23690.00 credits, 14 scenarios; SEV0 1 · SEV1 2 · SEV2 8")
    report = json.loads((ctx.data_dir / "runs/CREDIT_REVIEWS/weekly_2026-11-16.json").read_text())
    violations = report["policy_violations"]       # the frozen Monday's five, and CASE-1 stale after 24 November
    assert len(violations) >= 5 and text[2] == f"Policy violations: {len(violations)}"
    assert text[3] == f"  • [sev0_sev1_without_case] {violations[0]['detail']}"
    assert text.index(f"Policy violations: {len(violations)}") < text.index("SEV2 without a case: 8 (8 not yet decided)") < \
        text.index("Top scenarios by total:") < text.index("Baseline candidates: 3")
    labels = [b["text"]["text"] for b in buttons(call)]
    assert labels[:3] == ["Propose baseline: edge-variance-in", "Propose baseline: edge-runs-in",
                          "Propose baseline: edge-cv-in"]
    assert labels[3:5] == ["Open a case: lone-1", "Isolated: note it (lone-1)"] and len(labels) == 3 + 2 * 8
    png = (ctx.data_dir / "runs/CREDIT_REVIEWS/weekly_2026-11-16.png").read_bytes()
    upload = standin.wait_for(lambda s: s.calls_to("upload"))[0]
    assert upload.params["sha256"] == hashlib.sha256(png).hexdigest()
    complete = standin.wait_for(lambda s: s.calls_to("files.completeUploadExternal"))[0]
    assert (complete.params["channel_id"], complete.params["thread_ts"]) == (channel, parent)
    assert json.loads(complete.params["files"])[0]["title"] == f"Weekly credit review {WEEK}"
    assert [c.params["filename"] for c in standin.calls_to("files.getUploadURLExternal")] == ["weekly_2026-11-16.png"]


def test_open_a_case_button_opens_it_for_an_o2_and_refuses_an_o1(ctx, standin, port, posted):
    channel, parent, call = posted
    n = click(standin, port, CLEO, channel, parent, button(call, "Open a case: big-2"))
    assert ephemeral(standin, n) == "refused: report weekly open-case needs role O2; you have O1"
    click(standin, port, BEN, channel, parent, button(call, "Open a case: big-2"))
    assert answer(standin, parent, "recorded:") == (
        f"<@{BEN}> recorded: CASE-4 opened for SEV2 big-2 (big-spender); decision noted in "
        "runs/CREDIT_REVIEWS/weekly_2026-11-16.notes.md")
    assert cases.case_for_run(ctx.state.snapshot(), "big-2").case_id == "CASE-4"


def test_isolated_button_asks_for_the_note_and_records_the_decision_in_the_notes(ctx, standin, port, posted):
    channel, parent, call = posted
    isolated = button(call, "Isolated: note it (lone-1)")
    assert json.loads(isolated["value"]) == {"command": "report weekly isolated", "target": "lone-1", "needs": "note"}
    click(standin, port, BEN, channel, parent, isolated)
    view = standin.wait_for(lambda s: s.calls_to("views.open"))[0].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    payload = {"type": "view_submission", "team": {"id": "T0STANDIN"}, "api_app_id": "A0STANDIN",
               "user": {"id": BEN}, "view": {
                   "id": "V1", "type": "modal", "callback_id": view["callback_id"],
                   "private_metadata": view["private_metadata"],
                   "state": {"values": {"input": {"text": {"type": "plain_text_input", "value": "one-off import"}}}}}}
    assert signed_post(port, urlencode({"payload": json.dumps(payload)}).encode()) == 200
    assert answer(standin, parent, "recorded:") == (
        f"<@{BEN}> recorded: SEV2 lone-1 noted as isolated in runs/CREDIT_REVIEWS/weekly_2026-11-16.notes.md; "
        "no further action")
    notes = (ctx.data_dir / "runs/CREDIT_REVIEWS/weekly_2026-11-16.notes.md").read_text()
    assert "ben: SEV2 lone-1 (lone-scn): isolated: one-off import" in notes


def test_propose_button_starts_the_baseline_proposal_for_an_o3_only(ctx, standin, port, posted):
    channel, parent, call = posted
    propose = button(call, "Propose baseline: edge-runs-in")
    n = click(standin, port, BEN, channel, parent, propose)
    assert ephemeral(standin, n) == "refused: report weekly propose needs role O3; you have O2, chief.staff"
    click(standin, port, ANA, channel, parent, propose)
    said = answer(standin, parent, "recorded:")
    assert said.startswith(f"<@{ANA}> recorded: Proposed APR-") and "edge-runs-in → 100.00 credits" in said
    proposal = standin.wait_for(lambda s: [c for c in s.calls_to("chat.postMessage")
                                           if c.params["text"].startswith("Baseline proposal")])[0]
    assert proposal.params["channel"] == "#ops-review"
    assert ("Rationale: weekly review: baseline candidate (variance < 1.2x, >= 10 runs, no SEV0/SEV1, CV < 0.3)"
            in proposal.params["text"])


def test_a_note_replied_in_the_summary_thread_goes_to_the_weeks_notes(ctx, standin, port, posted):
    channel, parent, _ = posted
    event = {"token": "x", "team_id": "T0STANDIN", "api_app_id": "A0STANDIN", "type": "event_callback",
             "event_id": "Ev1", "event_time": 1700000000,
             "event": {"type": "message", "channel": channel, "user": BEN, "text": "note – big-spender drift: CASE-4",
                       "ts": "1700000099.000001", "thread_ts": parent}}
    body = json.dumps(event).encode()
    now = int(time.time())
    status, _, _ = post(port, body, {"Content-Type": "application/json", "X-Slack-Request-Timestamp": str(now),
                                     "X-Slack-Signature": sign(body, now)})
    assert status == 200
    assert answer(standin, parent, "recorded:") == (
        f"<@{BEN}> recorded: Noted in runs/CREDIT_REVIEWS/weekly_2026-11-16.notes.md")
    assert "ben: big-spender drift: CASE-4" in (ctx.data_dir / "runs/CREDIT_REVIEWS/weekly_2026-11-16.notes.md").read_text()
