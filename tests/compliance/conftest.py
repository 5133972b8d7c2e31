"""Fixtures for the compliance calendar, post-mortems and the council: a real context on a temporary data
directory (config_file from tests/conftest.py, extra TOML appended per test) with a real operations ledger."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from chatops.config import load_config
from jobs.compose import build_context
from jobs.context import Context


@pytest.fixture
def make_ctx(config_file: Path) -> Callable[[str], Context]:
    """A context whose config.toml is the shared one plus `extra` (e.g. a [compliance] table)."""

    def make(extra: str = "") -> Context:
        if extra:
            config_file.write_text(config_file.read_text() + "\n" + extra)
        loaded = load_config(config_file)
        return build_context(loaded.settings, loaded.data_dir)

    return make


@pytest.fixture
def ctx(make_ctx) -> Context:
    return make_ctx()
