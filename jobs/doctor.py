"""`chatops doctor`: a registry of small checks, each saying OK, WARN or FAIL in one line with its fix.

Why a registry: what "healthy" means grows with every area (Slack, the ledgers, the disk, and the
Notion mirror and the export's GitHub provider). Each check is a function `check(probe) -> Result` named
as "module:function" in one tuple (`chatops/doctor.py` `CHECKS`), the way the daemon's services are
(`chatops/services.py` `AREAS`): an area adds a line there, nothing else changes. A check that raises
is itself a FAIL naming the check (its traceback goes to the log), so one broken check never hides
the others' answers. The worst status decides the exit code: 0 OK, 1 WARN, 2 FAIL (the convention
of monitoring plugins, so a cron job or a monitoring agent can run `chatops doctor` as it is).
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from jobs.context import Context

log = logging.getLogger("chatops.doctor")


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"

    @property
    def exit_code(self) -> int:
        return {Status.OK: 0, Status.WARN: 1, Status.FAIL: 2}[self]


@dataclass(frozen=True)
class Result:
    """One check's answer: `line` says what was found; `fix` what to do (required unless OK)."""

    check: str
    status: Status
    line: str
    fix: str = ""

    def text(self) -> str:
        fix = f" — fix: {self.fix}" if self.fix and self.status is not Status.OK else ""
        return f"{self.status.value:<4}  {self.check}: {self.line}{fix}"


@dataclass(frozen=True)
class Probe:
    """What every check reads: the context (settings, data directory, ledgers), the environment the
    daemon would run with (tokens), and the config file's path. `memo` shares one answer between
    checks (one `auth.test` for the token, scope and clock checks)."""

    ctx: Context
    environ: Mapping[str, str]
    config_path: Path
    _memo: dict[str, Any] = field(default_factory=dict, compare=False)

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


Check = Callable[[Probe], Result]


def load(names: Iterable[str]) -> list[tuple[str, Check]]:
    """The checks named "module:function", in order; a name that does not resolve is a startup error."""
    checks = []
    for name in names:
        module, _, function = name.partition(":")
        checks.append((name, getattr(importlib.import_module(module), function)))
    return checks


def run(probe: Probe, checks: list[tuple[str, Check]]) -> list[Result]:
    """Every check's result in order; a check that raises is a FAIL naming it (traceback in the log)."""
    results = []
    for name, check in checks:
        try:
            results.append(check(probe))
        except Exception as exc:   # one broken check must not hide the others' answers
            log.exception("doctor check %s raised", name)
            results.append(Result(name.rpartition(":")[2], Status.FAIL, f"the check itself failed: "
                                  f"{type(exc).__name__}: {exc}", "see <data_dir>/logs/chatops-cli.log and "
                                  "report it; the other checks still ran"))
    return results


def worst(results: Iterable[Result]) -> Status:
    return max((r.status for r in results), key=lambda s: s.exit_code, default=Status.OK)
