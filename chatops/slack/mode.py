"""Which connection the daemon makes, decided from the environment (docs/architecture.md §6).

No slack imports here.

* no `SLACK_BOT_TOKEN`: local mode, the outbox is the delivery;
* `SLACK_BOT_TOKEN` + `SLACK_APP_TOKEN`: Socket Mode (no public endpoint needed);
* `SLACK_BOT_TOKEN` + `SLACK_SIGNING_SECRET` + `chatops daemon --http PORT`: HTTP mode.
A half-configured environment is an error naming the missing variable, never a silent local mode.
"""
from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Mapping


class Mode(StrEnum):
    LOCAL = "local"
    SOCKET = "socket"
    HTTP = "http"


class SlackModeError(Exception):
    """The environment asks for a Slack mode it does not fully configure; the text names the fix."""


def select_mode(environ: Mapping[str, str], http_port: int | None) -> Mode:
    bot, app, secret = (environ.get(k, "") for k in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"))
    if http_port is not None:
        missing = [k for k, v in (("SLACK_BOT_TOKEN", bot), ("SLACK_SIGNING_SECRET", secret)) if not v]
        if missing:
            raise SlackModeError(f"--http {http_port} needs {' and '.join(missing)} in the environment "
                                 f"(the bot token and the app's signing secret from api.slack.com/apps)")
        return Mode.HTTP
    if not bot:
        given = [k for k, v in (("SLACK_APP_TOKEN", app), ("SLACK_SIGNING_SECRET", secret)) if v]
        if given:
            raise SlackModeError(f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} set but "
                                 f"SLACK_BOT_TOKEN is not: set SLACK_BOT_TOKEN (xoxb-…, the app's Bot User "
                                 f"OAuth Token) for Slack, or unset {' and '.join(given)} for local mode")
        return Mode.LOCAL
    if not app:
        raise SlackModeError("SLACK_BOT_TOKEN is set but SLACK_APP_TOKEN is not: set SLACK_APP_TOKEN (xapp-…, "
                             "scope connections:write) for Socket Mode, or SLACK_SIGNING_SECRET and "
                             "`chatops daemon --http PORT` for HTTP mode")
    return Mode.SOCKET


def describe(mode: Mode, data_dir: Path, api_url: str, http_port: int | None = None) -> str:
    """The one line the daemon logs at start."""
    if mode == Mode.LOCAL:
        return (f"local mode: no SLACK_BOT_TOKEN set; messages go to {data_dir / 'outbox.jsonl'}, "
                f"operators act with `chatops … --as NAME`")
    if mode == Mode.SOCKET:
        return f"Slack Socket Mode via {api_url}; outbox {data_dir / 'outbox.jsonl'} delivered by the worker"
    return (f"Slack HTTP mode on port {http_port} (POST /slack/events, signatures verified) via {api_url}; "
            f"outbox {data_dir / 'outbox.jsonl'} delivered by the worker")
