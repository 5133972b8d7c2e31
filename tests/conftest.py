"""Shared fixtures: a config file and data directory per test, and a way to run the real CLI."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

PEOPLE_TOML = textwrap.dedent("""
    [people.ana]
    slack_id = "U0ANA00001"
    roles = ["O3", "coo"]

    [people.ben]
    slack_id = "U0BEN00002"
    roles = ["O2", "chief.staff"]

    [people.cleo]
    slack_id = "U0CLEO0003"
    roles = ["O1"]

    [people.dev]
    slack_id = "U0DEV00004"
    roles = ["O3", "ceo"]

    [people.lee]
    slack_id = "U0LEE00005"
    roles = ["legal.exec", "security.ops", "code.platform"]
""")


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('timezone = "America/Los_Angeles"\ndata_dir = "var/"\n' + PEOPLE_TOML)
    return path


def run_cli(*args: str, config: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `python -m chatops …` as a real subprocess, the way an operator would."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("SLACK_BOT_TOKEN", None) if not env or "SLACK_BOT_TOKEN" not in env else None
    argv = [sys.executable, "-m", "chatops"]
    if config is not None:
        argv += ["--config", str(config)]
    return subprocess.run(argv + list(args), capture_output=True, text=True, env=full_env, timeout=timeout)
