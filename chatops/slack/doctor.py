"""The doctor's Slack checks: the tokens work, the bot has the scopes the code needs, the channels exist
and the bot is in them, and this machine's clock agrees with Slack's.

One `auth.test` answers three checks (token, scopes from its `x-oauth-scopes` header, clock from its
`Date` header), shared through `Probe.memo`. Without `SLACK_BOT_TOKEN` the daemon runs in local mode:
the token check says so (WARN) and the others say they were not checked.
"""
from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from slack_sdk.errors import SlackApiError

from chatops.notify import web_client
from jobs.doctor import Probe, Result, Status

#: The bot scopes the code uses, declared once; `slack-manifest.yml` must list exactly these (a test
#: holds them together). channels:read and groups:read are the doctor's own: to find the channels.
SCOPES = frozenset({"chat:write", "chat:write.public", "commands", "im:write", "im:history", "channels:history",
                    "groups:history", "files:write", "channels:read", "groups:read"})

NOT_CHECKED = "not checked: no SLACK_BOT_TOKEN (local mode)"


@dataclass(frozen=True)
class Auth:
    """What `auth.test` answered: its data and headers, or the error in one line."""

    data: dict[str, Any]
    headers: dict[str, str]
    error: str = ""


def _auth(probe: Probe) -> Auth | None:
    token = probe.environ.get("SLACK_BOT_TOKEN", "")
    if not token:
        return None

    def call() -> Auth:
        try:
            answer = web_client(probe.ctx, token).auth_test()
        except SlackApiError as exc:
            response = exc.response
            error = (response.get("error") if response is not None else "") or str(exc).splitlines()[0]
            return Auth({}, {}, error)
        except (OSError, TimeoutError, ValueError) as exc:
            return Auth({}, {}, f"Slack unreachable at {probe.ctx.settings.slack.api_url} ({type(exc).__name__}: "
                                f"{getattr(exc, 'reason', exc)})")
        return Auth(dict(answer.data), {k.lower(): v for k, v in answer.headers.items()})

    return probe.memo("slack.auth", call)


def bot_token(probe: Probe) -> Result:
    auth = _auth(probe)
    if auth is None:
        return Result("slack token", Status.WARN, "no SLACK_BOT_TOKEN: local mode, alerts stay in the outbox "
                      "(and go to the SEV webhooks if set)", "set SLACK_BOT_TOKEN in the service's env file to "
                      "post to Slack")
    if auth.error:
        fix = ("reinstall the app to the workspace and put its Bot User OAuth Token in SLACK_BOT_TOKEN"
               if "unreachable" not in auth.error else "check the network and [slack] api_url")
        return Result("slack token", Status.FAIL, f"auth.test: {auth.error}", fix)
    return Result("slack token", Status.OK, f"auth.test: bot {auth.data.get('user_id')} in {auth.data.get('team')}")


def app_token(probe: Probe) -> Result:
    """Socket Mode needs SLACK_APP_TOKEN (`apps.connections.open` is asked for a URL, nothing connects);
    HTTP mode needs SLACK_SIGNING_SECRET."""
    if not probe.environ.get("SLACK_BOT_TOKEN"):
        return Result("slack connection", Status.OK, NOT_CHECKED)
    app = probe.environ.get("SLACK_APP_TOKEN", "")
    if app:
        try:
            web_client(probe.ctx, app).apps_connections_open(app_token=app)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else str(exc)
            return Result("slack connection", Status.FAIL, f"apps.connections.open: {error}",
                          "generate an app-level token with connections:write and set SLACK_APP_TOKEN")
        except (OSError, TimeoutError, ValueError) as exc:
            return Result("slack connection", Status.FAIL, f"Slack unreachable ({type(exc).__name__})",
                          "check the network and [slack] api_url")
        return Result("slack connection", Status.OK, "Socket Mode: SLACK_APP_TOKEN opens a connection")
    if probe.environ.get("SLACK_SIGNING_SECRET"):
        return Result("slack connection", Status.OK, "HTTP mode: SLACK_SIGNING_SECRET set (chatops daemon --http PORT)")
    return Result("slack connection", Status.FAIL, "SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN "
                  "(Socket Mode) nor SLACK_SIGNING_SECRET (HTTP mode) is", "set one of them in the service's env file")


def scopes(probe: Probe) -> Result:
    auth = _auth(probe)
    if auth is None or auth.error:
        return Result("slack scopes", Status.OK if auth is None else Status.FAIL,
                      NOT_CHECKED if auth is None else "not checked: the token does not work",
                      "" if auth is None else "fix the token first")
    granted = {s.strip() for s in auth.headers.get("x-oauth-scopes", "").split(",") if s.strip()}
    missing = sorted(SCOPES - granted)
    if missing:
        return Result("slack scopes", Status.FAIL, f"the bot lacks {', '.join(missing)}",
                      "add them under OAuth & Permissions (slack-manifest.yml lists every scope) and reinstall the app")
    return Result("slack scopes", Status.OK, f"all {len(SCOPES)} scopes the code needs are granted")


def channels(probe: Probe) -> Result:
    """Every configured channel exists and the bot is a member (else it hears no thread reply there)."""
    auth = _auth(probe)
    if auth is None or auth.error:
        return Result("slack channels", Status.OK if auth is None else Status.FAIL,
                      NOT_CHECKED if auth is None else "not checked: the token does not work",
                      "" if auth is None else "fix the token first")
    client = web_client(probe.ctx, probe.environ["SLACK_BOT_TOKEN"])
    found: dict[str, bool] = {}
    cursor = ""
    try:
        while True:
            page = client.conversations_list(types="public_channel,private_channel", exclude_archived=True,
                                             limit=1000, cursor=cursor or None)
            found.update({c["name"]: bool(c.get("is_member")) for c in page.get("channels", [])})
            cursor = (page.get("response_metadata") or {}).get("next_cursor", "")
            if not cursor:
                break
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else str(exc)
        return Result("slack channels", Status.FAIL, f"conversations.list: {error}",
                      "grant channels:read and groups:read (slack-manifest.yml) and reinstall the app")
    wanted = dict.fromkeys(vars(probe.ctx.settings.slack.channels).values())
    absent = [c for c in wanted if c.lstrip("#") not in found]
    outside = [c for c in wanted if found.get(c.lstrip("#")) is False]
    if absent:
        return Result("slack channels", Status.FAIL, f"{', '.join(absent)} not found",
                      "create them (or fix [slack.channels] in config.toml), then /invite @chatops there")
    if outside:
        return Result("slack channels", Status.FAIL, f"the bot is not in {', '.join(outside)}: it cannot read "
                      "replies there", f"/invite @chatops in {', '.join(outside)}")
    return Result("slack channels", Status.OK, f"{', '.join(wanted)} exist and the bot is in them")


def clock(probe: Probe) -> Result:
    """This machine's clock against Slack's `Date` header (Slack refuses requests signed 5 min off)."""
    auth = _auth(probe)
    if auth is None or auth.error or "date" not in auth.headers:
        return Result("clock skew", Status.WARN, "not compared with any server (no working SLACK_BOT_TOKEN)",
                      "keep NTP on (timedatectl set-ntp true / macOS: Set time automatically)")
    theirs = parsedate_to_datetime(auth.headers["date"])
    skew = (probe.ctx.now() - theirs).total_seconds()
    limit = probe.ctx.settings.ops.max_clock_skew_seconds
    line = f"{abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} Slack's clock"
    if abs(skew) > limit:
        return Result("clock skew", Status.FAIL, f"{line} (more than [ops] max_clock_skew_seconds = {limit})",
                      "set the clock right: enable NTP (timedatectl set-ntp true / macOS: Set time automatically)")
    return Result("clock skew", Status.OK, line)
