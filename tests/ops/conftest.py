"""An installation for the operations commands: a config pointed at the Slack stand-in, its data directory,
the real CLI run in this process (so the stand-in's tokens in the environment reach it)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatops.cli import main
from tests.conftest import PEOPLE_TOML
from tests.standins.slack import APP_TOKEN, BOT_TOKEN, SlackStandIn


@pytest.fixture
def standin():
    server = SlackStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def install(tmp_path: Path, standin: SlackStandIn, monkeypatch) -> Path:
    """config.toml (Slack at the stand-in), tokens in the environment, the ledgers initialised."""
    config = tmp_path / "config.toml"
    config.write_text(f'timezone = "America/Los_Angeles"\ndata_dir = "var/"\n{PEOPLE_TOML}\n'
                      f'[slack]\napi_url = "{standin.api_url}"\n')
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    for name in ("SLACK_WEBHOOK_URL_SEV0", "SLACK_WEBHOOK_URL_SEV1", "SLACK_WEBHOOK_URL_SEV2",
                 "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--config", str(config), "ledger", "init", "--as", "ana"]) == 0
    assert main(["--config", str(config), "upgrade", "--as", "ana"]) == 0     # as the daemon does at its start
    return config


def cli(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


def doctor(config: Path, capsys, *extra: str) -> tuple[int, dict[str, dict]]:
    """Run `chatops doctor --json`; its exit code and each check by name."""
    capsys.readouterr()
    code = cli(config, "doctor", "--json", *extra)
    out = json.loads(capsys.readouterr().out)
    return code, {c["check"]: c for c in out["checks"]}
