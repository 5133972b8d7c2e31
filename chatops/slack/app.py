"""The Bolt app: `/ops`, thread replies, buttons, modals and the App Home tab.

One `AsyncApp` serves both connections: Socket Mode (`AsyncSocketModeHandler`) and HTTP mode (its
aiohttp application, which verifies Slack's v0 signature and rejects requests older than five
minutes). The async app is the measured choice (docs/measured.md, "Slack": 50 in flight, p99 29 ms; Bolt's
development server reset connections).

Every listener acknowledges first and works after: `ack()` is awaited before anything else, then
the work (the registry, the store, files, and the answer) is handed to the work loop
(`chatops/slack/work.py`), so the app's loop does nothing but take requests and ack them, and a slow
command never makes Slack show "operation timed out", nor delays the next person's ack. Replies go back
through the interaction's response URL (seen only by the asker) for `/ops`, and in the alert's thread
through the outbox for thread replies, buttons and modals.
"""
from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from chatops.render.blocks import ACTION_PREFIX
from chatops.render.views import (COMMAND_MODAL_CALLBACK, INPUT_ACTION, INPUT_BLOCK, MODAL_CALLBACK, command_modal,
                                  home_view, input_modal, modal_values)
from chatops.slack.interface import SlackInterface
from chatops.slack.work import AfterAck

log = logging.getLogger("chatops.slack")
SLASH_COMMAND = "/ops"
REPLY_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})


def async_web_client(iface: SlackInterface, token: str) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=iface.ctx.settings.slack.api_url, timeout=10)


def _not_the_token_notice(record: logging.LogRecord) -> bool:
    """Bolt reads SLACK_BOT_TOKEN itself and warns that the client (ours, pointed at `slack.api_url`, with
    that same token) wins: true and expected, so not worth a WARNING at every start."""
    return "`token` will be unused" not in record.getMessage()


def build_app(iface: SlackInterface, token: str, signing_secret: str | None, after: AfterAck) -> AsyncApp:
    """`signing_secret` for HTTP mode; None for Socket Mode (the socket is authenticated by the app token).
    `after` runs the work of every listener once its request is acknowledged."""
    bolt_log = logging.getLogger("chatops.slack.bolt")
    if _not_the_token_notice not in bolt_log.filters:
        bolt_log.addFilter(_not_the_token_notice)
    app = AsyncApp(client=async_web_client(iface, token), signing_secret=signing_secret or "",
                   request_verification_enabled=signing_secret is not None, process_before_response=False,
                   logger=bolt_log)

    @app.middleware
    async def ack_first(next) -> None:   # Bolt passes the rest of the chain as `next`
        """Counts the requests between arrival and ack, so the work of earlier ones waits for them."""
        after.ack_started()
        try:
            await next()
        finally:
            after.ack_done()

    def ops_answer(user: str, text: str) -> str:
        outcome = iface.run_text(user, text)
        return iface.masked(outcome.text if outcome.ok else f"refused: {outcome.text}")

    async def answer_ops(user: str, text: str, response_url: str) -> None:
        answer = await after.run(ops_answer, user, text)
        await after.respond(response_url, {"text": answer, "response_type": "ephemeral"})

    @app.command(SLASH_COMMAND)
    async def on_ops(ack, body, client) -> None:
        await ack()
        after.submit(ops_or_form(body, client), f"/ops by {body['user_id']}")

    async def ops_or_form(body, client) -> None:
        """`/ops <words>` of a command declared `modal=True` opens its form; anything else is answered."""
        user, text = body["user_id"], body.get("text", "")
        command, gate = await after.run(iface.form_for, user, text)
        if command is None and gate.ok:
            await answer_ops(user, text, body["response_url"])
        elif command is None:
            await after.respond(body["response_url"], {"text": iface.masked(f"refused: {gate.text}"),
                                                       "response_type": "ephemeral"})
        else:
            await client.views_open(trigger_id=body["trigger_id"], view=command_modal(command, {}))

    @app.view(COMMAND_MODAL_CALLBACK)
    async def on_command_modal(ack, body, view) -> None:
        meta = json.loads(view["private_metadata"])
        values = modal_values(view["state"]["values"])
        errors = iface.form_errors(meta["command"], values, meta.get("fixed"))
        if errors:   # shown under each field, the form kept open: nothing ran
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        after.submit(answer_form(body["user"]["id"], meta, values), f"form by {body['user']['id']}")

    async def answer_form(user: str, meta: dict[str, Any], values: dict[str, str]) -> None:
        """A form a button opened on one of our threads is answered in that thread; any other (one `/ops`
        opened, one from a later DM) goes to the person as a DM from the app (a view has no response URL)."""
        outcome = await after.run(iface.submit_form, user, meta["command"], values, meta.get("fixed"),
                                  meta.get("channel", ""), meta.get("ts", ""))
        if outcome.answered:
            return
        text = iface.masked(outcome.text if outcome.ok else f"refused: {outcome.text}")
        await app.client.chat_postMessage(channel=user, text=text)

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        thread_ts = event.get("thread_ts")
        # A reply "also sent to the channel" (thread_broadcast) or with a screenshot (file_share) is still
        # the person's reply; edits, deletions and bots' messages are not.
        if event.get("subtype") not in REPLY_SUBTYPES or event.get("bot_id") or not event.get("user") \
                or not thread_ts or thread_ts == event.get("ts"):
            return
        after.submit(after.run(iface.thread_reply, event["channel"], thread_ts, event.get("user", ""),
                               event.get("text", "")), f"thread reply by {event.get('user')}")

    @app.action(re.compile(f"^{ACTION_PREFIX}"))
    async def on_button(ack, body, client, respond) -> None:
        await ack()
        after.submit(answer_button(body, client, respond), f"button by {body['user']['id']}")

    async def answer_button(body, client, respond) -> None:
        action = json.loads(body["actions"][0]["value"])
        user = body["user"]["id"]
        channel_id = (body.get("channel") or body.get("container", {})).get("id") or body["container"]["channel_id"]
        message = body.get("message") or {}
        parent = message.get("thread_ts") or message.get("ts", "")
        fixed = action.get("with") or {}
        if action.get("form"):
            command, values, allowed = await after.run(iface.button_form, user, action["command"], action["target"],
                                                       fixed)
            if command is None:
                await respond(text=iface.masked(f"refused: {allowed.text}"), response_type="ephemeral",
                              replace_original=False)
                return
            await client.views_open(trigger_id=body["trigger_id"], view=command_modal(
                command, {"channel": channel_id, "ts": parent}, values, action.get("choices")))
            return
        if action.get("needs"):
            allowed = await after.run(iface.may_run, user, action["command"], action["target"])
            if not allowed.ok:
                await respond(text=iface.masked(f"refused: {allowed.text}"), response_type="ephemeral",
                              replace_original=False)
                return
            await client.views_open(trigger_id=body["trigger_id"], view=input_modal(
                action["command"], action["target"], action["needs"],
                {"channel": channel_id, "ts": parent, **({"with": fixed} if fixed else {})}))
            return
        outcome = await after.run(iface.button, user, action["command"], action["target"], channel_id, parent,
                                  fixed)
        if not outcome.ok or not outcome.answered:   # a click on a message that is no thread of ours (a later DM)
            await respond(text=iface.masked(outcome.text if outcome.ok else f"refused: {outcome.text}"),
                          response_type="ephemeral", replace_original=False)

    @app.view(MODAL_CALLBACK)
    async def on_modal(ack, body, view) -> None:
        meta = json.loads(view["private_metadata"])
        text = (view["state"]["values"].get(INPUT_BLOCK, {}).get(INPUT_ACTION, {}).get("value") or "").strip()
        if not text:
            await ack(response_action="errors", errors={INPUT_BLOCK: f"the {meta['needs']} is required"})
            return
        await ack()
        after.submit(after.run(iface.button, body["user"]["id"], meta["command"], meta["target"], meta["channel"],
                               meta["ts"], {meta["needs"]: text, **meta.get("with", {})}),
                     f"modal by {body['user']['id']}")

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any], client) -> None:
        if event.get("tab", "home") != "home":
            return
        after.submit(publish_home(event["user"], client), f"App Home of {event['user']}")

    async def publish_home(user: str, client) -> None:
        person, sections = await after.run(iface.home_sections, user)
        await client.views_publish(user_id=user, view=home_view(person, sections))

    return app
