"""`chatops doctor`: the registry of checks (`CHECKS`) and the two that are about the daemon itself.

Each entry is "module:function", one check returning a `jobs.doctor.Result`; an area contributes its
checks by adding lines here (the export's GitHub provider and the Notion mirror add theirs at the end). The config is
checked first by the command: a config that does not load leaves nothing else to check.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from chatops.config import LoadedConfig
from jobs.doctor import Probe, Result, Status, load, run

CHECKS = (
    "chatops.slack.doctor:bot_token",
    "chatops.slack.doctor:app_token",
    "chatops.slack.doctor:scopes",
    "chatops.slack.doctor:channels",
    "chatops.doctor:webhooks",
    "chatops.doctor:daemon",
    "jobs.doctor_checks:key_modes",
    "jobs.doctor_checks:data_dir_modes",
    "jobs.doctor_checks:ledgers",
    "jobs.doctor_checks:schema",
    "jobs.doctor_checks:disk",
    "jobs.doctor_checks:clock_and_zone",
    "chatops.slack.doctor:clock",
    "jobs.doctor_checks:schedule",
    "jobs.doctor_checks:outbox",
    "jobs.doctor_checks:github",
    "jobs.doctor_checks:notion",
)


def diagnose(loaded: LoadedConfig, environ: Mapping[str, str], checks: tuple[str, ...] = CHECKS) -> list[Result]:
    """The config line, then every check's, in order."""
    from jobs.compose import build_context

    ctx = build_context(loaded.settings, loaded.data_dir)
    probe = Probe(ctx=ctx, environ=environ, config_path=Path(loaded.path))
    config = Result("config", Status.OK, f"{loaded.path} is valid (data directory {loaded.data_dir})")
    return [config, *run(probe, load(checks))]


def webhooks(probe: Probe) -> Result:
    """The runbook's per-severity webhooks: which are set, and that each is an https URL."""
    from jobs import webhooks as hooks

    set_ = hooks.configured(probe.environ)
    if not set_:
        return Result("webhooks", Status.OK, "no SLACK_WEBHOOK_URL_SEV0/1/2 set: alerts go only where the bot posts")
    bad = [hooks.env_name(s) for s in set_ if not hooks.url(probe.environ, s).startswith(("https://", "http://127."))]
    if bad:
        return Result("webhooks", Status.FAIL, f"{', '.join(bad)} is not an https:// URL",
                      "paste the incoming webhook URL Slack gave (https://hooks.slack.com/services/…)")
    missing = [hooks.env_name(s) for s in hooks.WebhookSeverity if s not in set_]
    note = f"; {', '.join(missing)} not set" if missing else ""
    return Result("webhooks", Status.OK, f"alerts of {', '.join(set_)} also go to their webhook{note}")


def daemon(probe: Probe) -> Result:
    """Is a daemon running on this data directory (it holds the daemon lock, with its pid in it)?"""
    from chatops.daemon import LOCK_NAME
    from store.snapshot import held

    lock = probe.ctx.data_dir / LOCK_NAME
    if held(lock):
        pid = lock.read_text().strip() or "?"
        return Result("daemon", Status.OK, f"running on {probe.ctx.data_dir} (pid {pid})")
    return Result("daemon", Status.WARN, f"no daemon is running on {probe.ctx.data_dir}: nothing is scheduled or "
                  "delivered", "chatops service install (or chatops daemon)")
