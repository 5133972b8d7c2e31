"""A home of Claude Code transcripts whose export and sweep talk to the Slack stand-in over Socket Mode,
and the buttons of a message posted to the review channel; shared by the export's and the sweep's Slack
tests (import the fixture, and `standin` beside it, into the test module)."""
from __future__ import annotations

import json

import pytest

from chatops.config import load_config
from chatops.registry import Registry
from chatops.slack.interface import SlackInterface
from chatops.slack.mode import Mode
from chatops.slack.runtime import start_slack
from jobs.compose import build_context
from tests.e2e.conftest import SOCKET_ENV
from tests.export.conftest import write_config
from tests.standins.slack import BOT_TOKEN, SlackStandIn


@pytest.fixture
def slack_home(tmp_path, standin, monkeypatch):
    """(context, the home's projects folder) with the daemon's Slack side running against the stand-in."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    (tmp_path / "home" / ".claude" / "projects").mkdir(parents=True)
    config = write_config(tmp_path, extra=f'[slack]\napi_url = "{standin.api_url}"\n')
    loaded = load_config(config)
    ctx = build_context(loaded.settings, loaded.data_dir)
    iface = SlackInterface(ctx=ctx, registry=Registry.load(), config=lambda: loaded)
    runtime = start_slack(iface, Mode.SOCKET, SOCKET_ENV)
    yield ctx, tmp_path / "home" / ".claude" / "projects"
    runtime.stop()


def review_buttons(standin: SlackStandIn, text_in: str) -> dict[str, dict]:
    """The buttons (label → value) of the first `#ops-review` message whose text holds `text_in`."""
    message = next(c for c in standin.calls_to("chat.postMessage")
                   if c.params["channel"] == "#ops-review" and text_in in c.params["text"])
    return {e["text"]["text"]: json.loads(e["value"]) for b in message.params["blocks"] if b["type"] == "actions"
            for e in b["elements"]}
