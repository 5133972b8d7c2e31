"""`/ops baseline …` and the proposal's Approve button through signed requests to the HTTP endpoint.

The real Bolt app on its aiohttp server, the real outbox delivery worker and the Slack stand-in:
what the user sees is what the stand-in recorded (response_url posts, chat calls), and every
allowed change and every refusal is checked in the ledgers. Time is not frozen here (Slack's
signature check compares with the wall clock), so runs are recorded relative to now.
"""
from __future__ import annotations

import json
import time
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chatops.config import LoadedConfig, parse_settings
from chatops.registry import Registry
from chatops.slack.interface import SlackInterface
from chatops.slack.mode import Mode
from chatops.slack.runtime import start_slack
from jobs import approvals
from jobs.approvals import Status
from jobs.compose import build_context
from jobs.context import Context
from jobs.credits.baselines import flows as baselines, proposals as baseline_proposals
from store import baselines as store
from store.outbox import Outbox
from tests.baselines.conftest import daily_runs, ledger_entries, record_run
from tests.conftest import PEOPLE_TOML
from tests.slack.conftest import poll
from tests.slack.test_http_mode import ENV, post, sign, slash_body
from tests.standins.slack import BOT_TOKEN, SlackStandIn

ANA, BEN, CLEO, DEV, STRANGER = "U0ANA00001", "U0BEN00002", "U0CLEO0003", "U0DEV00004", "U0STRANGER"
SCENARIO = "SCN"


@pytest.fixture
def standin():
    server = SlackStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def loaded(tmp_path: Path, standin: SlackStandIn) -> LoadedConfig:
    raw = tomllib.loads(PEOPLE_TOML)
    raw["slack"] = {"api_url": standin.api_url}
    return LoadedConfig(settings=parse_settings(raw), path=tmp_path / "config.toml", data_dir=tmp_path / "var")


@pytest.fixture
def ctx(loaded: LoadedConfig, monkeypatch) -> Context:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    context = build_context(loaded.settings, loaded.data_dir)
    # 35 daily runs of 200/201/202: the last 30 days hold ten of each (median 201.00, CV 0.00)
    daily_runs(context, SCENARIO, [200.0 + (i % 3) for i in range(35)], end=datetime.now(timezone.utc))
    return context


@pytest.fixture
def port(ctx: Context, loaded: LoadedConfig):
    iface = SlackInterface(ctx=ctx, registry=Registry.load(), config=lambda: loaded)
    runtime = start_slack(iface, Mode.HTTP, ENV, http_port=0)
    yield runtime.connection.port
    runtime.stop()


def signed_post(port: int, body: bytes, content_type: str = "application/x-www-form-urlencoded") -> int:
    now = int(time.time())
    status, _, _ = post(port, body, {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(now),
                                     "X-Slack-Signature": sign(body, now)})
    return status


def ops(standin: SlackStandIn, port: int, user: str, text: str) -> str:
    """`/ops <text>` as `user`, signed; returns what the user sees (the response_url post)."""
    body, n = slash_body(standin, user, text)
    assert signed_post(port, body) == 200
    return standin.wait_for(lambda s: [r for r in s.responses if r["n"] == n])[0]["text"]


def operations_entries(ctx: Context) -> list[dict[str, Any]]:
    path = ctx.data_dir / "operations" / "ledger.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [e for e in map(json.loads, lines) if e["kind"] != "ledger.created"]


def credit_entries(ctx: Context) -> list[dict[str, Any]]:
    path = ctx.data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
    return [e for e in map(json.loads, path.read_text().splitlines())
            if e["kind"] not in ("ledger.created", "run.recorded")]


# ---- role checks: every baseline command for O1, O2, O3 and an unknown Slack user ---------------------

#: person → Slack id, and which of the commands the permission table lets them run
ROLES = {
    "cleo (O1)": (CLEO, {"show"}),
    "ben (O2)": (BEN, {"show", "calculate"}),
    "ana (O3)": (ANA, {"show", "calculate", "update", "set"}),
    "unknown Slack user": (STRANGER, set()),
}
COMMANDS = {
    "show": "baseline show",
    "calculate": f"baseline calculate --scenario {SCENARIO}",
    "update": f"baseline update --scenario {SCENARIO} --approve --reason 'stable for a month'",
    "set": f"baseline set --scenario {SCENARIO} --credits 250 --reason 'new prompt, too few runs yet'",
}
HAVE = {CLEO: "O1", BEN: "O2, chief.staff", ANA: "O3, coo", STRANGER: "no role"}
NEEDS = {"show": ("O1", "baseline.read"), "calculate": ("O2", "baseline.calculate"),
         "update": ("O3", "baseline.change"), "set": ("O3", "baseline.change")}


@pytest.mark.parametrize("who", list(ROLES))
def test_baseline_commands_through_signed_http_are_allowed_or_refused_by_the_table_with_ledger_entries(
        ctx, standin, port, who):
    slack_id, may = ROLES[who]
    baselines.set_baseline(ctx, ctx.people.by_name("ana"), SCENARIO, 190, "first guess")
    proposal = baseline_proposals.propose(ctx, ctx.people.by_name("ben"), SCENARIO, "stable for a month")
    for name in ("show", "calculate", "update", "set"):
        operations_before, credit_before = len(operations_entries(ctx)), len(credit_entries(ctx))
        seen = ops(standin, port, slack_id, COMMANDS[name])
        new_operations = operations_entries(ctx)[operations_before:]
        new_credit = credit_entries(ctx)[credit_before:]
        command = f"baseline {name}"
        if name not in may:
            role, permission = NEEDS[name]
            assert seen == f"refused: {command} needs role {role}; you have {HAVE[slack_id]}", (who, seen)
            assert [(e["kind"], e["actor"], e["data"]["command"], e["data"]["permission"])
                    for e in new_credit] == [("command.refused", slack_id, command, permission)]
            assert new_operations == []    # refusals of credit commands sit beside the runs they concern
            continue
        assert not seen.startswith("refused"), (who, name, seen)
        if name == "show":           # reading changes nothing and records nothing
            assert seen.splitlines()[0].startswith(f"{SCENARIO} ") and "MANUAL" in seen
            assert (new_operations, new_credit) == ([], [])
        elif name == "calculate":
            assert seen.splitlines()[0] == f"Calculated baseline for {SCENARIO}: 201.00 (from 30 healthy runs)"
            assert "Change from current baseline: +5.8%" in seen and "Nothing was changed" in seen
            assert (new_operations, new_credit) == ([], [])
        elif name == "update":       # ana approves ben's pending proposal
            assert seen.splitlines()[0].startswith(
                f"Baseline for {SCENARIO} updated: 190.00 → 201.00 credits (version 2, approval O3-ana-")
            assert "proposed by ben, approved by ana" in seen
            [decided, updated] = new_credit      # one commit: the decision with the change it allows
            assert (decided["kind"], decided["data"]["request"]) == ("approval.decided", proposal.request.id)
            assert decided["data"]["approval_id"] == updated["data"]["approval_id"]
            assert (updated["kind"], updated["actor"], updated["role"]) == ("baseline.updated", ANA, "O3")
            assert (updated["data"]["proposer"], updated["data"]["approver"]) == ("ben", "ana")
            assert new_operations == []
            assert approvals.get(ctx, proposal.request.id).status is Status.APPROVED
        else:
            assert seen.startswith(f"Manual baseline for {SCENARIO}: 250.00 credits (version 3, O3-ana-")
            [entry] = new_credit
            assert new_operations == []
            assert (entry["kind"], entry["actor"], entry["role"]) == ("baseline.set", ANA, "O3")
            assert entry["data"]["median_credits"] == 250.0
    current = store.current(ctx.state, SCENARIO)
    assert current.median_credits == (250.0 if "set" in may else 190.0)


# ---- the proposal's Approve button -------------------------------------------------------------------


def approve_button(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    [button] = [e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["text"]["text"] == "Approve"]
    return button


def click(standin: SlackStandIn, port: int, user: str, channel: str, parent: str,
          button: dict[str, Any]) -> str:
    """A signed `block_actions` payload for `button` of the message (channel, parent); returns its response n."""
    url = standin.response_url()
    payload = {
        "type": "block_actions", "team": {"id": "T0STANDIN"}, "api_app_id": "A0STANDIN", "user": {"id": user},
        "channel": {"id": channel}, "container": {"type": "message", "message_ts": parent, "channel_id": channel},
        "message": {"ts": parent, "text": "Baseline proposal"}, "trigger_id": "13345224609.738474920.8088930838",
        "response_url": url,
        "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "ops_actions",
                     "value": button["value"], "action_ts": f"{time.time():.6f}"}]}
    assert signed_post(port, urlencode({"payload": json.dumps(payload)}).encode()) == 200
    return url.rsplit("/", 1)[1]


def ephemeral(standin: SlackStandIn, n: str) -> str:
    return standin.wait_for(lambda s: [r for r in s.responses if r["n"] == n])[0]["text"]


def thread_answers(standin: SlackStandIn, parent: str) -> list[str]:
    return [c.params["text"] for c in standin.calls_to("chat.postMessage")
            if c.params.get("thread_ts") == parent and c.params["text"].startswith("<@")]


def wait_thread_answer(standin: SlackStandIn, parent: str, count: int) -> str:
    return standin.wait_for(lambda s: len(thread_answers(s, parent)) >= count and thread_answers(s, parent))[count - 1]


def posted_proposal(ctx: Context, standin: SlackStandIn) -> tuple[str, str, dict[str, Any]]:
    """The proposal as the worker posted it: (channel id, parent ts, its Approve button)."""
    post_call = standin.wait_for(lambda s: [c for c in s.calls_to("chat.postMessage")
                                            if c.params["text"].startswith("Baseline proposal")])[0]
    assert post_call.params["channel"] == "#ops-review"
    sent = poll(lambda: [m for m in Outbox(ctx.data_dir).messages()
                         if m.final and m.item["notice"]["kind"] == "baseline.proposal"], what="proposal sent")[0]
    return sent.final["channel"], sent.final["ts"], approve_button(post_call.params["blocks"])


def test_approve_button_refuses_the_proposer_and_an_o2_and_applies_for_another_o3(ctx, standin, port):
    answer = ops(standin, port, ANA, f"baseline propose --scenario {SCENARIO} --reason 'stable; no incidents'")
    request_id = answer.split()[1].rstrip(":")
    assert answer.startswith(f"Proposed {request_id}: {SCENARIO} → 201.00 credits, posted to #ops-review")
    channel, parent, button = posted_proposal(ctx, standin)
    assert button["action_id"].startswith("ops_action_") and button.get("style") == "primary"
    assert json.loads(button["value"]) == {"command": "baseline approve", "target": request_id, "needs": ""}

    n = click(standin, port, ANA, channel, parent, button)
    refusal = f"refused: you requested this approval of BASELINE-{SCENARIO}; another person must approve it"
    assert ephemeral(standin, n) == refusal
    assert wait_thread_answer(standin, parent, 1) == f"<@{ANA}> {refusal}"
    [refused] = ledger_entries(ctx, "command.refused")
    assert (refused["actor"], refused["data"]["subject_kind"], refused["data"]["subject"],
            refused["data"]["command"]) == (ANA, "approval", request_id, f"APPROVED on BASELINE-{SCENARIO}")

    n = click(standin, port, BEN, channel, parent, button)
    assert ephemeral(standin, n) == "refused: baseline approve needs role O3; you have O2, chief.staff"
    assert [(e["kind"], e["actor"], e["data"]["command"], e["data"]["subject"]) for e in credit_entries(ctx)
            if e["kind"] == "command.refused"][1:] == [("command.refused", BEN, "baseline approve", request_id)]
    assert store.current(ctx.state, SCENARIO) is None
    assert approvals.get(ctx, request_id).status is Status.PENDING

    click(standin, port, DEV, channel, parent, button)
    applied = wait_thread_answer(standin, parent, 3)
    assert applied.startswith(f"<@{DEV}> recorded: Baseline for {SCENARIO} updated: none → 201.00 credits "
                              "(version 1, approval O3-dev-")
    assert "proposed by ana, approved by dev)" in applied
    current = store.current(ctx.state, SCENARIO)
    assert (current.median_credits, current.proposer, current.approver, current.self_approved) == (
        201.0, "ana", "dev", False)
    exported = json.loads((ctx.data_dir / "config" / "credit-baselines.json").read_text())
    assert [(b["scenario_id"], b["median_credits"], b["approval_id"]) for b in exported["baselines"]] == [
        (SCENARIO, 201.0, current.approval_id)]
    note = next((ctx.data_dir / "runs" / "BASELINE_UPDATES").glob("update_*.md")).read_text()
    assert "**Operator:** O3 dev" in note and f"**Approval:** {current.approval_id}" in note
    assert "- stable\n- no incidents" in note and "Self-approved" not in note
    [updated] = ledger_entries(ctx, "baseline.updated")
    assert (updated["actor"], updated["role"], updated["data"]["approval_id"]) == (DEV, "O3", current.approval_id)
    assert approvals.get(ctx, request_id).status is Status.APPROVED


def test_click_after_a_newer_run_changed_the_result_is_refused_and_the_new_proposal_shown(
        ctx, standin, port):
    answer = ops(standin, port, BEN, f"baseline propose --scenario {SCENARIO} --reason 'stable'")
    first_id = answer.split()[1].rstrip(":")
    channel, parent, button = posted_proposal(ctx, standin)
    record_run(ctx, "late", SCENARIO, 260.0, datetime.now(timezone.utc) - timedelta(minutes=5))

    n = click(standin, port, ANA, channel, parent, button)
    seen = ephemeral(standin, n)
    renewed = baseline_proposals.pending(ctx, SCENARIO)
    assert renewed is not None and renewed.id != first_id and renewed.requested_by == "ben"
    assert seen.startswith(f"refused: the runs of {SCENARIO} changed since {first_id} was proposed "
                           "(201.00 from 30 runs; now 201.00 from 31 runs)")
    assert f"the new proposal is {renewed.id}:" in seen
    assert f"Calculated baseline for {SCENARIO}: 201.00 (from 31 healthy runs)" in seen
    assert store.current(ctx.state, SCENARIO) is None
    [refused] = ledger_entries(ctx, "command.refused")
    assert (refused["actor"], refused["data"]["subject"]) == (ANA, first_id)
    assert [e["data"]["replaces"] for e in ledger_entries(ctx, "baseline.proposed")] == [None, first_id]

    # the proposal message now carries the new proposal, and its button approves exactly that one
    update = standin.wait_for(lambda s: s.calls_to("chat.update"))[0]
    assert update.params["ts"] == parent and update.params["text"].startswith(
        f"Baseline proposal {renewed.id} (replaces {first_id}: the runs changed) by ben")
    new_button = approve_button(update.params["blocks"])
    assert json.loads(new_button["value"])["target"] == renewed.id
    n = click(standin, port, ANA, channel, parent, button)       # the old button, from a stale client
    assert ephemeral(standin, n).startswith(f"refused: {first_id} was replaced by {renewed.id}")
    assert baseline_proposals.pending(ctx, SCENARIO).id == renewed.id

    click(standin, port, ANA, channel, parent, new_button)
    applied = standin.wait_for(lambda s: [a for a in thread_answers(s, parent) if "recorded:" in a])[0]
    assert "updated: none → 201.00 credits" in applied and "proposed by ben, approved by ana" in applied
    assert store.current(ctx.state, SCENARIO).sample_size == 31
