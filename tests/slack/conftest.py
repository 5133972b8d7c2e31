"""Fixtures for the Slack layer: the stand-in, a context pointed at it, the tests' own registry."""
from __future__ import annotations

import time
import tomllib
from pathlib import Path
from typing import Any, Callable

import pytest

from chatops.config import LoadedConfig, parse_settings
from chatops.registry import Registry
from chatops.slack.interface import SlackInterface
from jobs.context import Context, build_context
from tests.conftest import PEOPLE_TOML
from tests.standins.slack import BOT_TOKEN, SlackStandIn

AREA = "tests.slack.area"


@pytest.fixture
def standin():
    server = SlackStandIn().start()
    yield server
    server.stop()


def make_loaded(tmp_path: Path, api_url: str, extra: dict[str, Any] | None = None) -> LoadedConfig:
    raw = tomllib.loads(PEOPLE_TOML)
    raw["slack"] = {"api_url": api_url, **(extra or {})}
    return LoadedConfig(settings=parse_settings(raw), path=tmp_path / "config.toml", data_dir=tmp_path / "var")


@pytest.fixture
def loaded(tmp_path: Path, standin: SlackStandIn) -> LoadedConfig:
    return make_loaded(tmp_path, standin.api_url)


@pytest.fixture
def ctx(loaded: LoadedConfig, monkeypatch) -> Context:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    return build_context(loaded.settings, loaded.data_dir)


@pytest.fixture
def registry() -> Registry:
    return Registry.load(areas=[AREA])


@pytest.fixture
def iface(ctx: Context, registry: Registry, loaded: LoadedConfig) -> SlackInterface:
    return SlackInterface(ctx=ctx, registry=registry, config=lambda: loaded)


def poll(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Wait for asynchronous delivery with a bounded deadline (not a timing assumption)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.01)
