"""General commands: help, configuration check, job status, the daemon itself."""
from __future__ import annotations

import argparse

from chatops.registry import Arg, Command, Invocation, Reply
from jobs.actors import Permission


def _count(text: str) -> int:
    """`--limit N`: at least one (a negative N would silently drop the newest runs instead)."""
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"--limit {text!r}: expected a whole number of runs, 1 or more")
    return int(text)


def _port(text: str) -> int:
    """`--http PORT`: a TCP port, refused here rather than by the listener after the daemon started."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"--http {text!r}: expected a TCP port from 1 to 65535, e.g. 3000")
    return int(text)


def _help(inv: Invocation) -> Reply:
    from chatops.registry import Registry

    prog = "chatops" if inv.surface == "cli" else "/ops"
    return Reply(Registry.load().help_text(inv.actor, inv.surface, prog))


def _config_check(inv: Invocation) -> Reply:
    from chatops.config_report import render_config_report

    return Reply(render_config_report(inv.config(), inv.ctx))


def _jobs(inv: Invocation) -> Reply:
    from jobs.schedule import JOB_SPECS, NOT_BUILT, built_bodies   # APScheduler, asyncio: only this command
    from store import job_runs

    ctx = inv.ctx
    runs = job_runs.recent_runs(ctx.state, limit=inv.args.limit)
    missed = job_runs.missed_runs(ctx.state)
    lines = ["recent job runs (newest first):"] if runs else ["no job has run yet"]
    for run in runs:
        started = ctx.local(_parse(run.started_at)).strftime("%Y-%m-%d %H:%M %Z")
        error = f"  {run.error}" if run.error else ""
        lines.append(f"  {run.job:<14} {run.slot:<11} {run.status:<11} started {started} ({run.reason}){error}")
    if missed:
        lines.append("missed (daemon not running; reported by the sweep):")
        lines += [f"  {m.job:<14} {m.slot}" for m in missed]
    built = built_bodies()
    unbuilt = [spec for spec in JOB_SPECS if spec.name not in built]
    if unbuilt:
        lines.append(f"{NOT_BUILT} (not scheduled; no slot is claimed until its work exists):")
        lines += [f"  {spec.name:<14} {spec.description}" for spec in unbuilt]
    return Reply("\n".join(lines))


def _daemon(inv: Invocation) -> Reply:
    from chatops.daemon import run_daemon

    return Reply("", run_daemon(inv.config(), http_port=inv.args.http))


def _parse(value: str):
    from datetime import datetime

    return datetime.fromisoformat(value)


COMMANDS = [
    Command(("help",), "list the commands you may run", Permission.HELP, _help, shell_open=True),
    Command(("config", "check"), "validate config.toml; print the effective settings and next job runs",
            Permission.CONFIG_READ, _config_check, shell_open=True),
    Command(("jobs",), "recent scheduled job runs and missed runs", Permission.JOBS_READ, _jobs,
            args=(Arg("--limit", "how many runs to show", type=_count, default=20, metavar="N"),), shell_open=True),
    Command(("daemon",), "run the daemon: scheduler, alerts, Slack connection (local mode without a token)",
            Permission.CONFIG_READ, _daemon, slack=False, shell_open=True,
            args=(Arg("--http", "HTTP mode: serve Slack's requests on this port (needs SLACK_SIGNING_SECRET)",
                      type=_port, metavar="PORT"),)),
]
