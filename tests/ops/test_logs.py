"""The log: JSON lines on request (`--log-format json`, `[logging] format`), a file rotated by size."""
from __future__ import annotations

import json
import logging
import tomllib

import pytest

from chatops.config import ConfigError, parse_settings
from chatops.logs import configure
from jobs.settings import LoggingSettings
from tests.conftest import run_cli


@pytest.fixture
def root_logging():
    """The root logger's handlers and their formatters as they were, put back after the test."""
    root = logging.getLogger()
    saved = [(h, h.formatter) for h in root.handlers]
    level = root.level
    yield root
    for handler in [h for h in root.handlers if (h, h.formatter) not in saved and h not in dict(saved)]:
        root.removeHandler(handler)
        handler.close()
    for handler, formatter in saved:
        handler.setFormatter(formatter)
    root.setLevel(level)


def test_the_file_is_json_lines_rotated_by_size_keeping_the_configured_count(tmp_path, root_logging):
    path = configure(LoggingSettings(format="json", file="logs/daemon.log", max_mb=1, backups=2), tmp_path)
    assert path == tmp_path / "logs" / "daemon.log"
    root_logging.setLevel(logging.INFO)
    log = logging.getLogger("chatops.test")
    for n in range(6000):                        # ~3.5 MB of lines: three rotations
        log.info("line %d %s", n, "x" * 500)
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed on purpose")
    logs = sorted(p.name for p in path.parent.iterdir())
    assert logs == ["daemon.log", "daemon.log.1", "daemon.log.2"]
    assert all(p.stat().st_size <= 1024 * 1024 for p in path.parent.iterdir())
    lines = path.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert records[-1]["message"] == "failed on purpose" and records[-1]["level"] == "ERROR"
    assert "ValueError: boom" in records[-1]["exc"] and records[-1]["logger"] == "chatops.test"
    assert records[0]["ts"].endswith("Z")


def test_configure_again_replaces_its_file_handler_instead_of_adding_one(tmp_path, root_logging):
    configure(LoggingSettings(file="a.log"), tmp_path)
    configure(LoggingSettings(file="b.log"), tmp_path)
    assert [h.baseFilename for h in root_logging.handlers if h.get_name() == "chatops-file"] == [str(tmp_path / "b.log")]


def test_log_format_json_makes_every_stderr_line_a_json_object(config_file):
    done = run_cli("--log-format", "json", "ledger", "init", "--as", "ana", config=config_file)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines and all(json.loads(line)["logger"].startswith("chatops") for line in lines)


def test_the_logging_section_is_parsed_strictly():
    settings = parse_settings(tomllib.loads('[logging]\nformat = "json"\nfile = "logs/daemon.log"\nmax_mb = 50\n'
                                            'backups = 0\n'))
    assert settings.logging == LoggingSettings(format="json", file="logs/daemon.log", max_mb=50, backups=0)
    with pytest.raises(ConfigError, match='logging.format = "yaml": expected "text" or "json"'):
        parse_settings({"logging": {"format": "yaml"}})
