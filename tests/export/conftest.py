"""A temporary home with Claude Code's folder, a config whose export reads it, and a context on it."""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from chatops.config import LoadedConfig, load_config
from jobs.compose import build_context
from jobs.context import Context
from tests.conftest import PEOPLE_TOML


@dataclass
class Home:
    root: Path
    config: Path

    @property
    def projects(self) -> Path:
        return self.root / "home" / ".claude" / "projects"

    @property
    def data(self) -> Path:
        return self.root / "var"

    @property
    def repo(self) -> Path:
        return self.data / "exports"

    def loaded(self) -> LoadedConfig:
        return load_config(self.config)

    def context(self) -> Context:
        loaded = self.loaded()
        return build_context(loaded.settings, loaded.data_dir)


def write_config(root: Path, extra: str = "", settle: int = 15) -> Path:
    path = root / "config.toml"
    path.write_text(textwrap.dedent(f"""
        timezone = "America/Los_Angeles"
        data_dir = "var/"
        [export]
        sources = ["{root}/home/.claude/projects/**/*.jsonl"]
        settle_minutes = {settle}
    """) + extra + PEOPLE_TOML)
    return path


@pytest.fixture
def home(tmp_path: Path) -> Home:
    (tmp_path / "home" / ".claude" / "projects").mkdir(parents=True)
    return Home(tmp_path, write_config(tmp_path))
