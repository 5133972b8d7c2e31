"""Running it for real (issue 26): `doctor`, `backup`, `restore`, `upgrade`, `service install|uninstall|status`.

`doctor` reads only (shell-open; O1+ from Slack) and exits by its worst check: 0 OK, 1 WARN, 2 FAIL.
"""
from __future__ import annotations

import os

from chatops.registry import Arg, Command, Invocation, Reply
from jobs.actors import Permission


def _doctor(inv: Invocation) -> Reply:
    from chatops.config import ConfigError
    from chatops.doctor import diagnose
    from jobs.doctor import Result, Status, worst

    try:
        loaded = inv.config()
    except ConfigError as exc:
        failed = Result("config", Status.FAIL, str(exc), "correct the key it names; chatops config check shows the rest")
        return Reply(f"{failed.text()}\nthe other checks were not run: they need a valid config", Status.FAIL.exit_code)
    results = diagnose(loaded, dict(os.environ))
    status = worst(results)
    summary = f"doctor: {status.value} ({sum(r.status is not Status.OK for r in results)} of {len(results)} checks " \
              f"need attention)" if status is not Status.OK else f"doctor: OK ({len(results)} checks)"
    if inv.args.json:
        import json

        return Reply(json.dumps({"status": status.value, "checks": [
            {"check": r.check, "status": r.status.value, "line": r.line, "fix": r.fix} for r in results]}, indent=1),
            status.exit_code)
    return Reply("\n".join([*(r.text() for r in results), summary]), status.exit_code)


COMMANDS = [
    Command(("doctor",), "check this installation: config, tokens, scopes, channels, keys, ledgers, disk, clock",
            Permission.OPS_DOCTOR, _doctor, shell_open=True,
            args=(Arg("--json", "print the checks as JSON", flag=True),),
            description="One line per check (OK, WARN or FAIL) with the fix for each problem. Exit code by the "
                        "worst: 0 OK, 1 WARN, 2 FAIL."),
]
