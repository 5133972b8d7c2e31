"""The context every flow receives: settings, data directory, store, people, clock.

No module-level state anywhere: a test builds a context on a temporary directory, the daemon builds
one at start, a CLI command builds one per invocation. Later areas add what they need (ledgers,
notifier) as fields here, created from the same settings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from jobs.actors import People
from jobs.notices import Notifier
from jobs.settings import Settings
from store.access import Policy, prepare_data_dir
from store.state import StateStore

if TYPE_CHECKING:
    from jobs.audit import Ledgers
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
    clock: Callable[[], datetime] = field(default=utc_now)
    #: how flows talk to people (`ctx.notifier.send(notice)`); build_context gives the outbox notifier
    notifier: Notifier = field(default=None)  # type: ignore[assignment]

    def now(self) -> datetime:
        return self.clock()

    @cached_property
    def ledgers(self) -> "Ledgers":
        """The credit and operations ledgers (`ctx.ledgers.credit.append(…)`); no file is opened until
        the first entry is written or read, and the in-memory tree state lives as long as the context."""
        from jobs.audit import Ledgers, alert_damaged  # jobs.audit imports this module for its types

        return Ledgers(self.settings, self.data_dir, clock=lambda: self.now(),
                       on_damaged=lambda message: alert_damaged(self, message))

    @cached_property
    def outgoing(self) -> "OutgoingScrubber":
        """The scrub engine for everything that leaves the machine (`ctx.outgoing.notice(n)`, `.text(t)`);
        its rules are loaded on the first message, once for the life of the context."""
        from jobs.outgoing import OutgoingScrubber  # jobs.outgoing imports this module for its types

        return OutgoingScrubber(self)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.settings.timezone)


def build_context(settings: Settings, data_dir: Path) -> Context:
    data_dir = Path(data_dir)
    prepare_data_dir(data_dir, Policy(settings.operators_group or None))
    ctx = Context(settings=settings, data_dir=data_dir, state=StateStore(data_dir),
                  people=People(settings.people))
    from jobs.outbox import OutboxNotifier, slack_mode  # imports this module: bound here, not at the top

    ctx.notifier = OutboxNotifier(ctx, local=not slack_mode(data_dir=data_dir))
    return ctx
