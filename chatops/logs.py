"""The process's log: text or JSON lines, to stderr and optionally to a rotated file.

JSON lines (`--log-format json`, `[logging] format = "json"`) are for log shippers: one object per line
with `ts` (UTC, RFC 3339), `level`, `logger`, `message`, and `exc` when an exception is logged, so a
traceback never spans lines. A file (`[logging] file`, relative to the data directory) is rotated by
size (`max_mb`, `backups`: `logging.handlers.RotatingFileHandler`); under systemd the journal keeps and
rotates stderr already, under launchd a file is how the log is kept bounded.
"""
from __future__ import annotations

import json
import logging
import logging.handlers
from datetime import datetime, timezone
from pathlib import Path

from jobs.settings import LoggingSettings
from store.access import make_dirs

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HANDLER_NAME = "chatops-file"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"), "level": record.levelname, "logger": record.name,
                "message": record.getMessage()}
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def use_format(fmt: str) -> None:
    """Every handler of the root logger writes `fmt` ("text" or "json") from now on."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter(fmt))


def configure(settings: LoggingSettings, data_dir: Path, fmt: str | None = None) -> Path | None:
    """Apply `[logging]` (the format unless `fmt` overrides it, and the rotated file); returns the file."""
    root = logging.getLogger()
    chosen = fmt or settings.format
    use_format(chosen)
    for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(handler)
        handler.close()
    if not settings.file:
        return None
    path = Path(settings.file)
    path = path if path.is_absolute() else Path(data_dir) / path
    make_dirs(path.parent)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=settings.max_mb * 1024 * 1024,
                                                   backupCount=settings.backups, encoding="utf-8")
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter(chosen))
    root.addHandler(handler)
    return path
