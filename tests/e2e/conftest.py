"""End to end across the Slack interface and credit monitoring: the real Bolt app, the real outbox
delivery worker, every registered command, and the Slack stand-in (tests/standins/slack.py).

The stand-in fixture and the request helpers come from tests/slack (Slack's v0 signing, Socket Mode
envelopes, thread answers); this file only adds a data directory with a real config.toml, so the CLI
as a subprocess and the in-process Slack runtime work on the same files.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from chatops.config import LoadedConfig, load_config
from chatops.registry import Registry
from chatops.slack.interface import SlackInterface
from chatops.slack.mode import Mode
from chatops.slack.runtime import SlackRuntime, start_slack
from jobs.compose import build_context
from jobs.context import Context
from store.outbox import Outbox
from tests.conftest import PEOPLE_TOML
from tests.slack.conftest import poll, standin  # noqa: F401  (the stand-in fixture, shared)
from tests.slack.test_http_mode import SECRET, post, sign
from tests.standins.slack import APP_TOKEN, BOT_TOKEN, SlackStandIn

ANA, BEN, CLEO, DEV = "U0ANA00001", "U0BEN00002", "U0CLEO0003", "U0DEV00004"   # O3, O2, O1, O3
HTTP_ENV = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET}
SOCKET_ENV = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}


@dataclass
class Deployment:
    """One data directory with its config file, context and (once started) Slack runtime."""

    config: Path
    loaded: LoadedConfig
    ctx: Context
    iface: SlackInterface
    runtime: SlackRuntime | None = None

    def start(self, mode: Mode) -> SlackRuntime:
        """The daemon's Slack side in this process: the delivery worker, then the Bolt app."""
        if mode == Mode.HTTP:
            self.runtime = start_slack(self.iface, mode, HTTP_ENV, http_port=0)
        else:
            self.runtime = start_slack(self.iface, mode, SOCKET_ENV)
        return self.runtime

    @property
    def port(self) -> int:
        assert self.runtime is not None and self.runtime.connection.port
        return self.runtime.connection.port


def write_config(tmp_path: Path, api_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'timezone = "America/Los_Angeles"\ndata_dir = "var/"\n[slack]\napi_url = "{api_url}"\n'
                    + PEOPLE_TOML)
    return path


@pytest.fixture
def deployment(tmp_path: Path, standin: SlackStandIn, monkeypatch) -> Deployment:  # noqa: F811
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)   # Slack mode: the outbox queues as pending
    config = write_config(tmp_path, standin.api_url)
    loaded = load_config(config)
    ctx = build_context(loaded.settings, loaded.data_dir)
    found = Deployment(config, loaded, ctx, SlackInterface(ctx=ctx, registry=Registry.load(), config=lambda: loaded))
    yield found
    if found.runtime is not None:
        found.runtime.stop()


# ---- what Slack would send -----------------------------------------------------------------------


def signed_event(port: int, event: dict[str, Any]) -> int:
    """An Events API callback, signed with the signing secret exactly as Slack signs it."""
    body = json.dumps({"token": "x", "team_id": "T0STANDIN", "api_app_id": "A0STANDIN", "type": "event_callback",
                       "event_id": f"Ev{event.get('ts', time.monotonic_ns())}", "event_time": 1700000000,
                       "event": event}).encode()
    now = int(time.time())
    status, _, seconds = post(port, body, {"Content-Type": "application/json",
                                           "X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": sign(body, now)})
    assert seconds < 3, f"Slack would have shown a timeout: {seconds:.1f} s"
    return status


def signed_thread_reply(port: int, channel: str, parent: str, user: str, text: str, ts: str) -> int:
    return signed_event(port, {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
                               "thread_ts": parent, "channel_type": "channel"})


def signed_slash(port: int, server: SlackStandIn, user: str, text: str) -> str:
    """`/ops <text>` as `user`, signed; returns the answer posted to the response URL."""
    url = server.response_url()
    body = urlencode({"token": "x", "team_id": "T0STANDIN", "api_app_id": "A0STANDIN", "channel_id": "C0OPS",
                      "user_id": user, "command": "/ops", "text": text, "response_url": url,
                      "trigger_id": "1.2.3"}).encode()
    now = int(time.time())
    status, _, seconds = post(port, body, {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": sign(body, now)})
    assert status == 200 and seconds < 3
    n = url.rsplit("/", 1)[1]
    return server.wait_for(lambda s: [r for r in s.responses if r["n"] == n])[0]["text"]


# ---- what chatops wrote --------------------------------------------------------------------------


def credit_entries(ctx: Context) -> list[dict[str, Any]]:
    path = ctx.data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def operations_entries(ctx: Context) -> list[dict[str, Any]]:
    path = ctx.data_dir / "operations" / "ledger.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def delivered(ctx: Context, subject: str, to: str) -> dict[str, Any]:
    """The outbox's `sent` line of the first message about `subject` to `to` (its channel id and ts)."""
    def sent():
        return [m.final for m in Outbox(ctx.data_dir).messages()
                if m.final.get("op") == "sent" and m.item["to"] == to and m.item["notice"]["subject"] == subject]
    return poll(sent, what=f"message about {subject} to {to} sent")[0]


def thread_answers(server: SlackStandIn, parent: str) -> list[str]:
    return [c.params["text"] for c in server.calls_to("chat.postMessage") if c.params.get("thread_ts") == parent]


def next_answer(server: SlackStandIn, parent: str, seen: int) -> str:
    """The thread's answer to a person (`<@U…> recorded: …` / `refused: …`) after the `seen` earlier ones."""
    def answered():
        people = [t for t in thread_answers(server, parent) if t.startswith("<@")]
        return people[seen] if len(people) > seen else None
    return server.wait_for(lambda s: answered())
