"""The context every flow receives: settings, data directory, store, people, clock.

No module-level state anywhere: a test builds a context on a temporary directory, the daemon builds
one at start, a CLI command builds one per invocation. Later areas add what they need (ledgers,
notifier) as fields here, created from the same settings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from jobs.actors import People
from jobs.settings import Settings
from store.state import StateStore


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

    def now(self) -> datetime:
        return self.clock()

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.settings.timezone)


def build_context(settings: Settings, data_dir: Path) -> Context:
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    return Context(settings=settings, data_dir=data_dir, state=StateStore(data_dir),
                   people=People(settings.people))
