"""The Slack area's contribution to the daemon's services: its connection (Socket Mode or HTTP), on the
daemon's one event loop.

Its delivery is the outgoing queue's Slack worker (`chatops.notify.services`), started before it.
slack_bolt is imported only in Slack mode.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from chatops.slack.mode import Mode

if TYPE_CHECKING:
    from chatops.services import Service, Wiring


def services(wiring: "Wiring") -> list["Service"]:
    if wiring.mode == Mode.LOCAL:
        return []
    from chatops.registry import Registry
    from chatops.slack.interface import SlackInterface
    from chatops.slack.runtime import SlackConnection, host_for

    iface = SlackInterface(ctx=wiring.ctx, registry=Registry.load(), config=lambda: wiring.loaded)
    return [SlackConnection(iface, wiring.mode, wiring.environ, wiring.loop, wiring.http_port,
                            host_for(wiring.environ))]
