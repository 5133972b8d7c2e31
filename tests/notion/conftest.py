"""Fixtures for the Notion mirror: the Notion stand-in with the real notion-client pointed at it, a
context whose config names the stand-in's URL, the environment of a configured mirror, and a clock
that moves only when the code under test waits (no sleeping)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chatops.config import load_config
from jobs.compose import build_context
from jobs.context import Context
from jobs.delivery import DeliveryWorker
from jobs.notion import flows
from jobs.notion.records import CASES_DB_ENV, RUNS_DB_ENV, TOKEN_ENV, NotionEnv
from tests.standins.notion import CASES_DB, RUNS_DB, TOKEN, NotionStandIn

ENV = {TOKEN_ENV: TOKEN, RUNS_DB_ENV: RUNS_DB, CASES_DB_ENV: CASES_DB}


@dataclass
class FakeClock:
    """Monotonic seconds that advance only through `sleep` (the rate limit) and `wait` (the worker)."""

    now: float = 1000.0
    slept: list[float] = field(default_factory=list)
    waited: list[float] = field(default_factory=list)
    stop_waiting: bool = True      # a worker's wait ends its pass (the test decides what happens next)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def wait(self, seconds: float) -> bool:
        self.waited.append(seconds)
        self.now += seconds
        return self.stop_waiting


@pytest.fixture
def notion():
    standin = NotionStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture
def config_file(tmp_path: Path, config_file: Path, notion: NotionStandIn) -> Path:
    config_file.write_text(config_file.read_text().replace(
        'data_dir = "var/"\n', f'data_dir = "var/"\n[notion]\napi_url = "{notion.api_url}"\ntimeout_seconds = 1.0\n',
        1))
    return config_file


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> NotionEnv:
    """NOTION_TOKEN and both database ids set, as an operator sets them."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return NotionEnv.read()


@pytest.fixture
def ctx(config_file: Path) -> Context:
    loaded = load_config(config_file)
    return build_context(loaded.settings, loaded.data_dir)


@pytest.fixture
def fake() -> FakeClock:
    return FakeClock()


@pytest.fixture
def worker(ctx: Context, live: NotionEnv, fake: FakeClock) -> DeliveryWorker:
    return flows.worker(ctx, live, clock=fake.clock, sleep=fake.sleep, wait=fake.wait)
