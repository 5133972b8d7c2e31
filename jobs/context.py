"""The context every flow receives: settings, data directory, store, people, clock, and the shared services.

No module-level state anywhere: a test, the daemon and each CLI command build a context through the one
composition root, `jobs.compose.build_context`. This module holds the record only and imports none of
the services it carries (ledgers, outgoing scrub, notifier): they import it for its type, and the
composition root builds them, so there is no import cycle between the context and what hangs off it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from jobs.actors import People
from jobs.settings import Settings
from store.state import StateStore

if TYPE_CHECKING:
    from jobs.audit import Ledgers
    from jobs.notices import Notifier
    from jobs.outgoing import OutgoingScrubber


def utc_now() -> datetime:
    """Timezone-aware now; freezegun moves it in tests."""
    return datetime.now(timezone.utc)


@dataclass
class Context:
    settings: Settings
    data_dir: Path
    state: StateStore
    people: People
    #: build the ledgers and the outgoing scrub on first use (both are costly to open, and most CLI
    #: commands need neither); given by the composition root
    make_ledgers: Callable[["Context"], "Ledgers"]
    make_outgoing: Callable[["Context"], "OutgoingScrubber"]
    #: … and the notifier, also on first use: a reading command sends nothing (issue 21: CLI start-up)
    make_notifier: Callable[["Context"], Notifier]
    clock: Callable[[], datetime] = field(default=utc_now)

    def now(self) -> datetime:
        return self.clock()

    @cached_property
    def notifier(self) -> Notifier:
        """How flows talk to people (`ctx.notifier.send(notice)`): the outbox notifier the composition root
        builds; the daemon, the Slack runtime and tests assign their own (`ctx.notifier = …`)."""
        return self.make_notifier(self)

    @cached_property
    def ledgers(self) -> "Ledgers":
        """The credit and operations ledgers (`ctx.ledgers.credit.append(…)`); no file is opened until
        the first entry is written or read, and the in-memory tree state lives as long as the context."""
        return self.make_ledgers(self)

    @cached_property
    def outgoing(self) -> "OutgoingScrubber":
        """The scrub engine for everything that leaves the machine (`ctx.outgoing.notice(n)`, `.text(t)`);
        its rules are loaded on the first message, once for the life of the context."""
        return self.make_outgoing(self)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.settings.timezone)
