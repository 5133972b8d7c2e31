"""HTTP mode end to end: requests signed exactly as Slack signs them; forged, unsigned or stale ones rejected."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

from chatops.slack.mode import Mode
from chatops.slack.runtime import start_slack
from store.outbox import Outbox
from tests.slack.conftest import open_case, poll
from tests.standins.slack import BOT_TOKEN, SlackStandIn

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ENV = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET}


def sign(body: bytes, timestamp: int, secret: str = SECRET) -> str:
    """Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, float]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded", **headers})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read(), time.monotonic() - started
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), time.monotonic() - started


def slash_body(standin: SlackStandIn, user: str, text: str) -> tuple[bytes, str]:
    url = standin.response_url()
    body = urlencode({"token": "x", "team_id": "T0STANDIN", "api_app_id": "A0STANDIN", "channel_id": "C0OPS",
                      "user_id": user, "command": "/ops", "text": text, "response_url": url,
                      "trigger_id": "1.2.3"}).encode()
    return body, url.rsplit("/", 1)[1]


@pytest.fixture
def port(iface):
    runtime = start_slack(iface, Mode.HTTP, ENV, http_port=0)
    yield runtime.connection.port
    runtime.stop()


def test_signed_slash_command_is_acked_within_3_seconds_and_answered(standin, port):
    body, n = slash_body(standin, "U0ANA00001", "help")
    now = int(time.time())
    status, _, seconds = post(port, body, {"X-Slack-Request-Timestamp": str(now),
                                           "X-Slack-Signature": sign(body, now)})
    assert status == 200 and seconds < 3
    answer = standin.wait_for(lambda s: [r for r in s.responses if r["n"] == n])[0]
    assert "rerun approve" in answer["text"].split("needs another role:")[0]


@pytest.mark.parametrize("case", ["forged", "unsigned", "stale", "wrong secret"])
def test_forged_unsigned_or_stale_requests_are_rejected(standin, port, iface, case):
    body, n = slash_body(standin, "U0ANA00001", "case ack CASE-1")
    now = int(time.time())
    headers = {
        "forged": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=" + "0" * 64},
        "unsigned": {},
        "stale": {"X-Slack-Request-Timestamp": str(now - 301), "X-Slack-Signature": sign(body, now - 301)},
        "wrong secret": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": sign(body, now, "other")},
    }[case]
    status, _, _ = post(port, body, headers)
    assert status == 401
    assert not (iface.ctx.data_dir / "runs" / "CREDIT_MONITORING" / "audit" / "ledger.jsonl").exists()   # nothing ran
    assert not standin.responses


def test_signed_thread_reply_event_is_routed_to_its_case(iface, standin, port):
    case = open_case(iface.ctx)
    sent = poll(lambda: [m for m in Outbox(iface.ctx.data_dir).messages()
                         if m.final and m.item["notice"]["subject"] == case], what="alert sent")[0]
    event = {"token": "x", "team_id": "T0STANDIN", "api_app_id": "A0STANDIN", "type": "event_callback",
             "event_id": "Ev1", "event_time": 1700000000,
             "event": {"type": "message", "channel": sent.final["channel"], "user": "U0BEN00002", "text": "ACK",
                       "ts": "1700000009.000001", "thread_ts": sent.final["ts"]}}
    body = json.dumps(event).encode()
    now = int(time.time())
    status, _, _ = post(port, body, {"Content-Type": "application/json", "X-Slack-Request-Timestamp": str(now),
                                     "X-Slack-Signature": sign(body, now)})
    assert status == 200
    reply = standin.wait_for(lambda s: [c for c in s.calls_to("chat.postMessage")
                                        if c.params.get("thread_ts") == sent.final["ts"]
                                        and c.params["text"].startswith("<@")])[0]
    assert reply.params["text"] == (f"<@U0BEN00002> recorded: ACK recorded: ben investigating {case} "
                                    "(Status: Investigating)")
