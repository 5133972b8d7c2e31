"""The daemon's services: each area contributes its own, the daemon starts and stops them as one list.

A `Service` is anything the daemon keeps running beside its scheduler (a delivery worker, the Slack
connection, the credit intake): `start()`, `stop(timeout)`, and `health()`, one line ("ok" or what is
wrong). An area contributes its services in one place of its own, a function `services(wiring)`
named in `AREAS` below; it returns [] when it has nothing to run in this mode. The daemon wires none
by hand: it calls the areas in order, starts what they return in that order, and stops them in the
reverse order within one deadline. Order matters twice: the event loop the servers share comes first
(and stops last), then the outgoing queue's workers, so anything queued while the others start (the
start-up reconciliation's alerts) is delivered at once.

Modules are imported only when the daemon starts, and an area imports its heavy parts (slack_bolt)
only when its mode needs them.
"""
from __future__ import annotations

import importlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

from chatops.config import LoadedConfig
from chatops.event_loop import EventLoop
from chatops.slack.mode import Mode
from jobs.context import Context

log = logging.getLogger("chatops.services")

#: "module:function" of each area's contribution, in start order.
AREAS = (
    "chatops.event_loop:services",
    "chatops.notify:services",
    "chatops.notion_service:services",
    "chatops.slack.services:services",
    "chatops.credits_service:services",
    "chatops.github_delivery:services",
    "chatops.compliance_service:services",
)


class Service(Protocol):
    @property
    def name(self) -> str: ...

    def start(self) -> Any: ...

    def stop(self, timeout: float) -> None: ...

    def health(self) -> str: ...


@dataclass(frozen=True)
class Wiring:
    """What an area may build its services from: the daemon's context, config, mode and scheduler."""

    ctx: Context
    loaded: LoadedConfig
    mode: Mode
    environ: Mapping[str, str]
    http_port: int | None
    scheduler: Any      # apscheduler's BackgroundScheduler: areas add their periodic jobs to it
    loop: "EventLoop"   # the one event loop every server and connection of the daemon runs on


ServiceFactory = Callable[[Wiring], list[Service]]


@dataclass
class Services:
    running: list[Service] = field(default_factory=list)

    @classmethod
    def start_all(cls, wiring: Wiring, areas: tuple[str, ...] = AREAS) -> "Services":
        """Start every area's services in order; if one fails to start, stop those started and re-raise."""
        started = cls()
        try:
            for area in areas:
                module, _, function = area.partition(":")
                factory: ServiceFactory = getattr(importlib.import_module(module), function)
                for service in factory(wiring):
                    service.start()
                    started.running.append(service)
                    log.info("service %s started", service.name)
        except BaseException:
            started.stop(5.0)
            raise
        return started

    def stop(self, timeout: float) -> None:
        """Stop in reverse order; all of them share `timeout` (the daemon's stop must fit in 5 s)."""
        deadline = time.monotonic() + timeout
        for service in reversed(self.running):
            try:
                service.stop(max(0.0, deadline - time.monotonic()))
            except Exception:   # one service's failure to stop must not keep the others running
                log.exception("service %s did not stop cleanly", service.name)
        self.running = []

    def health(self) -> dict[str, str]:
        return {service.name: service.health() for service in self.running}
