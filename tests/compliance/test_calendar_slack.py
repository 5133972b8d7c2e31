"""`/ops calendar …` through signed Slack requests to the HTTP-mode app: security.ops adds, the CEO reads."""
from __future__ import annotations

import time
import tomllib
from pathlib import Path

import pytest

from chatops.config import LoadedConfig, parse_settings
from chatops.registry import Registry
from chatops.slack.interface import SlackInterface
from chatops.slack.mode import Mode
from chatops.slack.runtime import start_slack
from jobs.compliance.calendar import CALENDAR_FILE
from jobs.compose import build_context
from tests.slack.test_http_mode import ENV, post, sign, slash_body
from tests.standins.slack import BOT_TOKEN, SlackStandIn

LEE, DEV, BEN = "U0LEE00005", "U0DEV00004", "U0BEN00002"     # security.ops; ceo; chief.staff (tests/conftest.py)


@pytest.fixture
def slack(config_file: Path, monkeypatch):
    server = SlackStandIn().start()
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    raw = tomllib.loads(config_file.read_text())
    raw["slack"] = {"api_url": server.api_url}
    loaded = LoadedConfig(settings=parse_settings(raw), path=config_file, data_dir=config_file.parent / "var")
    iface = SlackInterface(ctx=build_context(loaded.settings, loaded.data_dir), registry=Registry.load(),
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


def test_security_ops_adds_from_slack_and_the_ceo_and_chief_of_staff_read_it(slack):
    server, port, data_dir = slack
    added = _ask(server, port, LEE, 'calendar add --item "DPA register review" --category privacy-review '
                                    '--due 2099-05-01 --owner legal.exec')
    assert added.startswith("CAL-1 added: DPA register review (privacy-review), due 2099-05-01, owner legal.exec")
    assert "| CAL-1 | DPA register review | privacy-review | 2099-05-01 | legal.exec | open |" in \
        (data_dir / CALENDAR_FILE).read_text()
    for reader in (DEV, BEN):
        listed = _ask(server, port, reader, "calendar list")
        assert "CAL-1" in listed and "DPA register review" in listed and "legal.exec" in listed
    refused = _ask(server, port, DEV, "calendar done CAL-1")
    assert refused.startswith("refused: calendar done needs role security.ops")
    assert "| open |" in (data_dir / CALENDAR_FILE).read_text()
