"""Fixtures for the github provider's tests (tests/export/github/): the GitHub stand-in, a context configured for it, a sleeper."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from chatops.config import load_config
from jobs.compose import build_context
from jobs.context import Context
from jobs.export.github_provider import GitHubProvider
from tests.standins.github import TOKEN, GitHubStandIn

REPO = "acme/exports"
NOW = 1_800_000_000.0      # the provider's wall clock in these tests (epoch seconds)


@dataclass
class Sleeper:
    """Stands for time.sleep: keeps each wait, sleeps none."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def standin() -> Iterator[GitHubStandIn]:
    server = GitHubStandIn().start()
    yield server
    server.stop()


def github_ctx(config_file: Path, api_url: str, push_url: str = "", repo: str = REPO) -> Context:
    config_file.write_text(config_file.read_text() + f'\n[export.github]\nrepo = "{repo}"\napi_url = "{api_url}"\n'
                           + (f'push_url = "{push_url}"\n' if push_url else ""))
    loaded = load_config(config_file)
    return build_context(loaded.settings, loaded.data_dir)


@pytest.fixture
def ctx(config_file: Path, standin: GitHubStandIn) -> Context:
    return github_ctx(config_file, standin.api_url)


@pytest.fixture
def sleeper() -> Sleeper:
    return Sleeper()


def provider_for(ctx: Context, sleeper: Sleeper, **options) -> GitHubProvider:
    return GitHubProvider.from_settings(ctx, {"GITHUB_TOKEN": TOKEN}, sleep=sleeper, rng=random.Random(7),
                                        clock=lambda: NOW, **options)


@pytest.fixture
def provider(ctx: Context, sleeper: Sleeper) -> GitHubProvider:
    return provider_for(ctx, sleeper)
